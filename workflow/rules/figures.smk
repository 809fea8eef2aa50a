rule figures:
    """The paper's Figs. 3-6 and 8 from metrics.csv."""
    input:
        csv="reports/{ds}/metrics.csv",
        samples=expand("reports/{{ds}}/eval/{s}_samples.pt", s=["diffsem"] + BASELINES),
    output:
        expand("reports/{{ds}}/figures/{fig}.png", fig=FIGURES),
    params:
        scale=SCALE,
        cfg=effective("schedule", "eval", "baselines"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/figures.log",
    benchmark:
        "benchmarks/{ds}/figures.tsv",
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} figures --dataset {wildcards.ds} > {log} 2>&1"
