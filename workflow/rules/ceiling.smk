rule train_ceiling:
    """The feature ceiling: a U-Net-sized MLP trained on the received features per grid point."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
    output:
        "models/{ds}/seed{seed}/ceiling.pt",
        "reports/{ds}/seed{seed}/curves/ceiling.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "eval", "validation", "ceiling", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_ceiling.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_ceiling.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-ceiling --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"
