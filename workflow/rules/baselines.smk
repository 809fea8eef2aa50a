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
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_{bsys}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-ibal --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"


rule attack_baseline:
    """Black-box attackers + strong classifier for IBAL / IBAL-D; the Permutation strong classifier."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        attack_inputs,
    output:
        "models/{ds}/seed{seed}/attack_{asys}.pt",
        "reports/{ds}/seed{seed}/curves/strong_{asys}.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "adversary", "strong", "eval", "baselines", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_{asys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_{asys}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-baseline --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.asys} --threads {threads} > {log} 2>&1"


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
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-baseline --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.esys} --threads {threads} > {log} 2>&1"
