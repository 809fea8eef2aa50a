"""The DVC view of the DAG at smoke scale.  With the MNIST run's upstream stages recorded from the shared
Snakemake smoke run, `dvc repro` runs collection, figures and the seed summary; `dvc exp run -S <a fine-tune
key>` re-runs only the stages that depend on it (the fine-tunes included); `dvc exp show --json` / `dvc
metrics diff` carry receiver and attacker accuracy."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from smoke_project import project

REPO = Path(__file__).resolve().parents[1]
MIRROR = (REPO.parent / "shared" / "datasets").resolve()


def _run(cmd, cwd, timeout=1200):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return res.stdout + res.stderr


# what `dvc repro` runs itself; every stage upstream of these is recorded (`dvc commit`) from the
# Snakemake smoke run's artefacts, which test_smoke_dag's test_dvc_yaml_matches_the_snakemake_dag proves
# are what those same commands write, so the suite builds MNIST's smoke run once rather than twice
# (evaluation is recorded too: `dvc exp run` below re-runs it, with the fine-tunes, and that is where it is tested)
REPRO = ("collect@mnist-0", "figures@mnist-0", "summarize_seeds@mnist")


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory, smoke_run):
    if shutil.which("dvc") is None or shutil.which("git") is None:
        pytest.skip("dvc or git not installed")
    built, _ = smoke_run
    work = tmp_path_factory.mktemp("dvc")
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy2(REPO / name, work / name)
    shutil.copytree(REPO / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    project(work, REPO, MIRROR, datasets=("mnist",), scale="smoke", seeds=[0])
    for part in ("data/mnist", "models/mnist", "reports/mnist"):
        # without the resume states (not DVC outputs; ≈ 0.4 GB)
        shutil.copytree(built / part, work / part, symlinks=True, ignore=shutil.ignore_patterns("resume"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    _run(["git", "init", "-q"], work)
    _run(["dvc", "init", "-q"], work)
    _run(["dvc", "config", "core.analytics", "false"], work)
    (work / ".gitignore").write_text("/data\n/models\n/reports\n")
    stages = _run(["dvc", "stage", "list", "--name-only"], work).split()
    assert set(REPRO) <= set(stages), stages
    _run(["dvc", "commit", "-f", "-q", *(s for s in stages if s not in REPRO)], work)
    _run(git + ["add", "-A"], work)
    _run(git + ["commit", "-qm", "smoke"], work)
    out = _run(["dvc", "repro"], work)
    _run(git + ["add", "-A"], work)
    _run(git + ["commit", "-qm", "repro"], work)
    return work, out


def _ran(log: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", log))


def test_dvc_repro_runs_what_is_not_recorded(dvc_project):
    work, log = dvc_project
    assert _ran(log) == set(REPRO)  # the committed stages are up to date, the rest run
    assert "up to date" in _run(["dvc", "status"], work)
    metrics = json.loads((work / "reports/mnist/seed0/metrics.json").read_text())
    assert 0 <= metrics["t300"]["e-diffsem_acc"] <= 1 and 0 <= metrics["t300"]["attacker_acc"] <= 1
    assert (work / "reports/seeds/mnist.csv").is_file()
    shown = json.loads(_run(["dvc", "plots", "show", "--json"], work))
    names = json.dumps(shown)
    for plot in ("accuracy_vs_t", "privacy_utility_frontier", "attacker_vs_ssim", "jscc_curve"):
        assert plot in names, plot


def test_exp_run_reruns_only_what_a_finetune_key_affects(dvc_project):
    work, _ = dvc_project
    log = _run(["dvc", "exp", "run", "-S", "scales.smoke.finetune.epochs=3", "-n", "ft3"], work)
    ran = _ran(log)
    assert {"finetune_diffsem@mnist-0", "finetune_ediffsem@mnist-0", "finetune_classifier_ft@mnist-0",
            "evaluate@mnist-0", "collect@mnist-0"} <= ran
    untouched = {"data@mnist-0", "train_jscc@mnist-0", "train_diffusion_uncond@mnist-0", "train_diffusion_cond@mnist-0",
                 "train_adversary@mnist-0", "train_strong@mnist-0", "train_ceiling@mnist-0"}
    assert not ran & untouched, ran & untouched
    assert not any(s.startswith(("train_ibal", "attack_ibal", "attack_permutation")) for s in ran)
    show = json.loads(_run(["dvc", "exp", "show", "--json"], work))
    text = json.dumps(show)
    assert "ft3" in text and "e-diffsem_acc" in text and "attacker_acc" in text
    diff = json.loads(_run(["dvc", "metrics", "diff", "HEAD", "ft3", "--all", "--json"], work))
    rows = diff["reports/mnist/seed0/metrics.json"]
    assert {"t300.e-diffsem_acc", "t300.diffsem_acc", "t300.attacker_acc"} <= set(rows)
