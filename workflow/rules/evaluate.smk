rule evaluate:
    """Evaluation grid over T' and SNR: receivers, attacker accuracy, SSIM, PSNR."""
    input:
        "data/{ds}/split.pt",
        "models/{ds}/jscc.pt",
        expand("models/{{ds}}/unet_{variant}.pt", variant=["uncond", "cond"]),
        expand("models/{{ds}}/receiver_{system}.pt", system=FINETUNED),
        "models/{ds}/adversary.pt",
        "models/{ds}/strong.pt",
        "models/{ds}/ceiling.pt",
    output:
        csv="reports/{ds}/eval/diffsem.csv",
        samples="reports/{ds}/eval/diffsem_samples.pt",
        noiseless="reports/{ds}/eval/diffsem_noiseless.json",
        predictions="reports/{ds}/eval/diffsem_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("seed", "data", "schedule", "channel", "jscc", "diffusion", "sampler", "finetune", "adversary", "strong", "eval", "validation", "ceiling"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/evaluate.log",
    benchmark:
        "benchmarks/{ds}/evaluate.tsv",
    threads: workflow.cores
    resources:
        gpu=1,
        runtime=600,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate --dataset {wildcards.ds} --threads {threads} > {log} 2>&1"


rule collect:
    """metrics.csv and metrics.json from DiffSem's and every baseline's evaluation rows."""
    input:
        "reports/{ds}/eval/diffsem.csv",
        "reports/{ds}/eval/diffsem_noiseless.json",
        lambda w: expand("reports/{ds}/eval/{esys}{ext}", ds=w.ds, esys=baselines_of(w.ds), ext=[".csv", "_predictions.csv.gz"]),
        "reports/{ds}/eval/diffsem_predictions.csv.gz",
    output:
        csv="reports/{ds}/metrics.csv",
        json="reports/{ds}/metrics.json",
        comparisons="reports/{ds}/comparisons.csv",
    params:
        scale=SCALE,
        cfg=effective("eval", "baselines"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/collect.log",
    benchmark:
        "benchmarks/{ds}/collect.tsv"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} collect --dataset {wildcards.ds} > {log} 2>&1"
