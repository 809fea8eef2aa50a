rule train_adversary:
    """Alg. 1 stage 3: chosen-plaintext inversion networks, one per (T', SNR) grid point."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
    output:
        "models/{ds}/seed{seed}/adversary.pt",
        "reports/{ds}/seed{seed}/curves/adversary.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "adversary", "eval", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_adversary.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_adversary.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-adversary --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule train_strong:
    """Alg. 1 stage 3: strong classifier on x, adversary reconstructions and directly noised x."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        "models/{ds}/seed{seed}/adversary.pt",
    output:
        "models/{ds}/seed{seed}/strong.pt",
        "reports/{ds}/seed{seed}/curves/strong.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "adversary", "strong", "eval", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_strong.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_strong.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-strong --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule train_semantic:
    """The semantic attacker: the ceiling's MLP trained with labels on the eavesdropped z_hat of the
    adversary's own queries, one per attacker point (decisions §29)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
    output:
        "models/{ds}/seed{seed}/semantic.pt",
        "reports/{ds}/seed{seed}/curves/semantic.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "eval", "validation", "ceiling", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_semantic.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_semantic.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-semantic --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule train_semantic_ibal:
    """The semantic attacker on an IBAL / IBAL-D transmitter: the same MLP and recipe on what the
    eavesdropper overhears from it, one per attacker point (decisions §33)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/{bsys}.pt",
    output:
        "models/{ds}/seed{seed}/semantic_{bsys}.pt",
        "reports/{ds}/seed{seed}/curves/semantic_{bsys}.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "diffusion", "eval", "validation", "ceiling", "baselines", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_semantic_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_semantic_{bsys}.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-semantic --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"
