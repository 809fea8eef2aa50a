"""The SLURM profile against the workflow (issue #14): every submitted rule has its threads (= its
--cpus-per-task) and resources, nothing the slurm executor plugin (>= 1.9) refuses, GPUs through the
plugin's own `gpu` resource.  The run on a real Slurm is `make slurm-test` (docs/slurm.md)."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((REPO / "workflow/profiles/slurm/config.yaml").read_text())


def _rules() -> dict[str, str]:
    """rule name -> its text, from the Snakefile and workflow/rules/*.smk (figures_<ds> named in a loop)."""
    text = (REPO / "Snakefile").read_text() + "".join(p.read_text() for p in sorted((REPO / "workflow/rules").glob("*.smk")))
    out = {}
    for m in re.finditer(r"^ *rule(?: (\w+))?:\n(.*?)(?=^ *rule[ :]|\Z)", text, re.S | re.M):
        name = m.group(1) or "figures"
        out[name] = m.group(2)
    return out


RULES = _rules()
LOCAL = {n for n, body in RULES.items() if re.search(r"localrule:\s*True", body)}


def test_every_submitted_rule_has_threads_and_resources():
    submitted = set(RULES) - LOCAL
    assert LOCAL == {"all", "collect", "summarize_seeds", "figures"}
    assert len(submitted) >= 19
    assert submitted == set(PROFILE["set-threads"]), set(PROFILE["set-threads"]) ^ submitted
    assert submitted == set(PROFILE["set-resources"]), set(PROFILE["set-resources"]) ^ submitted
    assert all(isinstance(v, int) and v >= 1 for v in PROFILE["set-threads"].values())
    # CPUs follow threads (the plugin's --cpus-per-task = threads), so no separate cpus_per_task
    assert not any("cpus_per_task" in r for r in [PROFILE["default-resources"], *PROFILE["set-resources"].values()])
    # no rule takes a share of --cores: a cluster run has none
    assert not any("workflow.cores" in body for body in RULES.values())


def test_gpus_through_the_plugin_resource_not_slurm_extra():
    gpu_rules = {n for n, body in RULES.items() if re.search(r"\bgpu=1\b", body)}
    assert {"train_jscc", "train_diffusion", "evaluate", "attack_ibal"} <= gpu_rules and "data" not in gpu_rules
    extra = [str(r.get("slurm_extra", "")) for r in [PROFILE["default-resources"], *PROFILE["set-resources"].values()]]
    forbidden = [r"--gres[=\s]", r"--gpus[=\s]", r"--mem[=\s]", r"--time[=\s]", r"-t\s", r"--partition[=\s]",
                 r"--account[=\s]", r"--qos[=\s]"]
    try:  # the installed plugin's own list, where it has one
        from snakemake_executor_plugin_slurm.validation import get_forbidden_slurm_options

        forbidden += list(get_forbidden_slurm_options())
    except ImportError:
        pass
    assert not [(e, f) for e in extra for f in forbidden if re.search(f, e)]


@pytest.mark.parametrize("script", ["scripts/slurm_cluster.sh", "scripts/slurm_test.sh"])
def test_slurm_scripts_refuse_bad_use(script, tmp_path):
    """Without an argument (cluster) or without a dataset mirror (test) the scripts stop with one line."""
    import os
    import subprocess

    env = {**os.environ, "DIFFSEM_MIRROR": str(tmp_path / "nowhere"), "SLURM_TEST_WORK": str(tmp_path / "w")}
    res = subprocess.run(["bash", str(REPO / script)], capture_output=True, text=True, env=env, timeout=30)
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "w").exists()  # nothing half-made
