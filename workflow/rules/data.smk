rule data:
    output:
        split="data/{ds}/seed{seed}/split.pt",
        summary="data/{ds}/seed{seed}/split.json",
    params:
        scale=SCALE,
        cfg=effective("data"),
        entry=catalog_entry,
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/data.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/data.tsv",
    resources:
        runtime=20,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} data --dataset {wildcards.ds} --seed {wildcards.seed} > {log} 2>&1"
