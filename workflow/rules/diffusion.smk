rule train_diffusion:
    """Alg. 1 stage 2: Table III U-Net, unconditional (DiffSem) or label-conditioned (E-DiffSem)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
    output:
        "models/{ds}/seed{seed}/unet_{variant}.pt",
        "reports/{ds}/seed{seed}/curves/unet_{variant}.csv",
    params:
        scale=SCALE,
        cfg=diffusion_params,
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/train_diffusion_{variant}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/train_diffusion_{variant}.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=240,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} train-diffusion --dataset {wildcards.ds} --seed {wildcards.seed} --variant {wildcards.variant} --threads {threads} > {log} 2>&1"
