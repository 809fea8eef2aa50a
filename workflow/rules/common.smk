# Shared helpers.  Every step is thin, calling one `diffsem` CLI command and logs to logs/<ds>/seed<k>/.
# The CLI re-validates params.yaml (with the scale given here) before doing any work.

import copy
from pathlib import Path
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # figure names live in the package (no heavy imports)
from diffsem.figure_names import CURVES, figure_files  # noqa: E402

SCALE = config["scale"]
DATASETS = config["datasets"]
SEEDS = config["seeds"]  # training seeds: the {seed} wildcard, each a whole run under <kind>/<ds>/seed<k>/
# threads per job: Snakemake caps it at --cores (and --max-threads); the SLURM profile sets each rule's
# own (set-threads = --cpus-per-task), since a cluster run has no --cores to take a share of
JOB_THREADS = 8

_unknown = [d for d in DATASETS if d not in config["catalog"]]
if _unknown:  # the CLI says the same; here it stops the DAG before any job
    raise ValueError(f"params: datasets {_unknown} are not in params.yaml's catalog (has: {sorted(config['catalog'])})")


def catalog_entry(wildcards):
    """The dataset's catalog entry without where its files are (a moved mirror keeps the run)."""
    e = config["catalog"][wildcards.ds]
    return {**{k: v for k, v in e.items() if k != "source"}, "source": {k: v for k, v in e["source"].items() if k != "path"}}


def model_entry(wildcards):
    """What the networks depend on in the dataset's catalog entry: its architecture family and classes."""
    e = config["catalog"][wildcards.ds]
    return {"family": e["family"], "n_classes": e["n_classes"]}


def encoder_kernel(wildcards):
    """The encoder's last kernel (jscc.encoder_kernel): what IBAL, which shares the encoder, needs of jscc."""
    return merged_config(wildcards.ds)["jscc"]["encoder_kernel"]


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


def _as_recorded(section, values):
    """What a run depends on in a section: the data's location is not (a moved mirror keeps the run;
    whether a mirror is used at all still counts: diffsem.io.without_locations)."""
    if section != "data":
        return values
    return {k: (bool(v) if k == "mirror" else v) for k, v in values.items() if k != "download_root"}


def effective(*sections, drop=()):
    """A params function: the merged values of the given params.yaml keys for the job's dataset,
    without the dotted keys in ``drop`` (e.g. "diffusion.cond_labels" where only the labels-free side
    of a section matters).

    Passed as each step's params so that Snakemake's params rerun-trigger re-runs a step whenever a
    value it depends on changes (the CLI re-reads params.yaml itself; nothing here reaches the shell).
    """

    def values(wildcards):
        merged = merged_config(wildcards.ds)
        out = {s: _as_recorded(s, merged[s]) for s in sections}
        for key in drop:
            sec, name = key.split(".")
            out[sec] = {k: v for k, v in out[sec].items() if k != name}
        return out

    return values


def diffusion_params(wildcards):
    """train_diffusion: the unconditional U-Net does not depend on E-DiffSem's label choice."""
    drop = ("diffusion.cond_labels",) if wildcards.variant == "uncond" else ()
    return effective("data", "schedule", "channel", "jscc", "diffusion", "validation", drop=drop)(wildcards)


def finetune_params(wildcards):
    """The values a receiver's fine-tune depends on (diffsem.stages.receiver_config): the classifier-ft
    control has no denoiser and no sampler, so their settings do not re-run it."""
    sections = ["data", "schedule", "channel", "jscc", "finetune", "validation"]
    if wildcards.system != "classifier-ft":
        sections += ["diffusion", "sampler"]
    drop = ("diffusion.cond_labels",) if wildcards.system == "diffsem" else ()
    return effective(*sections, drop=drop)(wildcards)


def baseline_eval_inputs(wildcards):
    """What a baseline's evaluation needs besides the split."""
    s, ds, seed = wildcards.esys, wildcards.ds, wildcards.seed
    if s == "direct":
        return [f"models/{ds}/seed{seed}/strong.pt"]
    if s == "permutation":
        return [f"models/{ds}/seed{seed}/attack_permutation.pt"]
    return [f"models/{ds}/seed{seed}/{s}.pt", f"models/{ds}/seed{seed}/attack_{s}.pt"]


def fading_baseline_inputs(wildcards):
    """What a baseline's fading evaluation needs besides the split: its evaluation's models and, for IBAL
    and IBAL-D, the semantic attacker on their features."""
    extra = [f"models/{wildcards.ds}/seed{wildcards.seed}/semantic_{wildcards.esys}.pt"] if wildcards.esys in ("ibal", "ibal-d") else []
    return baseline_eval_inputs(wildcards) + extra
