# Shared helpers.  Every step is thin, calling one `diffsem` CLI command and logs to logs/<ds>/.
# The CLI re-validates params.yaml (with the scale given here) before doing any work.

import copy
from pathlib import Path
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # figure names live in the package (no heavy imports)
from diffsem.figure_names import CURVES, figure_files  # noqa: E402

SCALE = config["scale"]
DATASETS = config["datasets"]
SEEDS = config["seeds"]  # training seeds: the {seed} wildcard, each a whole run under <kind>/<ds>/seed<k>/


def _deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def merged_config(ds):
    """params.yaml as the CLI sees it for dataset ``ds`` (diffsem.config._merged's order):
    base <- per_dataset[ds] <- scales[scale] <- scales[scale].per_dataset[ds]."""
    preset = config["scales"][SCALE]
    out = {k: v for k, v in config.items() if k not in ("scales", "per_dataset")}
    out = _deep_merge(out, config.get("per_dataset", {}).get(ds, {}))
    out = _deep_merge(out, {k: v for k, v in preset.items() if k != "per_dataset"})
    return _deep_merge(out, preset.get("per_dataset", {}).get(ds, {}))


def baselines_of(ds):
    return list(merged_config(ds)["baselines"]["systems"])


def figure_roles(ds):
    """role -> figure file stem (diffsem.figure_names); each role has a caption in workflow/report/."""
    return figure_files(ds, baselines_of(ds))


def figures_of(ds):
    return list(figure_roles(ds).values())


FINETUNED = ["classifier-ft", "diffsem", "e-diffsem"]  # diffsem.stages.FINETUNED


def finetune_unet(wildcards):
    """The denoiser a receiver is fine-tuned on: unconditional for DiffSem, conditional for E-DiffSem,
    none for the classifier-ft control."""
    if wildcards.system == "classifier-ft":
        return []
    variant = "uncond" if wildcards.system == "diffsem" else "cond"
    return f"models/{wildcards.ds}/seed{wildcards.seed}/unet_{variant}.pt"


def effective(*sections):
    """A params function: the merged values of the given params.yaml keys for the job's dataset.

    Passed as each step's params so that Snakemake's params rerun-trigger re-runs a step whenever a
    value it depends on changes (the CLI re-reads params.yaml itself; nothing here reaches the shell).
    """

    def values(wildcards):
        merged = merged_config(wildcards.ds)
        return {s: merged[s] for s in sections}

    return values


def finetune_params(wildcards):
    """The values a receiver's fine-tune depends on (diffsem.stages.receiver_config): the classifier-ft
    control has no denoiser and no sampler, so their settings do not re-run it."""
    sections = ["data", "schedule", "channel", "jscc", "finetune", "validation"]
    if wildcards.system != "classifier-ft":
        sections += ["diffusion", "sampler"]
    return effective(*sections)(wildcards)


def baseline_eval_inputs(wildcards):
    """What a baseline's evaluation needs besides the split."""
    s, ds, seed = wildcards.esys, wildcards.ds, wildcards.seed
    if s == "direct":
        return [f"models/{ds}/seed{seed}/strong.pt"]
    if s == "permutation":
        return [f"models/{ds}/seed{seed}/attack_permutation.pt"]
    return [f"models/{ds}/seed{seed}/{s}.pt", f"models/{ds}/seed{seed}/attack_{s}.pt"]
