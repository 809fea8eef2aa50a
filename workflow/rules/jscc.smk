rule train_jscc:
    """Alg. 1 stage 1: encoder Phi + receiver classifier Theta."""
    input:
        "data/{ds}/split.pt",
    output:
        "models/{ds}/jscc.pt",
        "reports/{ds}/curves/jscc.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "jscc", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/train_jscc.log",
    benchmark:
        "benchmarks/{ds}/train_jscc.tsv",
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-jscc --dataset {wildcards.ds} --threads {threads} > {log} 2>&1"
