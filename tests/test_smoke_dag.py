"""A smoke run of the whole Snakemake DAG on a small subset (scale=smoke), in a temporary directory."""

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import torch
import pytest
import yaml

from diffsem.config import load_config
from diffsem.evaluate import METRICS_COLUMNS, RECEIVERS, SYSTEMS, paper_rows
from script_modules import load_script
from smoke_project import snakemake as _snakemake


def test_dag_outputs(smoke_run):
    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke")
    df = pd.read_csv(work / "reports/mnist/seed0/metrics.csv")
    assert list(df.columns) == METRICS_COLUMNS
    n_points = len(cfg.eval.grid_points()) * len(cfg.eval.seeds)
    # one row per system and point under the paper's attacker, plus the semantic attacker's row per point
    # on each of DiffSem's, IBAL's and IBAL-D's transmitters, and the diffusion-prior attacker's at the headline points
    from diffsem.stages import headline_points

    n_head = len(headline_points(cfg)) * len(cfg.eval.seeds)
    n_ibal = len({"ibal", "ibal-d"} & set(cfg.baselines.systems))
    assert n_ibal == 2 and len(df) == n_points * (len(SYSTEMS) + len(cfg.baselines.systems) + 1 + n_ibal) + n_head
    assert set(df.system) == set(SYSTEMS) | set(cfg.baselines.systems)
    assert set(df.attack) == {"inversion", "image", "semantic", "diffusion"}
    prior = df[df.attack == "diffusion"]
    assert len(prior) == n_head and prior.receiver_acc.isna().all() and prior.attacker_acc.between(0, 1).all()
    assert set(df[df.attack == "image"].system) == {"direct", "permutation"}
    sem = df[df.attack == "semantic"]
    assert len(sem) == n_points * 3 and set(sem.system) == {"diffsem", "ibal", "ibal-d"} and sem.receiver_acc.isna().all()
    assert sem.attacker_acc.between(0, 1).all() and sem.attacker_ssim.isna().all()
    df = paper_rows(df)
    # receivers exist for DiffSem's systems and IBAL's, not for Direct/Permutation (NaN there)
    assert df[df.system.isin(["direct", "permutation"])].receiver_acc.isna().all()
    assert df[~df.system.isin(["direct", "permutation"])].receiver_acc.notna().all()
    assert df.receiver_acc.dropna().between(0, 1).all() and df.attacker_acc.between(0, 1).all()
    assert (df.n_eval == cfg.data.n_eval).all()
    # the attacker attacks the shared transmitter: identical on the three rows of a point
    ours = df[df.system.isin(SYSTEMS)]
    assert (ours.groupby(["t", "snr_db", "seed"]).attacker_acc.nunique() == 1).all()
    # more self-noise leaves the attacker less: t=0 vs t=500 at the Fig. 4 SNR
    main = df[(df.system == "classifier") & (df.snr_db == cfg.eval.snr_db)].set_index("t")
    assert main.attacker_ssim[0] > main.attacker_ssim[500]
    plots = work / "reports/mnist/seed0/plots"  # plot data for `dvc plots`
    wide = pd.read_csv(plots / "accuracy_vs_t.csv")
    assert set(wide.columns) == {"t", "attacker", "semantic", *SYSTEMS, "ibal", "ibal-d"} and len(wide) == len(cfg.eval.t_grid)
    for system in set(df.system):
        one = pd.read_csv(plots / f"{system}.csv")
        assert list(one.columns) == ["t", "receiver_acc", "attacker_acc", "attacker_ssim", "attacker_psnr"]
    metrics = json.loads((work / "reports/mnist/seed0/metrics.json").read_text())
    assert metrics["n_eval"] == cfg.data.n_eval and "t300" in metrics
    assert 0 <= metrics["t300"]["semantic_attacker_acc"] <= 1 and "semantic_attacker_acc" in metrics["grid_mean"]
    # DiffSem's semantic attacker only (IBAL's have rows of their own, system ibal / ibal-d)
    ours_sem = sem[(sem.system == "diffsem") & (sem.snr_db == cfg.eval.snr_db) & (sem.t == metrics["t300"]["t"])]
    assert metrics["t300"]["semantic_attacker_acc"] == pytest.approx(round(float(ours_sem.attacker_acc.mean()), 4))
    assert wide.set_index("t").semantic[metrics["t300"]["t"]] == pytest.approx(float(ours_sem.attacker_acc.mean()), abs=1e-6)
    # the noiseless upper bound (t = 0, no channel) is at least the t = 0 accuracy at 15 dB, give or take noise
    up = metrics["noiseless"]
    assert not cfg.eval.noiseless_full_test  # smoke: the grid's subset
    assert up["t"] == 0 and up["snr_db"] is None and up["n_eval"] == cfg.data.n_eval
    at0 = df[(df.t == 0) & (df.snr_db == cfg.eval.snr_db)].set_index("system").receiver_acc
    for s in RECEIVERS:
        assert 0 <= up[f"{s}_acc"] <= 1 and up[f"{s}_acc"] >= at0[s] - 0.1


def test_noiseless_bound_reads_every_test_image_where_configured(smoke_run):
    """`eval.noiseless_full_test` (every scale but smoke) scores the bound on all 10,000 test images; the
    subset's bound is the same receivers' accuracy on its images."""
    import dataclasses

    from diffsem.data import load_split
    from diffsem.evaluate import noiseless_accuracy
    from diffsem.stages import Paths
    from diffsem.trained import TrainedRun

    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    assert load_config(work / "params.yaml", "cpu", "mnist").eval.noiseless_full_test
    paths = Paths.of(work, cfg)
    split, run = load_split(paths.split, with_test=True), TrainedRun(cfg, paths, "cpu")
    full = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, noiseless_full_test=True))
    every = noiseless_accuracy(full, split, run.link, run.receivers, "cpu")
    sub = noiseless_accuracy(cfg, split, run.link, run.receivers, "cpu")
    assert every["n_eval"] == len(split.test_y) == 10_000 and sub["n_eval"] == cfg.data.n_eval
    assert sub == json.loads(paths.eval_noiseless("diffsem").read_text())  # what the evaluate rule wrote
    for s in RECEIVERS:
        assert 0 <= every[f"{s}_acc"] <= 1
    for fig in ("fig3_schedule", "fig4_accuracy_vs_t", "fig5_accuracy_vs_ssim_psnr", "fig6_adversary_images",
                "fig7_direct_permutation", "fig8_snr_robustness", "curves", "privacy_utility", "attack_study"):
        p = work / "reports/mnist/seed0/figures" / f"{fig}.png"
        assert p.is_file() and p.read_bytes()[:4] == b"\x89PNG"
    for log in ("data", "train_jscc", "train_diffusion_uncond", "train_diffusion_cond", "train_adversary",
                "train_strong", "finetune_diffsem", "finetune_e-diffsem", "finetune_classifier-ft", "train_ceiling", "evaluate", "figures",
                "train_semantic", "evaluate_semantic", "train_semantic_ibal", "train_semantic_ibal-d",
                "evaluate_semantic_ibal", "evaluate_semantic_ibal-d", "attack_study", "attack_protocol", "attack_prior", "train_ibal",
                "train_ibal-d", "attack_ibal", "attack_ibal-d", "attack_permutation", "evaluate_direct",
                "evaluate_permutation", "evaluate_ibal", "evaluate_ibal-d", "collect"):
        assert (work / "logs/mnist/seed0" / f"{log}.log").is_file()
    split = json.loads((work / "data/mnist/seed0/split.json").read_text())
    c = split["counts"]
    assert c["tr_x"] + c["val_x"] == 900 and c["adv_x"] + c["adv_val_x"] == 600 and 80 <= c["val_x"] <= 100


def test_attack_study_rows_pair_with_the_receivers(smoke_run):
    """attack_study.csv: every condition at every headline point, the semantic attacker everywhere and
    the inversion attacker where configured; receiver columns equal the evaluation's; gaps consistent."""
    from diffsem.attack_study import COLUMNS, conditions
    from diffsem.stages import headline_points

    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    df = pd.read_csv(work / "reports/mnist/seed0/attack_study.csv")
    assert list(df.columns) == COLUMNS
    conds, pts = conditions(cfg.attack_study), headline_points(cfg)
    n_inv = sum(c.study in cfg.attack_study.inversion for c in conds)
    assert len(df) == (len(conds) + n_inv) * len(pts) * len(cfg.eval.seeds)
    assert set(df[df.attack == "inversion"].study) == set(cfg.attack_study.inversion)
    assert df.attacker_acc.between(0, 1).all() and df.p_holm.between(0, 1).all() and (df.p_holm >= df.p - 1e-12).all()
    assert ((df["e-diffsem_acc"] - df.attacker_acc) * 100 - df.gap_pts).abs().max() < 1e-3
    assert (df.ci_lo_pts <= df.gap_pts + 1e-9).all() and (df.gap_pts <= df.ci_hi_pts + 1e-9).all()
    metrics = paper_rows(pd.read_csv(work / "reports/mnist/seed0/metrics.csv")).set_index(["system", "t", "snr_db"])
    for _, r in df.iterrows():
        assert abs(metrics.loc[("e-diffsem", r.t, r.snr_db), "receiver_acc"] - r["e-diffsem_acc"]) < 1e-6
    eve = df[df.study == "eve_snr"]
    assert set(eve.snr_db - eve.eve_snr_db) == {float(o) for o in cfg.attack_study.eve_snr_offsets_db}
    q = df[(df.study == "queries") & (df.attack == "semantic")]
    assert q.n_queries.nunique() == len(cfg.attack_study.query_fractions)
    cls = df[df.setting == "classes"]
    assert cls.attacker_acc_unseen.notna().all() and df[df.setting != "classes"].attacker_acc_unseen.isna().all()
    assert (cls[cls.attack == "semantic"].attacker_acc_unseen == 0).all()  # it never saw those labels


def test_attack_protocol_ablation(smoke_run):
    """attack_protocol.csv: the reference attacker reproduces metrics.csv's attacker at the headline
    points (same images, draws and judge); the two ablations have their own rows."""
    from diffsem.attack_study import COLUMNS, PROTOCOL
    from diffsem.stages import headline_points

    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    df = pd.read_csv(work / "reports/mnist/seed0/attack_protocol.csv")
    assert list(df.columns) == COLUMNS and set(df.setting) == set(PROTOCOL) and set(df.study) == {"protocol"}
    assert len(df) == len(PROTOCOL) * len(headline_points(cfg)) * len(cfg.eval.seeds)
    metrics = paper_rows(pd.read_csv(work / "reports/mnist/seed0/metrics.csv"))
    att = metrics[metrics.system == "classifier"].set_index(["t", "snr_db"]).attacker_acc
    for _, r in df[df.setting == "reference"].iterrows():
        assert abs(att[(r.t, r.snr_db)] - r.attacker_acc) < 1e-9
    assert df.attacker_acc.between(0, 1).all() and (df.p_holm >= df.p - 1e-12).all()


def test_fading_grid_rows_and_transmitter_csi(smoke_run):
    """eval/fading.csv (issue #15): every receiver and attacker at every (T', mean SNR) without and with
    transmitter CSI, on the same images; with CSIT the receiver sees T' itself for nearly every sample
    (the compensation absorbs the fade), without it only where the fade is mild."""
    from diffsem.fading_eval import COLUMNS, RECEIVERS

    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    df = pd.read_csv(work / "reports/mnist/seed0/eval/fading.csv")
    assert list(df.columns) == COLUMNS and df.accuracy.between(0, 1).all()
    for t in cfg.fading.t_grid:
        for snr in cfg.fading.snr_db:
            for csit in cfg.fading.csit:
                d = df[(df.t == t) & (df.snr_db == snr) & (df.csit == csit)]
                assert set(d[d.role == "receiver"].system) == set(RECEIVERS)
                trained = {"fading_attacker"} if t in cfg.fading.inversion_t else set()  # fading-trained inversion
                assert set(d.role) == {"receiver", "attacker", "semantic", "fading_semantic"} | trained
                assert d.n_eval.nunique() == 1 and d[d.role.isin(["attacker", "fading_attacker"])].ssim.notna().all()
    at = df[(df.t == 300) & (df.role == "receiver")].groupby("csit").share_at_t.first()
    assert at[True] > 0.9 and at[True] > at[False]
    pred = pd.read_csv(work / "reports/mnist/seed0/eval/fading_predictions.csv.gz")
    per = pred.groupby(["t", "snr_db", "csit", "system", "role"]).index.apply(lambda s: tuple(sorted(s)))
    assert (per.groupby(level="t").nunique() == 1).all()  # one image set per T', shared by every row at it
    assert (work / "reports/mnist/seed0/figures/fading.png").stat().st_size > 0
    for kind, ts in (("semantic_fading_csit", cfg.fading.t_grid), ("inversion_fading_csit", cfg.fading.inversion_t)):
        curve = pd.read_csv(work / f"reports/mnist/seed0/curves/{kind}.csv")  # trained on faded queries
        assert set(curve.point) == {f"{t}@{snr:g}" for t in ts for snr in cfg.fading.snr_db}, kind
    for image_sys in ("direct", "permutation"):  # the image itself over the same link: attacker rows only
        d = pd.read_csv(work / f"reports/mnist/seed0/eval/fading_{image_sys}.csv")
        assert list(d.columns) == COLUMNS and set(d.role) == {"attacker"} and set(d.system) == {image_sys}
        assert len(d) == len(cfg.fading.t_grid) * len(cfg.fading.snr_db) * len(cfg.fading.csit) * len(cfg.eval.seeds)
        assert d.accuracy.between(0, 1).all() and d.ssim.notna().all()
        no_self_noise = d[d.t == 0].groupby("csit").accuracy.first()  # T' = 0: nothing for CSIT to change
        assert no_self_noise[True] == no_self_noise[False]


def test_prior_attacker_on_the_fading_link(smoke_run):
    """eval/fading_diffusion.csv (decisions §44): the diffusion-prior attacker at every fading point, CSI variant
    and evaluation seed, on the images of eval/fading.csv and on its draws: the steps ``faded_batches``' draws
    give the receivers (floored at T') and the eavesdropper (not floored) reproduce each file's step columns,
    so both stages saw the same transmissions; the replay is exact and the CSI variants share their gains."""
    from diffsem.data import load_split
    from diffsem.fading import match_steps, zf_noise_variance
    from diffsem.fading_eval import COLUMNS, faded_batches
    from diffsem.pipeline import Link
    from diffsem.stages import Paths, load_jscc, schedule_of

    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    d = pd.read_csv(work / "reports/mnist/seed0/eval/fading_diffusion.csv")
    assert list(d.columns) == COLUMNS and set(d.role) == {"diffusion"} and set(d.system) == {"diffsem"}
    want = {(t, float(s), c, e) for t in cfg.fading.t_grid for s in cfg.fading.snr_db for c in cfg.fading.csit
            for e in cfg.eval.seeds}
    assert set(zip(d.t, d.snr_db, d.csit, d.seed)) == want and len(d) == len(want)
    assert d.accuracy.between(0, 1).all() and d.ssim.notna().all()
    keys = ["t", "snr_db", "csit", "seed", "index"]
    prior = pd.read_csv(work / "reports/mnist/seed0/eval/fading_diffusion_predictions.csv.gz")
    rx = pd.read_csv(work / "reports/mnist/seed0/eval/fading_predictions.csv.gz")
    rx = rx[(rx.role == "receiver") & (rx.system == "e-diffsem")]
    both = prior.merge(rx, on=keys, suffixes=("", "_rx"))
    assert len(both) == len(prior) == len(rx) and (both.label == both.label_rx).all()  # paired image by image
    acc = prior.assign(right=prior.pred == prior.label).groupby(["t", "snr_db", "csit", "seed"]).right.mean()
    assert (acc - d.set_index(["t", "snr_db", "csit", "seed"]).accuracy.reindex(acc.index)).abs().max() < 1e-6

    paths = Paths(work, "mnist", 0)
    split = load_split(paths.split, with_test=True)
    enc, _ = load_jscc(paths, cfg, "cpu")
    link = Link(enc, schedule_of(cfg), cfg.channel.quantize_t2)
    sched = link.schedule
    fading = pd.read_csv(work / "reports/mnist/seed0/eval/fading.csv")
    fading = fading[(fading.role == "receiver") & (fading.system == "e-diffsem")].set_index(["t", "snr_db", "csit", "seed"])
    prior_rows = d.set_index(["t", "snr_db", "csit", "seed"])
    below = 0
    for t in cfg.fading.t_grid:
        abar = float(sched.alpha_bar[t])
        for snr in cfg.fading.snr_db:
            for seed in cfg.eval.seeds:
                steps = {c: {"rx": [], "eve": []} for c in cfg.fading.csit}
                first, again = (list(faded_batches(cfg, split, link, t, float(snr), seed, "cpu")) for _ in range(2))
                for (x, y, sent), (x2, y2, sent2) in zip(first, again):
                    assert torch.equal(x, x2) and torch.equal(y, y2)
                    for c, (z_rx, inst_rx, z_eve, inst_eve, v) in sent.items():
                        assert all(torch.equal(a, b) for a, b in zip(sent[c], sent2[c]))  # the replay is exact
                        steps[c]["rx"].append(match_steps(sched, t, zf_noise_variance(abar, v, inst_rx))[0])
                        steps[c]["eve"].append(match_steps(sched, t, zf_noise_variance(abar, v, inst_eve),
                                                           floor_at_t_prime=False)[0])
                    if len(sent) == 2:  # the same gains in both variants; the self-noise follows the gain under CSIT
                        no, yes = sent[False], sent[True]
                        assert torch.equal(no[1], yes[1]) and torch.equal(no[3], yes[3])
                        assert t == 0 or not torch.equal(no[4], yes[4])
                for c in cfg.fading.csit:
                    key = (t, float(snr), c, seed)
                    for who, row in (("rx", fading.loc[key]), ("eve", prior_rows.loc[key])):
                        st = torch.cat(steps[c][who]).double()
                        assert row.mean_step == pytest.approx(float(st.mean()), rel=1e-5), (key, who)
                        assert row.share_at_t == pytest.approx(float((st == t).double().mean()), abs=1e-6), (key, who)
                    below += int((torch.cat(steps[c]["eve"]) < t).sum())
    assert below > 0  # the eavesdropper's milder fades start before T' (the receivers never do)


def test_learning_curves_and_selection(smoke_run):
    """Every training stage wrote its learning curve with a validation metric and one selected epoch."""
    work, _ = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    want = {"jscc": "val_acc_mean", "unet_uncond": "val_eps_mse", "unet_cond": "val_eps_mse", "adversary": "val_mse",
            "strong": "val_acc_mean", "finetune_classifier-ft": "val_acc_mean", "finetune_diffsem": "val_acc_mean",
            "finetune_e-diffsem": "val_acc_mean", "ibal": "val_acc_mean", "strong_ibal": "val_acc_mean",
            "strong_permutation": "val_acc_mean", "ceiling": "val_acc", "semantic": "val_acc", "prior_unet": "val_eps_mse"}
    for name, metric in want.items():
        d = pd.read_csv(work / "reports/mnist/seed0/curves" / f"{name}.csv")
        assert {"epoch", "train_loss", "lr", metric, "selected"} <= set(d.columns), name
        per = d.groupby("point") if "point" in d else [(None, d)]
        for _, g in per:
            assert g.selected.sum() == 1, name
    adv = pd.read_csv(work / "reports/mnist/seed0/curves/adversary.csv")
    assert adv.point.nunique() == len(cfg.eval.attacker_points())
    assert pd.read_csv(work / "reports/mnist/seed0/curves/ceiling.csv").point.nunique() == len(cfg.eval.grid_points())
    assert pd.read_csv(work / "reports/mnist/seed0/curves/semantic.csv").point.nunique() == len(cfg.eval.attacker_points())


def test_per_sample_predictions_and_paired_tests(smoke_run):
    """Per-sample predictions reproduce metrics.csv's accuracies; comparisons.csv holds the paired tests."""
    work, _ = smoke_run
    everything = pd.read_csv(work / "reports/mnist/seed0/metrics.csv")
    metrics = paper_rows(everything)
    pred = pd.read_csv(work / "reports/mnist/seed0/eval/diffsem_predictions.csv.gz")
    rx = pred[pred.role == "receiver"].assign(ok=lambda d: d.pred == d.label).groupby(["system", "t", "snr_db"]).ok.mean()
    for _, r in metrics[metrics.system.isin(SYSTEMS)].iterrows():
        assert abs(rx[(r.system, r.t, r.snr_db)] - r.receiver_acc) < 1e-9
    att = pred[pred.role == "attacker"].assign(ok=lambda d: d.pred == d.label).groupby(["t", "snr_db"]).ok.mean()
    for _, r in metrics[metrics.system == "classifier"].iterrows():
        assert abs(att[(r.t, r.snr_db)] - r.attacker_acc) < 1e-9
    # the receivers share images: every point has n_eval rows per system, the same indices
    assert (pred.groupby(["system", "role", "t", "snr_db"]).size() == 100).all()
    prior_pred = pd.read_csv(work / "reports/mnist/seed0/eval/diffusion_predictions.csv.gz")
    prior_acc = prior_pred.assign(ok=lambda d: d.pred == d.label).groupby(["t", "snr_db"]).ok.mean()
    for _, r in everything[everything.attack == "diffusion"].iterrows():
        assert abs(prior_acc[(r.t, r.snr_db)] - r.attacker_acc) < 1e-9
    sem_pred = pd.read_csv(work / "reports/mnist/seed0/eval/semantic_predictions.csv.gz")
    assert set(sem_pred.role) == {"semantic"} and set(sem_pred.system) == {"diffsem"}
    sem_acc = sem_pred.assign(ok=lambda d: d.pred == d.label).groupby(["t", "snr_db"]).ok.mean()
    for _, r in everything[(everything.attack == "semantic") & (everything.system == "diffsem")].iterrows():
        assert abs(sem_acc[(r.t, r.snr_db)] - r.attacker_acc) < 1e-9
    # the semantic attacker is scored on the receivers' images, so it pairs with them image by image
    both = pred[pred.role == "attacker"].merge(sem_pred, on=["t", "snr_db", "seed", "index"], suffixes=("", "_s"))
    assert len(both) == len(sem_pred) and (both.label == both.label_s).all()
    # the semantic attacker on IBAL is scored on the IBAL receiver's images and draws (ibal_eavesdropped)
    for b in ("ibal", "ibal-d"):
        rx_b = pd.read_csv(work / f"reports/mnist/seed0/eval/{b}_predictions.csv.gz")
        sem_b = pd.read_csv(work / f"reports/mnist/seed0/eval/semantic_{b}_predictions.csv.gz")
        assert set(sem_b.role) == {"semantic"} and set(sem_b.system) == {b}
        both = rx_b[rx_b.role == "receiver"].merge(sem_b, on=["t", "snr_db", "seed", "index"], suffixes=("", "_s"))
        assert len(both) == len(sem_b) and (both.label == both.label_s).all()
        acc_b = sem_b.assign(ok=lambda d: d.pred == d.label).groupby(["t", "snr_db"]).ok.mean()
        for _, r in everything[(everything.attack == "semantic") & (everything.system == b)].iterrows():
            assert abs(acc_b[(r.t, r.snr_db)] - r.attacker_acc) < 1e-9
    cmp = pd.read_csv(work / "reports/mnist/seed0/comparisons.csv")
    assert {("diffsem", "classifier"), ("diffsem", "classifier-ft"), ("e-diffsem", "ibal-d"),
            ("e-diffsem", "diffsem:semantic"), ("diffsem:semantic", "diffsem:attacker"), ("ibal", "ibal:semantic"),
            ("ibal-d", "ibal-d:attacker"), ("ibal-d:semantic", "ibal-d:attacker")} <= set(zip(cmp.a, cmp.b))
    assert cmp.p.between(0, 1).all() and (cmp.p_holm >= cmp.p - 1e-12).all()


def test_dag_is_up_to_date_after_run(smoke_run):
    work, repo = smoke_run
    res = _snakemake(work, repo, "-n")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_param_change_reruns_downstream_only(smoke_run):
    """Changing an evaluation value re-runs evaluate and figures, not training."""
    work, repo = smoke_run
    original = (work / "params.yaml").read_text()
    raw = yaml.safe_load(original)
    raw["scales"]["smoke"]["eval"]["fig8_t_grid"] = [0, 150]
    (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        res = _snakemake(work, repo, "-n")
    finally:
        (work / "params.yaml").write_text(original)
    out = res.stdout + res.stderr
    assert "evaluate" in out and "figures" in out
    assert "train_jscc" not in out and "train_diffusion" not in out and "train_ibal" not in out


def test_receiver_search_on_smoke_models(smoke_run):
    """`diffsem receiver-search` scores step caps against the configured one on the validation slice
    (never the test set): the reference row has zero drop and speed-up 1, and the pick respects the
    tolerance."""
    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    cmd = [sys.executable, "-m", "diffsem", "--params", "params.yaml", "--scale", "smoke", "receiver-search",
           "--dataset", "mnist", "--steps", f"{cfg.sampler.max_steps},2,1", "--threads", "2"]
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads((work / "reports/mnist/seed0/receiver_search.json").read_text())
    df = pd.DataFrame(out["rows"])
    ref = df[df.max_steps == cfg.sampler.max_steps]
    assert (ref.drop_t150 == 0).all() and (ref.drop_t300 == 0).all() and (ref.speedup == 1).all()
    assert set(df.max_steps) == {cfg.sampler.max_steps, 2, 1} and set(df.system) == {"diffsem", "e-diffsem"}
    fast = out["fast_receiver"]
    assert fast["max_accuracy_drop"] <= out["tolerance"] + 1e-12
    assert fast["config"]["sampler.max_steps"] in (cfg.sampler.max_steps, 2, 1)
    split = json.loads((work / "data/mnist/seed0/split.json").read_text())
    assert out["scored_on"] == "validation" and out["n_val"] == split["counts"]["val_x"]
    # the guidance search records its tolerance beside its one pick, which follows pick_guidance's rule
    cmd = [*cmd[:7], "guidance-search", "--dataset", "mnist", "--weights", f"{cfg.sampler.guidance_w:g},1", "--threads", "2"]
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    gs = pd.read_csv(work / "reports/mnist/seed0/guidance_search.csv")
    assert len(gs) == 2 and gs.picked.sum() == 1 and (gs.n_val == split["counts"]["val_x"]).all()
    best, tol = gs.acc_mean.max(), float(gs.tolerance.iloc[0])
    ok = gs[gs.acc_mean >= best - tol - 1e-12]
    assert gs[gs.picked].guidance_w.abs().iloc[0] == ok.guidance_w.abs().min() and 0 < tol < 0.05


def test_cifar10_dag_outputs(smoke_run):
    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "cifar10")
    df = pd.read_csv(work / "reports/cifar10/seed0/metrics.csv")
    assert list(df.columns) == METRICS_COLUMNS
    assert set(df.system) == set(SYSTEMS) | set(cfg.baselines.systems)
    from diffsem.stages import headline_points

    # + the semantic attacker per point and transmitter, + the diffusion-prior attacker at the headline points
    n_tx = 1 + len({"ibal", "ibal-d"} & set(cfg.baselines.systems))
    assert len(df) == len(cfg.eval.grid_points()) * (len(SYSTEMS) + len(cfg.baselines.systems) + n_tx) + len(headline_points(cfg))
    assert set(df.dataset) == {"cifar10"} and cfg.data.n_eval == 50 and (df.n_eval == 50).all()
    assert (df.attack == "semantic").sum() == len(cfg.eval.grid_points()) * n_tx
    df = paper_rows(df)
    assert df[~df.system.isin(["direct", "permutation"])].receiver_acc.between(0, 1).all()
    for fig in ("fig9_accuracy_vs_t", "fig10_accuracy_vs_ssim_psnr", "fig11_adversary_images", "privacy_utility", "attack_study"):
        p = work / "reports/cifar10/seed0/figures" / f"{fig}.png"
        assert p.is_file() and p.read_bytes()[:4] == b"\x89PNG"
    assert not (work / "reports/cifar10/seed0/figures/fig4_accuracy_vs_t.png").exists()
    samples = torch.load(work / "reports/cifar10/seed0/eval/diffsem_samples.pt", weights_only=True)
    assert samples["t"].tolist() == [60, 150, 300] and samples["x_hat"].shape[2:] == (3, 32, 32)
    split = json.loads((work / "data/cifar10/seed0/split.json").read_text())
    c = split["counts"]
    assert c["tr_x"] + c["val_x"] == 300 and c["adv_x"] + c["adv_val_x"] == 200 and c["test_x"] == 10000


def _cli_call(cmd: str) -> tuple[str, frozenset]:
    """A `diffsem` command line reduced to (subcommand, {(option, value)}): the options that name the
    job, without the ones that only say how it runs (params file, scale, threads, seed list, log)."""
    tokens = cmd.split(">")[0].split()
    assert tokens[0] == "diffsem", cmd
    sub, opts, i = None, set(), 1
    while i < len(tokens):
        if tokens[i].startswith("--"):
            if tokens[i] not in ("--params", "--scale", "--threads", "--seeds"):
                opts.add((tokens[i], tokens[i + 1]))
            i += 2
        else:
            sub, i = sub or tokens[i], i + 1
    return sub, frozenset(opts)


def _covered(path: str, by: list[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in by)


def test_dvc_yaml_matches_the_snakemake_dag(smoke_run):
    """dvc.yaml is kept by hand beside the Snakefile: for every job of the smoke DAG (MNIST, seed 0) a
    DVC stage runs the same `diffsem` command with the same outputs, depends on at least the job's
    inputs, and lists at least the params sections the rule re-runs on."""
    import re

    from dvc.repo import Repo

    work, repo = smoke_run
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(work), "--cores", "1",
                          "--config", "scale=smoke", "--detailed-summary"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [line.split("\t") for line in res.stdout.splitlines()[1:] if line.count("\t") >= 7]
    jobs: dict = {}
    for out, _, rule, _, inputs, shellcmd, *_ in rows:
        if ("/mnist/seed0/" in out or out.startswith("reports/seeds/mnist")) and shellcmd.startswith("diffsem"):
            job = jobs.setdefault(_cli_call(shellcmd), {"rule": rule, "outs": set(), "ins": set()})
            job["outs"].add(out)
            job["ins"] |= {p for p in inputs.split(",") if p and p != "-"}
    smk = "".join(p.read_text() for p in sorted((repo / "workflow/rules").glob("*.smk")))
    sections = {m.group(1): set(re.findall(r'"(\w+)"', m.group(2)))
                for m in re.finditer(r"rule (\w+):(?:(?!\nrule ).)*?effective\((.*?)\)\s*,?\n", smk, re.S)}
    # these take their params from common.smk's finetune_params / diffusion_params:
    assert "finetune" not in sections and "train_diffusion" not in sections
    fine = {"data", "schedule", "channel", "jscc", "finetune", "validation"}
    sections["train_diffusion"] = {"data", "schedule", "channel", "jscc", "diffusion", "validation"}
    stages, everything = {}, list(Repo(str(repo)).index.stages)
    for st in everything:
        if st.cmd and ("--dataset mnist --seed 0" in st.cmd or st.cmd.endswith("summarize-seeds --dataset mnist")):
            stages[_cli_call(st.cmd)] = st

    def own_params(st):
        return {k.split(".")[0] for d in st.deps if hasattr(d, "params") and d.params for k in d.params}

    def preset_gaps(st):
        """A section a stage lists must be listed for every preset too (scales.<p>.<section>)."""
        keys = {k for d in st.deps if hasattr(d, "params") and d.params for k in d.params}
        presets = yaml.safe_load((repo / "params.yaml").read_text())["scales"]
        return sorted(f"scales.{p}.{sec}" for sec in keys if "." not in sec and sec not in ("scale", "seeds", "catalog")
                      for p in presets if f"scales.{p}.{sec}" not in keys)

    def params_through(st, seen=()):
        """A DVC stage re-runs on its own params and, through its deps, on every upstream stage's."""
        out = own_params(st)
        for up in everything:
            if up is not st and up not in seen and any(_covered(str(o), [str(d)]) or _covered(str(d), [str(o)])
                                                       for o in up.outs for d in st.deps if not hasattr(d, "params")):
                out |= params_through(up, (*seen, st))
        return out
    assert len(jobs) >= 20 and set(jobs) == set(stages), set(jobs) ^ set(stages)
    problems = []
    for call, job in jobs.items():
        st = stages[call]
        outs, deps = [str(o) for o in st.outs], [str(d) for d in st.deps]
        if not all(_covered(o, outs) for o in job["outs"]) or not all(any(_covered(x, [o]) for x in job["outs"]) for o in outs):
            problems.append((st.addressing, "outs", sorted(job["outs"]), outs))
        missing = sorted(p for p in job["ins"] if not _covered(p, deps))
        if missing:
            problems.append((st.addressing, "deps lack", missing))
        params = params_through(st)
        if job["rule"] == "finetune":
            want = fine | ({"diffusion", "sampler"} if ("--system", "classifier-ft") not in call[1] else set())
        else:
            want = sections[job["rule"]] if job["rule"] in sections else set()
        if not want <= params:
            problems.append((st.addressing, "params lack", sorted(want - params)))
        if preset_gaps(st):
            problems.append((st.addressing, "params lack", preset_gaps(st)))
    assert not problems, "\n".join(map(str, problems))


def test_snakemake_report_has_every_figure_with_its_caption(smoke_run, tmp_path):
    """`snakemake --report` gives one archive with every dataset's figures, each with its caption
    (workflow/report/<role>.rst) and category (dataset), plus the rules' runtimes."""
    import zipfile

    from diffsem.figure_names import figure_files

    work, repo = smoke_run
    out = tmp_path / "report.zip"
    res = _snakemake(work, repo, "--report", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    names = zipfile.ZipFile(out).namelist()
    import html as html_lib

    html = html_lib.unescape(zipfile.ZipFile(out).read(next(n for n in names if n.endswith("report.html"))).decode())
    for ds in ("mnist", "cifar10"):
        cfg = load_config(work / "params.yaml", "smoke", ds)
        for role, stem in figure_files(ds, cfg.baselines.systems).items():
            assert any(n.endswith(f"/{stem}.png") for n in names), (ds, stem)
            caption = (repo / "workflow/report" / f"{role}.rst").read_text().split()[:4]
            assert " ".join(caption) in html, role
    assert "train_jscc" in html  # per-rule runtimes


def test_python_api_reproduces_the_evaluation(smoke_run):
    """diffsem.load(...) gives the objects `evaluate` used: the same images and channel draws give
    exactly the per-sample predictions in the run's predictions file."""
    import diffsem
    from diffsem.data import load_split
    from diffsem.evaluate import point_seed

    work, repo = smoke_run
    run = diffsem.load(work, "mnist", seed=0, scale="smoke")
    t, snr = 150, float(run.cfg.eval.snr_db)
    split = load_split(run.paths.split, with_test=True)
    idx = split.images(run.cfg.eval.test_part(t, snr)).idx[: run.cfg.eval.batch_size]
    g = torch.Generator().manual_seed(point_seed(0, t, snr))
    z_rx, z_eve = run.transmit(split.test_x[idx], t, snr, generator=g)
    preds = run.receive(z_rx, t, snr)
    # ... and the eavesdropper's draw the semantic attacker was scored on (evaluate.transmissions)
    sem = pd.read_csv(run.paths.predictions("semantic"))
    sem = sem[(sem.t == t) & (sem.snr_db == snr)].set_index("index").loc[idx.tolist(), "pred"].to_numpy()
    assert (run.semantic_attack(z_eve, t, snr).cpu().numpy() == sem).all()
    saved = pd.read_csv(run.paths.predictions("diffsem"))
    saved = saved[(saved.t == t) & (saved.snr_db == snr) & (saved.role == "receiver")]
    for system, p in preds.items():
        want = saved[saved.system == system].set_index("index").loc[idx.tolist(), "pred"].to_numpy()
        assert (p.cpu().numpy() == want).all(), system
    acc = run.score(split.test_x[idx], split.test_y[idx], t, snr, generator=torch.Generator().manual_seed(1))
    assert set(acc) == {*preds, "attacker", "semantic"} and all(0 <= v <= 1 for v in acc.values())
    with pytest.raises(KeyError, match="no attacker trained for T'=7"):
        run.attack(z_rx, 7, snr)
    t6 = next(t for t in run.cfg.eval.fig6_t if (t, snr) not in run.ceiling)  # an attacker-only point
    acc6 = run.score(split.test_x[idx], split.test_y[idx], t6, snr, generator=torch.Generator().manual_seed(2))
    assert "ceiling" not in acc6 and "attacker" in acc6 and "e-diffsem" in acc6
    with pytest.raises(KeyError, match="no feature ceiling trained"):
        run.receive(z_rx, t6, snr, systems=("ceiling",))


def test_worked_example_runs_on_smoke_artefacts(smoke_run, tmp_path):
    work, repo = smoke_run
    out = tmp_path / "ops.png"
    res = subprocess.run([sys.executable, str(repo / "docs/examples/operating_points.py"), "--root", str(work),
                          "--scale", "smoke", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "T' = 150" in res.stdout and "attacker" in res.stdout and out.read_bytes()[:4] == b"\x89PNG"


def test_attacker_curve_equals_the_evaluation_and_matches_ssim(smoke_run, tmp_path):
    """scripts/attacker_curve.py scores the eavesdropper's side alone on exactly `evaluate`'s images and
    draws: its curve equals eval/diffsem.csv's attacker columns (and its bypass column the classifier's
    accuracy) at every t of the Fig. 4 grid, the
    matched-SSIM line reads the baselines' curves, and a run without stage 3 is refused in one line."""
    from diffsem.frontier import attacker_at_ssim

    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    snr = float(cfg.eval.snr_db)
    out = tmp_path / "curve.csv"
    script = [sys.executable, str(repo / "scripts/attacker_curve.py"), "--root", str(work), "--scale", "smoke"]
    res = subprocess.run([*script, "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    got = pd.read_csv(out).set_index(["seed", "t"]).sort_index()
    ev = pd.read_csv(work / "reports/mnist/seed0/eval/diffsem.csv")
    ev = ev[(ev.system == "classifier") & (ev.snr_db == snr)].set_index(["seed", "t"]).sort_index()
    assert list(got.index) == list(ev.index) and len(got) == len(cfg.eval.t_grid) * len(cfg.eval.seeds)
    for col in ("attacker_acc", "attacker_ssim", "attacker_psnr", "n_eval"):
        assert got[col].to_numpy() == pytest.approx(ev[col].to_numpy(), rel=1e-5), col
    assert got.classifier_acc.to_numpy() == pytest.approx(ev.receiver_acc.to_numpy(), rel=1e-6)
    ibald = pd.read_csv(work / "reports/mnist/seed0/eval/ibal-d.csv")
    mid = float(got.attacker_ssim.median())
    v, _ = attacker_at_ssim(ibald[ibald.snr_db == snr], mid)
    line = f"| ibal-d | {'outside its curve' if v != v else f'{v:.4f}'} |"
    ours, _ = attacker_at_ssim(got.reset_index(), mid)
    res = subprocess.run([*script, "--out", str(out), "--ssim", str(mid)], capture_output=True, text=True, timeout=600, cwd=work)
    assert res.returncode == 0 and line in res.stdout and f"| {ours:.4f} |" in res.stdout, res.stdout[-1500:]
    res = subprocess.run([*script, "--root", str(tmp_path / "empty"), "--out", str(tmp_path / "x.csv")],
                         capture_output=True, text=True, timeout=120, cwd=work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "not found" in res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_judge_spread_scores_the_runs_networks_with_each_judge(smoke_run, tmp_path):
    """scripts/judge_spread.py: draw 0 is the run's own judge (its rows equal eval/diffsem.csv's attacker column);
    a further draw is trained on validation, scores the same networks, and writes nothing in the run; a bad
    --draws is refused in one line before any training."""
    from diffsem.stages import headline_points

    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    before = sorted(p.name for p in (work / "models/mnist/seed0").rglob("*"))
    out = tmp_path / "judges.csv"
    script = [sys.executable, str(repo / "scripts/judge_spread.py"), "--root", str(work), "--scale", "smoke"]
    res = subprocess.run([*script, "--draws", "1", "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    got = pd.read_csv(out)
    heads = headline_points(cfg)
    assert sorted(got.judge.unique()) == [0, 1] and len(got) == 2 * len(heads) * len(cfg.eval.seeds)
    ev = pd.read_csv(work / "reports/mnist/seed0/eval/diffsem.csv")
    ev = ev[ev.system == "classifier"].set_index(["t", "snr_db", "seed"]).attacker_acc
    own = got[got.judge == 0].set_index(["t", "snr_db", "seed"]).attacker_acc
    assert own.to_numpy() == pytest.approx(ev.loc[own.index].to_numpy(), rel=1e-6)
    assert got.val_acc_mean.between(0, 1).all() and (got.selected_epoch >= 1).all()
    own_curve = pd.read_csv(work / "reports/mnist/seed0/curves/strong.csv")
    assert (got[got.judge == 0].selected_epoch == int(own_curve[own_curve.selected == 1].epoch.iloc[0])).all()
    assert sorted(p.name for p in (work / "models/mnist/seed0").rglob("*")) == before
    res = subprocess.run([*script, "--draws", "0", "--out", str(tmp_path / "x.csv")], capture_output=True, text=True,
                         timeout=120, cwd=work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--draws" in res.stderr
    assert not (tmp_path / "x.csv").exists()


def test_baseline_summary_reads_the_baselines_parts(smoke_run):
    """scripts/baseline_summary.py prints each baseline's headline receiver and attackers as in its
    eval part, their paired tests, and refuses a seed that was never run in one line."""
    from diffsem.stages import headline_points

    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    script = [sys.executable, str(repo / "scripts/baseline_summary.py"), "--root", str(work), "--scale", "smoke"]
    res = subprocess.run([*script, "--seeds", "0"], capture_output=True, text=True, timeout=300, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    ev = pd.read_csv(work / "reports/mnist/seed0/eval/ibal-d.csv")
    for t, snr in headline_points(cfg):
        r = ev[(ev.t == t) & (ev.snr_db == snr)].mean(numeric_only=True)
        assert f"| ibal-d | {t} | receiver | {r.receiver_acc:.4f} |" in res.stdout
        assert f"| ibal-d | {t} | inversion attacker | {r.attacker_acc:.4f} |" in res.stdout
        n = int(r.n_eval)
        assert f"| {t} | {n} | ibal-d | ibal-d:semantic |" in res.stdout and f"| {t} | {n} | ibal-d | ibal-d:attacker |" in res.stdout
    res = subprocess.run([*script, "--seeds", "7"], capture_output=True, text=True, timeout=120, cwd=work)
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1 and "not found" in res.stderr


def test_rayleigh_channel_kind_trains_the_defender_on_faded_draws(smoke_run, tmp_path):
    """`channel.kind: rayleigh` retrains stage 1, Alg. 2's fine-tune and IBAL-D on faded draws: their
    checkpoints record the kind, an AWGN-trained checkpoint is refused for it, and the fine-tune's bank
    holds samples on steps later than their T' (each sample's own fade), which AWGN never gives at 15 dB."""
    import shutil

    from diffsem.baseline_stages import train_ibal
    from diffsem.io import CheckpointError
    from diffsem.pipeline import Link, Receivers
    from diffsem.runtime import generator
    from diffsem.stages import Paths, load_jscc, receiver_bank, schedule_of, stage_diffusion, stage_finetune, stage_jscc

    work, _ = smoke_run
    (tmp_path / "data").mkdir()
    shutil.copytree(work / "data/mnist", tmp_path / "data/mnist")
    raw = yaml.safe_load((work / "params.yaml").read_text())
    raw["channel"]["kind"] = "rayleigh"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load_config(tmp_path / "params.yaml", "smoke", "mnist")
    paths = Paths.of(tmp_path, cfg)
    shutil.copytree(work / "models/mnist/seed0", paths.dir("models"), dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n != "jscc.pt"])  # the AWGN-trained stage 1
    with pytest.raises(CheckpointError):
        load_jscc(paths, cfg, "cpu")
    paths.jscc.unlink()
    stage_jscc(cfg, paths, "cpu")
    enc, clf = load_jscc(paths, cfg, "cpu")
    assert torch.load(paths.jscc, weights_only=True)["meta"]["config"]["channel"]["kind"] == "rayleigh"
    stage_diffusion(cfg, paths, "uncond", "cpu")
    stage_finetune(cfg, paths, "diffsem", "cpu")
    assert paths.receiver("diffsem").is_file()
    sched = schedule_of(cfg)
    rx = Receivers(sched, clf, **cfg.sampler.receiver_options())
    split = __import__("diffsem.data", fromlist=["load_split"]).load_split(paths.split)
    for kind, later in (("rayleigh", True), ("awgn", False)):
        link = Link(enc, sched, cfg.channel.quantize_t2, kind)
        bank = receiver_bank(cfg, "classifier-ft", link, rx, None, split.tr_x, split.tr_y, [150], 64,
                             generator(0), generator(0), "cpu")
        steps = (bank[2].view(-1) * sched.T).round()
        assert bool((steps > 150).any()) == later and (steps >= 150).all()
    tx, _, res = train_ibal(cfg, paths, "ibal-d", "cpu", resume=False)
    scored = [r["val_acc_mean"] for r in res.curve if "val_acc_mean" in r]  # warm-up epochs are recorded unscored
    assert scored and all(0 <= a <= 1 for a in scored)


def test_stage1_ema_decay_reaches_fit_and_its_checkpoint(smoke_run, tmp_path, monkeypatch):
    """`jscc.ema_decay` (decisions §48): stage 1 hands the decay to training.fit, whose EMA tests
    (tests/test_training.py) show the modules end as the average; the checkpoint records the decay, so a
    stage 1 trained on its raw weights is refused for it."""
    import shutil

    import diffsem.stages as stages
    from diffsem.io import CheckpointError

    work, _ = smoke_run
    (tmp_path / "data").mkdir()
    shutil.copytree(work / "data/mnist", tmp_path / "data/mnist")
    raw = yaml.safe_load((work / "params.yaml").read_text())
    raw["jscc"]["ema_decay"] = 0.5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load_config(tmp_path / "params.yaml", "smoke", "mnist")
    paths = stages.Paths.of(tmp_path, cfg)
    shutil.copytree(work / "models/mnist/seed0", paths.dir("models"), dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names if n != "jscc.pt"])  # trained at ema_decay 0
    with pytest.raises(CheckpointError):
        stages.load_jscc(paths, cfg, "cpu")
    paths.jscc.unlink()
    seen, real_fit = [], stages.fit
    monkeypatch.setattr(stages, "fit", lambda *a, **kw: seen.append(kw.get("ema")) or real_fit(*a, **kw))
    stages.stage_jscc(cfg, paths, "cpu")
    assert seen == [0.5]
    assert torch.load(paths.jscc, weights_only=True)["meta"]["config"]["jscc"]["ema_decay"] == 0.5
    stages.load_jscc(paths, cfg, "cpu")


def test_stage1_bound_scores_what_evaluate_scores_and_pairs_the_runs(smoke_run, tmp_path):
    """scripts/stage1_bound.py: its bypass-classifier accuracies equal metrics.csv's `classifier` rows and the
    noiseless bound the evaluate rule wrote; a run against itself differs on no image; a bad --run is refused
    in one line."""
    work, repo = smoke_run
    script = [sys.executable, str(repo / "scripts/stage1_bound.py"), "--dataset", "mnist", "--seeds", "0", "--scale", "smoke"]
    out = tmp_path / "bound.csv"
    res = subprocess.run([*script, "--run", f"a={work}", "--run", f"b={work}", "--t", "150,300", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    acc = df[(df.kind == "accuracy") & (df.a == "a")].set_index("point").acc_a
    metrics = paper_rows(pd.read_csv(work / "reports/mnist/seed0/metrics.csv"))
    cls = metrics[(metrics.system == "classifier") & (metrics.snr_db == 15.0) & (metrics.seed == 0)]
    for t in (150, 300):
        assert abs(acc[f"t={t}"] - cls[cls.t == t].receiver_acc.iloc[0]) < 1e-6
    noiseless = json.loads((work / "reports/mnist/seed0/eval/diffsem_noiseless.json").read_text())
    assert abs(acc["noiseless"] - noiseless["classifier_acc"]) < 1e-6
    paired = df[df.kind == "paired"]
    assert len(paired) == 3 and (paired["diff"] == 0).all() and (paired.p == 1).all()
    assert "| 0 | t=300 | a − b | +0.00 |" in res.stdout
    for bad, msg in ((["--run", "nolabel"], "LABEL=ROOT"), (["--run", f"a={tmp_path}"], "params.yaml not found"),
                     (["--run", f"a={work}", "--t", "1x"], "--t must be"), (["--run", f"a={work}", "--seeds", "0,7"], "seed7")):
        r = subprocess.run([*script, *bad], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, r.stderr


def test_core_summary_matches_the_collected_metrics(smoke_run):
    """scripts/core_summary.py (runs without every baseline) reads the same headline numbers as metrics.csv,
    pairs E-DiffSem with the baselines whose parts exist, and a seed that was never run is refused in one line."""
    work, repo = smoke_run
    seed_frames = load_script("core_summary").seed_frames
    from diffsem.seeds import headline_accuracies
    from diffsem.stages import Paths, headline_points

    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    points = headline_points(cfg)
    rows, preds = seed_frames(Paths(work, "mnist", 0))
    ours = headline_accuracies(rows, points)
    collected = headline_accuracies(pd.read_csv(work / "reports/mnist/seed0/metrics.csv"), points)
    assert ours.keys() == collected.keys()
    for point, row in collected.items():
        assert ours[point] == pytest.approx(row, abs=1e-6)
    assert {"receiver", "attacker", "semantic"} <= set(preds.role)
    script = [sys.executable, str(repo / "scripts/core_summary.py"), "--root", str(work), "--scale", "smoke"]
    res = subprocess.run([*script, "--seeds", "0"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "mean ± 95 % CI" in res.stdout and "Seed 0: paired tests" in res.stdout
    # the smoke run evaluated the baselines too: E-DiffSem is paired with each on the same images and draws
    assert "| e-diffsem | ibal-d |" in res.stdout and "| e-diffsem | ibal |" in res.stdout
    # the smoke run built the attack study and the protocol ablation: their tables follow the seed's tests
    assert "### Attack study at the headline points" in res.stdout and "### Protocol ablation" in res.stdout
    res = subprocess.run([*script, "--seeds", "0,7"], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "seed7" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_unet_band_probe_continues_the_unet_on_one_band(smoke_run, tmp_path):
    """scripts/unet_band_probe.py writes a continued copy of the run's unconditional U-Net (same architecture,
    changed weights) that unet_width_study.py scores beside the original, and leaves the run untouched; a band
    outside 1..T is refused in one line with nothing written."""
    work, repo = smoke_run
    cfg = load_config(work / "params.yaml", "smoke", "mnist")
    src = work / "models/mnist/seed0/unet_uncond.pt"
    before = src.read_bytes()
    out = tmp_path / "probe" / "unet_uncond.pt"
    probe = [sys.executable, str(repo / "scripts/unet_band_probe.py"), "--root", str(work), "--scale", "smoke"]
    T = cfg.schedule.T
    res = subprocess.run([*probe, "--band", str(T // 2), str(T), "--epochs", "1", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    assert src.read_bytes() == before
    old = torch.load(src, weights_only=True)
    new = torch.load(out, weights_only=True)
    assert new["meta"]["arch"] == old["meta"]["arch"] and new["meta"]["kind"] == "unet_uncond"
    assert any(not torch.equal(new["state"]["model"][k], v) for k, v in old["state"]["model"].items())
    study = subprocess.run([sys.executable, str(repo / "scripts/unet_width_study.py"), "--root", str(work), "--scale",
                            "smoke", "--unet", str(src), "--unet", str(out)], capture_output=True, text=True,
                           timeout=600, cwd=work)
    assert study.returncode == 0, study.stderr[-2000:]
    assert f"on t {T // 2}-{T}" in study.stdout and "Wiener" in study.stdout
    bad = tmp_path / "bad" / "unet_uncond.pt"
    res = subprocess.run([*probe, "--band", "0", str(T), "--out", str(bad)], capture_output=True, text=True,
                         timeout=120, cwd=work)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--band" in res.stderr
    assert not bad.exists()


def test_jscc_recipe_probe_scores_cifar10_stage1_on_validation(smoke_run):
    """scripts/jscc_recipe_probe.py trains stage 1 under one recipe on the run's CIFAR-10 training split and
    prints the selected epoch's validation accuracy at each --val-t (decisions §45); on MNIST it can score a
    moving average of the weights (--ema, decisions §48); a bad --t-range, --ema, --patience or --epochs is refused in
    one line before any training."""
    work, repo = smoke_run
    probe = [sys.executable, str(repo / "scripts/jscc_recipe_probe.py"), "--root", str(work), "--scale", "smoke"]
    res = subprocess.run([*probe, "--dataset", "cifar10", "--epochs", "1", "--encoder-kernel", "15", "--augment",
                          "--val-t", "0,300"], capture_output=True, text=True, timeout=600, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    row = res.stdout.strip().splitlines()[-1]
    assert row.startswith("| cifar10 table2 (kernel 15, augmented) |") and "| 1/1 |" in row
    assert all(0 <= float(a) <= 1 for a in row.rstrip(" |").split("|")[-1].split(" / "))
    res = subprocess.run([*probe, "--dataset", "mnist", "--augment", "--t-range", "0,5000"], capture_output=True,
                         text=True, timeout=300, cwd=work)
    assert res.returncode != 0 and "--t-range" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = subprocess.run([*probe, "--dataset", "mnist", "--epochs", "2", "--ema", "0.9", "--val-t", "0"],
                         capture_output=True, text=True, timeout=300, cwd=work)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1].startswith("| mnist table1 (kernel 15, EMA 0.9) |")
    for flag, value in (("--ema", "1"), ("--patience", "-1"), ("--epochs", "0")):
        res = subprocess.run([*probe, "--dataset", "mnist", flag, value], capture_output=True, text=True, timeout=300,
                             cwd=work)
        assert res.returncode != 0 and flag in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_results_table_prints_a_finished_run_and_the_curves_of_one_in_progress(smoke_run, tmp_path):
    """scripts/results_table.py: a finished run's tables (curves and the paper's claims among them); with
    --curves-only, a run that has trained only stage 1 (no metrics.csv) gets its curve row, and a run with no
    curves at all is refused in one line."""
    work, repo = smoke_run
    script = [sys.executable, str(repo / "scripts/results_table.py"), "--root"]
    res = subprocess.run([*script, str(work)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "### Learning curves" in res.stdout and "| jscc |" in res.stdout
    partial = tmp_path / "partial"
    (partial / "reports/mnist/seed0/curves").mkdir(parents=True)
    shutil.copy(work / "reports/mnist/seed0/curves/jscc.csv", partial / "reports/mnist/seed0/curves/jscc.csv")
    res = subprocess.run([*script, str(partial)], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "metrics.csv not found" in res.stderr
    res = subprocess.run([*script, str(partial), "--curves-only"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [r for r in res.stdout.splitlines() if r.startswith("| jscc |")]
    assert len(rows) == 1 and "/" in rows[0]
    res = subprocess.run([*script, str(partial), "--curves-only", "--epochs-of", "jscc"], capture_output=True, text=True,
                         timeout=300)
    curve = pd.read_csv(partial / "reports/mnist/seed0/curves/jscc.csv")
    epochs = [r for r in res.stdout.splitlines() if re.match(r"\| \d+( ✓)? \|", r)]
    assert res.returncode == 0 and len(epochs) == len(curve) and sum("✓" in r for r in epochs) == 1
    res = subprocess.run([*script, str(tmp_path / "none"), "--curves-only"], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and len(res.stderr.strip().splitlines()) == 1 and "curves" in res.stderr
