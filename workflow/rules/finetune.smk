rule finetune:
    """Alg. 2: receiver classifier fine-tuned over a range of T' on the denoiser's output (classifier-ft:
    the control, the same fine-tune on [z_hat, z_hat, t] without a denoiser)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        finetune_unet,
    output:
        "models/{ds}/seed{seed}/receiver_{system}.pt",
        "reports/{ds}/seed{seed}/curves/finetune_{system}.csv",
    params:
        scale=SCALE,
        cfg=finetune_params,
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/finetune_{system}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/finetune_{system}.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=120,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} finetune --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.system} --threads {threads} > {log} 2>&1"
