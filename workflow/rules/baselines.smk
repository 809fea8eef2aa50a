rule train_ibal:
    """IBAL / IBAL-D: IB + adversarially trained JSCC baselines (ref. [29])."""
    input:
        "data/{ds}/seed{seed}/split.pt",
    output:
        "models/{ds}/seed{seed}/{bsys}.pt",
        "reports/{ds}/seed{seed}/curves/{bsys}.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "baselines", "validation"),
        encoder=encoder_kernel,  # IBAL shares the dataset's encoder (docs/baselines.md), so its kernel too
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_{bsys}.tsv"
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-ibal --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"


rule attack_ibal:
    """Black-box attackers (one per grid point) + their strong classifier for IBAL / IBAL-D."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/{bsys}.pt",
    output:
        "models/{ds}/seed{seed}/attack_{bsys}.pt",
        "reports/{ds}/seed{seed}/curves/attack_{bsys}.csv",
        "reports/{ds}/seed{seed}/curves/strong_{bsys}.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "adversary", "strong", "eval", "baselines", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_{bsys}.tsv"
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-baseline --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"


rule attack_permutation:
    """The Permutation baseline's strong classifier (no attacker network: the eavesdropper un-permutes nothing)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
    output:
        "models/{ds}/seed{seed}/attack_permutation.pt",
        "reports/{ds}/seed{seed}/curves/strong_permutation.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "adversary", "strong", "eval", "baselines", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_permutation.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_permutation.tsv"
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-baseline --dataset {wildcards.ds} --seed {wildcards.seed} --system permutation --threads {threads} > {log} 2>&1"


rule evaluate_baseline:
    """A baseline's rows over the same (t, SNR, seed) grid as DiffSem."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        baseline_eval_inputs,
    output:
        csv="reports/{ds}/seed{seed}/eval/{esys}.csv",
        samples="reports/{ds}/seed{seed}/eval/{esys}_samples.pt",
        predictions="reports/{ds}/seed{seed}/eval/{esys}_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "eval", "baselines"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate_{esys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate_{esys}.tsv"
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-baseline --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.esys} --threads {threads} > {log} 2>&1"
