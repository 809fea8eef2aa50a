# Shared helpers.  Every step is thin, calling one `diffsem` CLI command and logs to logs/<ds>/.
# The CLI re-validates params.yaml (with the scale given here) before doing any work.

SCALE = config["scale"]
DATASETS = config["datasets"]
BASELINES = list(config["scales"][SCALE].get("baselines", {}).get("systems", config["baselines"]["systems"]))
FIGURES = [
    "fig3_schedule",
    "fig4_accuracy_vs_t",
    "fig5_accuracy_vs_ssim_psnr",
    "fig6_adversary_images",
    "fig8_snr_robustness",
] + (["fig7_direct_permutation"] if {"direct", "permutation"} & set(BASELINES) else [])



def finetune_unet(wildcards):
    """The denoiser a receiver is fine-tuned on: unconditional for DiffSem, conditional for E-DiffSem."""
    variant = "uncond" if wildcards.system == "diffsem" else "cond"
    return f"models/{wildcards.ds}/unet_{variant}.pt"


def effective(*sections):
    """The merged (base <- scales[scale]) values of the given params.yaml keys.

    Passed as each step's params so that Snakemake's params rerun-trigger re-runs a step whenever a
    value it depends on changes (the CLI re-reads params.yaml itself; nothing here reaches the shell).
    """
    preset = config["scales"][SCALE]
    out = {}
    for s in sections:
        base = config[s]
        if isinstance(base, dict):
            merged = dict(base)
            for k, v in preset.get(s, {}).items():
                merged[k] = v
            out[s] = merged
        else:
            out[s] = base
    return out


def baseline_eval_inputs(wildcards):
    """What a baseline's evaluation needs besides the split."""
    s, ds = wildcards.esys, wildcards.ds
    if s == "direct":
        return [f"models/{ds}/strong.pt"]
    if s == "permutation":
        return [f"models/{ds}/attack_permutation.pt"]
    return [f"models/{ds}/{s}.pt", f"models/{ds}/attack_{s}.pt"]


def attack_inputs(wildcards):
    return [] if wildcards.asys == "permutation" else [f"models/{wildcards.ds}/{wildcards.asys}.pt"]
