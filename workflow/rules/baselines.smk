rule train_ibal:
    """IBAL / IBAL-D: IB + adversarially trained JSCC baselines (ref. [29])."""
    input:
        "data/{ds}/split.pt",
    output:
        "models/{ds}/{bsys}.pt",
        "reports/{ds}/curves/{bsys}.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "baselines", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/train_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/train_{bsys}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-ibal --dataset {wildcards.ds} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"


rule attack_baseline:
    """Black-box attackers + strong classifier for IBAL / IBAL-D; the Permutation strong classifier."""
    input:
        "data/{ds}/split.pt",
        attack_inputs,
    output:
        "models/{ds}/attack_{asys}.pt",
        "reports/{ds}/curves/strong_{asys}.csv",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "adversary", "strong", "eval", "baselines", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/attack_{asys}.log",
    benchmark:
        "benchmarks/{ds}/attack_{asys}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-baseline --dataset {wildcards.ds} --system {wildcards.asys} --threads {threads} > {log} 2>&1"


rule evaluate_baseline:
    """A baseline's rows over the same (t, SNR, seed) grid as DiffSem."""
    input:
        "data/{ds}/split.pt",
        baseline_eval_inputs,
    output:
        csv="reports/{ds}/eval/{esys}.csv",
        samples="reports/{ds}/eval/{esys}_samples.pt",
        predictions="reports/{ds}/eval/{esys}_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "eval", "baselines"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/evaluate_{esys}.log",
    benchmark:
        "benchmarks/{ds}/evaluate_{esys}.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-baseline --dataset {wildcards.ds} --system {wildcards.esys} --threads {threads} > {log} 2>&1"
