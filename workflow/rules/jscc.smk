rule train_jscc:
    """Alg. 1 stage 1: encoder Phi + receiver classifier Theta."""
    input:
        "data/{ds}/seed{seed}/split.pt",
    output:
        "models/{ds}/seed{seed}/jscc.pt",
        "reports/{ds}/seed{seed}/curves/jscc.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "validation"),
        model=model_entry,
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_jscc.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_jscc.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-jscc --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"
