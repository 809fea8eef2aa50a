rule train_adversary:
    """Alg. 1 stage 3: chosen-plaintext inversion networks, one per (T', SNR) grid point."""
    input:
        "data/{ds}/split.pt",
        "models/{ds}/jscc.pt",
    output:
        "models/{ds}/adversary.pt",
        "reports/{ds}/curves/adversary.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "jscc", "adversary", "eval", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/train_adversary.log",
    benchmark:
        "benchmarks/{ds}/train_adversary.tsv",
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-adversary --dataset {wildcards.ds} --threads {threads} > {log} 2>&1"


rule train_strong:
    """Alg. 1 stage 3: strong classifier on x, adversary reconstructions and directly noised x."""
    input:
        "data/{ds}/split.pt",
        "models/{ds}/jscc.pt",
        "models/{ds}/adversary.pt",
    output:
        "models/{ds}/strong.pt",
        "reports/{ds}/curves/strong.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "jscc", "adversary", "strong", "eval", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/train_strong.log",
    benchmark:
        "benchmarks/{ds}/train_strong.tsv",
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-strong --dataset {wildcards.ds} --threads {threads} > {log} 2>&1"
