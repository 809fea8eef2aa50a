rule train_ceiling:
    """The feature ceiling: a U-Net-sized MLP trained on the received features per grid point."""
    input:
        "data/{ds}/split.pt",
        "models/{ds}/jscc.pt",
    output:
        "models/{ds}/ceiling.pt",
        "reports/{ds}/curves/ceiling.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "jscc", "diffusion", "eval", "validation", "ceiling"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/train_ceiling.log",
    benchmark:
        "benchmarks/{ds}/train_ceiling.tsv",
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-ceiling --dataset {wildcards.ds} --threads {threads} > {log} 2>&1"
