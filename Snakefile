# DiffSem pipeline.  Full reproduction:  snakemake --cores all   (scale from params.yaml)
# Another scale:                          snakemake --cores all --config scale=smoke
# Three training seeds:                   snakemake --cores all --config 'seeds=[0,1,2]'
# SLURM:                                  snakemake --profile workflow/profiles/slurm
from snakemake.utils import min_version, validate

min_version("8.0")

configfile: "params.yaml"

# `--config seeds=[0,1,2]` arrives as strings; the schema then checks the integers
config["seeds"] = [int(v) if isinstance(v, str) and v.isdigit() else v for v in config.get("seeds", [])]

validate(config, "workflow/schemas/params.schema.yaml")

include: "workflow/rules/common.smk"


report: "workflow/report/workflow.rst"


# Only validated values reach a shell: `scale` is an enum in the schema, the wildcards are pinned here.
wildcard_constraints:
    ds="|".join(DATASETS),
    seed=r"\d+",
    variant="uncond|cond",
    system="classifier-ft|diffsem|e-diffsem",
    bsys="ibal|ibal-d",
    esys="direct|permutation|ibal|ibal-d",


include: "workflow/rules/data.smk"
include: "workflow/rules/jscc.smk"
include: "workflow/rules/diffusion.smk"
include: "workflow/rules/adversary.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/ceiling.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/figures.smk"


rule all:
    localrule: True
    input:
        expand("reports/{ds}/seed{seed}/{out}", ds=DATASETS, seed=SEEDS,
               out=["metrics.csv", "metrics.json", "comparisons.csv", "attack_protocol.csv", "eval/fading.csv"]),
        [f"reports/{ds}/seed{seed}/figures/{fig}.png" for ds in DATASETS for seed in SEEDS for fig in figures_of(ds)],
        expand("reports/seeds/{ds}.csv", ds=DATASETS),
    default_target: True
