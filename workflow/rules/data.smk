rule data:
    output:
        split="data/{ds}/split.pt",
        summary="data/{ds}/split.json",
    params:
        scale=SCALE,
        cfg=effective("seed", "data"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/data.log",
    benchmark:
        "benchmarks/{ds}/data.tsv",
    resources:
        runtime=20,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} data --dataset {wildcards.ds} > {log} 2>&1"
