# One figures rule per dataset: the figure files differ by dataset (MNIST: Figs. 3-8, CIFAR-10:
# Figs. 9-11; diffsem.figure_names), and a rule's outputs cannot depend on a wildcard.  The training
# seed stays a wildcard: every seed's run gets its own figures.
for _ds in DATASETS:

    rule:
        name:
            f"figures_{_ds}"
        localrule: True  # plotting: on the submitting host, never a cluster job
        input:
            csv=f"reports/{_ds}/seed{{seed}}/metrics.csv",
            samples=expand("reports/{ds}/seed{{seed}}/eval/{s}_samples.pt", ds=_ds, s=["diffsem"] + baselines_of(_ds)),
            curves=expand("reports/{ds}/seed{{seed}}/curves/{c}.csv", ds=_ds, c=CURVES),
            study=f"reports/{_ds}/seed{{seed}}/attack_study.csv",
            fading=expand("reports/{ds}/seed{{seed}}/eval/{part}.csv", ds=_ds,
                          part=["fading", "fading_diffusion"] + [f"fading_{b}" for b in baselines_of(_ds)]),
        output:
            # report(): `snakemake --report report.html` shows each with its caption, by dataset and seed
            [report(f"reports/{_ds}/seed{{seed}}/figures/{stem}.png", caption=f"../report/{role}.rst",
                    category=_ds, subcategory="seed {seed}")
             for role, stem in figure_roles(_ds).items()],
        params:
            scale=SCALE,
            ds=_ds,
            cfg=merged_config(_ds)["eval"] | {"baselines": merged_config(_ds)["baselines"],
                                              "schedule": merged_config(_ds)["schedule"]},
        conda:
            "../envs/diffsem.yaml"
        log:
            f"logs/{_ds}/seed{{seed}}/figures.log",
        benchmark:
            f"benchmarks/{_ds}/seed{{seed}}/figures.tsv"
        resources:
            runtime=10,
            mem_mb=2000,
        shell:
            "diffsem --params params.yaml --scale {params.scale} figures --dataset {params.ds} --seed {wildcards.seed} > {log} 2>&1"
