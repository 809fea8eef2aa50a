rule evaluate:
    """Evaluation grid over T' and SNR: receivers, attacker accuracy, SSIM, PSNR."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        expand("models/{{ds}}/seed{{seed}}/unet_{variant}.pt", variant=["uncond", "cond"]),
        expand("models/{{ds}}/seed{{seed}}/receiver_{system}.pt", system=FINETUNED),
        "models/{ds}/seed{seed}/adversary.pt",
        "models/{ds}/seed{seed}/strong.pt",
        "models/{ds}/seed{seed}/ceiling.pt",
    output:
        csv="reports/{ds}/seed{seed}/eval/diffsem.csv",
        samples="reports/{ds}/seed{seed}/eval/diffsem_samples.pt",
        noiseless="reports/{ds}/seed{seed}/eval/diffsem_noiseless.json",
        predictions="reports/{ds}/seed{seed}/eval/diffsem_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "sampler", "finetune", "adversary", "strong", "eval", "validation", "ceiling"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=600,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule evaluate_semantic:
    """The semantic attacker on DiffSem's transmitter over the grid, on the receivers' images and draws."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        "models/{ds}/seed{seed}/semantic.pt",
    output:
        csv="reports/{ds}/seed{seed}/eval/semantic.csv",
        predictions="reports/{ds}/seed{seed}/eval/semantic_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "eval", "validation", "ceiling", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate_semantic.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate_semantic.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-semantic --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule evaluate_semantic_ibal:
    """The semantic attacker on an IBAL / IBAL-D transmitter over the grid, on the images and draws that
    system's receiver was scored on (baseline_stages.ibal_eavesdropped)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/{bsys}.pt",
        "models/{ds}/seed{seed}/semantic_{bsys}.pt",
    output:
        csv="reports/{ds}/seed{seed}/eval/semantic_{bsys}.csv",
        predictions="reports/{ds}/seed{seed}/eval/semantic_{bsys}_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "diffusion", "eval", "validation", "ceiling", "baselines", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate_semantic_{bsys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate_semantic_{bsys}.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-semantic --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.bsys} --threads {threads} > {log} 2>&1"


rule evaluate_fading_baseline:
    """The baselines on the same Rayleigh block-fading link (issue #15): Direct / Permutation send the image
    (self-noised to T', with and without transmitter CSI), IBAL / IBAL-D their features at each grid point's
    equivalent SNR."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        fading_baseline_inputs,
    output:
        csv="reports/{ds}/seed{seed}/eval/fading_{esys}.csv",
        predictions="reports/{ds}/seed{seed}/eval/fading_{esys}_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "diffusion", "adversary", "strong", "eval", "validation", "ceiling", "baselines", "fading", drop=("diffusion.cond_labels",)),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate_fading_{esys}.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate_fading_{esys}.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=60,
        mem_mb=4000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-fading --dataset {wildcards.ds} --seed {wildcards.seed} --system {wildcards.esys} --threads {threads} > {log} 2>&1"


rule attack_study:
    """Attackers under a worse eavesdropper channel, fewer queries and surrogate data (headline points)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        "models/{ds}/seed{seed}/strong.pt",
        "reports/{ds}/seed{seed}/eval/diffsem_predictions.csv.gz",
    output:
        "reports/{ds}/seed{seed}/attack_study.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "adversary", "eval", "validation", "ceiling", "attack_study", drop=("diffusion.cond_labels", "attack_study.prior_queries")),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_study.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_study.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=240,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-study --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule attack_prior:
    """The diffusion-prior attacker: its own U-Net on averaged queries, DDIM, then inversion (headline points),
    scored on the AWGN link and on evaluate_fading's Rayleigh block-fading link."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        "models/{ds}/seed{seed}/strong.pt",
    output:
        csv="reports/{ds}/seed{seed}/eval/diffusion.csv",
        predictions="reports/{ds}/seed{seed}/eval/diffusion_predictions.csv.gz",
        fading="reports/{ds}/seed{seed}/eval/fading_diffusion.csv",
        fading_predictions="reports/{ds}/seed{seed}/eval/fading_diffusion_predictions.csv.gz",
        curve="reports/{ds}/seed{seed}/curves/prior_unet.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "sampler", "adversary", "eval", "validation", "attack_study", "fading", drop=("diffusion.cond_labels", "fading.inversion_t", "fading.inversion_warmup")),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_prior.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_prior.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=240,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-prior --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule attack_protocol:
    """Which evaluation choices move the gap: one inversion net for all T'; a judge trained without x_hat."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        "models/{ds}/seed{seed}/adversary.pt",
        "models/{ds}/seed{seed}/strong.pt",
        "reports/{ds}/seed{seed}/eval/diffsem_predictions.csv.gz",
    output:
        "reports/{ds}/seed{seed}/attack_protocol.csv",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "adversary", "strong", "eval", "validation"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/attack_protocol.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/attack_protocol.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=240,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} attack-protocol --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule evaluate_fading:
    """The AWGN-trained systems on a Rayleigh block-fading link, with and without transmitter CSI (issue #15);
    it also trains the semantic attacker on faded queries (models/.../semantic_fading*.pt, internal)."""
    input:
        "data/{ds}/seed{seed}/split.pt",
        "models/{ds}/seed{seed}/jscc.pt",
        expand("models/{{ds}}/seed{{seed}}/unet_{variant}.pt", variant=["uncond", "cond"]),
        expand("models/{{ds}}/seed{{seed}}/receiver_{system}.pt", system=FINETUNED),
        "models/{ds}/seed{seed}/adversary.pt",
        "models/{ds}/seed{seed}/strong.pt",
        "models/{ds}/seed{seed}/semantic.pt",
    output:
        csv="reports/{ds}/seed{seed}/eval/fading.csv",
        predictions="reports/{ds}/seed{seed}/eval/fading_predictions.csv.gz",
    params:
        scale=SCALE,
        cfg=effective("data", "schedule", "channel", "jscc", "diffusion", "sampler", "finetune", "adversary", "strong", "eval", "validation", "ceiling", "fading"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/evaluate_fading.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/evaluate_fading.tsv",
    threads: JOB_THREADS
    resources:
        gpu=1,
        runtime=240,
        mem_mb=6000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} evaluate-fading --dataset {wildcards.ds} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"


rule collect:
    """metrics.csv and metrics.json from DiffSem's and every baseline's evaluation rows."""
    localrule: True  # seconds of pandas: on the submitting host, never a cluster job
    input:
        "reports/{ds}/seed{seed}/eval/diffsem.csv",
        "reports/{ds}/seed{seed}/eval/diffsem_noiseless.json",
        lambda w: expand("reports/{ds}/seed{seed}/eval/{esys}{ext}", ds=w.ds, seed=w.seed, esys=baselines_of(w.ds), ext=[".csv", "_predictions.csv.gz"]),
        lambda w: expand("reports/{ds}/seed{seed}/eval/semantic_{bsys}{ext}", ds=w.ds, seed=w.seed,
                         bsys=[b for b in baselines_of(w.ds) if b in ("ibal", "ibal-d")], ext=[".csv", "_predictions.csv.gz"]),
        "reports/{ds}/seed{seed}/eval/diffsem_predictions.csv.gz",
        "reports/{ds}/seed{seed}/eval/semantic.csv",
        "reports/{ds}/seed{seed}/eval/semantic_predictions.csv.gz",
        "reports/{ds}/seed{seed}/eval/diffusion.csv",
        "reports/{ds}/seed{seed}/eval/diffusion_predictions.csv.gz",
    output:
        csv="reports/{ds}/seed{seed}/metrics.csv",
        json="reports/{ds}/seed{seed}/metrics.json",
        comparisons="reports/{ds}/seed{seed}/comparisons.csv",
        plots=directory("reports/{ds}/seed{seed}/plots"),
    params:
        scale=SCALE,
        cfg=effective("eval", "baselines"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/seed{seed}/collect.log",
    benchmark:
        "benchmarks/{ds}/seed{seed}/collect.tsv"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} collect --dataset {wildcards.ds} --seed {wildcards.seed} > {log} 2>&1"


rule summarize_seeds:
    """Across training seeds: each system's accuracy and the claims' differences at the headline
    points, mean and 95 % Student-t interval (diffsem.seeds), and the privacy–utility frontier against
    the strongest attacker on each transmitter (diffsem.frontier)."""
    localrule: True
    input:
        expand("reports/{{ds}}/seed{seed}/metrics.csv", seed=SEEDS),
    output:
        "reports/seeds/{ds}.csv",
        "reports/seeds/{ds}_frontier.csv",
        report("reports/seeds/{ds}_frontier.png", caption="../report/frontier.rst", category="{ds}"),
    params:
        scale=SCALE,
        seeds=",".join(str(k) for k in SEEDS),
        cfg=effective("eval"),
    conda:
        "../envs/diffsem.yaml"
    log:
        "logs/{ds}/summarize_seeds.log",
    benchmark:
        "benchmarks/{ds}/summarize_seeds.tsv"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "diffsem --params params.yaml --scale {params.scale} summarize-seeds --dataset {wildcards.ds} --seeds {params.seeds} > {log} 2>&1"
