# DiffSem pipeline.  Full reproduction:  snakemake --cores all   (scale from params.yaml)
# Another scale:                          snakemake --cores all --config scale=smoke
# SLURM:                                  snakemake --profile workflow/profiles/slurm
from snakemake.utils import min_version, validate

min_version("8.0")

configfile: "params.yaml"

validate(config, "workflow/schemas/params.schema.yaml")

include: "workflow/rules/common.smk"


# Only validated values reach a shell: `scale` is an enum in the schema, the wildcards are pinned here.
wildcard_constraints:
    ds="|".join(DATASETS),
    variant="uncond|cond",
    system="classifier-ft|diffsem|e-diffsem",
    bsys="ibal|ibal-d",
    asys="ibal|ibal-d|permutation",
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
    input:
        expand("reports/{ds}/metrics.csv", ds=config["datasets"]),
        expand("reports/{ds}/metrics.json", ds=config["datasets"]),
        [f"reports/{ds}/figures/{fig}.png" for ds in DATASETS for fig in figures_of(ds)],
        expand("reports/{ds}/comparisons.csv", ds=config["datasets"]),
    default_target: True
