"""Training seeds through the smoke DAG: the same seed re-built from nothing gives the same bytes, another
seed re-trains every stage and the seed summary reads both.  Each works on its own project or a copy of the
shared smoke run (conftest's `smoke_run`), so this file can run beside the other smoke tests."""

import json
import shutil

import pandas as pd
import pytest

from smoke_project import project as _project, snakemake as _snakemake

# one evaluation part per kind of training code: DiffSem's (stage 1, both U-Nets, the three Alg. 2 fine-tunes,
# the inversion attacker, the strong classifier, the feature ceiling), a baseline's (IBAL-D and its attackers),
# the semantic attacker's and the diffusion-prior attacker's; the other baselines and the studies reuse them
DETERMINISM_PARTS = ("diffsem", "ibal-d", "semantic", "diffusion")


def test_same_seed_same_bytes(smoke_run, mirror, tmp_path):
    """Determinism: every stage one evaluation part of each kind needs, re-run from nothing with the same seed in
    a fresh project, writes byte-identical rows and per-sample predictions."""
    work, repo = smoke_run
    again = _project(tmp_path, repo, mirror, datasets=("mnist",))
    parts = [f"reports/mnist/seed0/eval/{p}{suffix}" for p in DETERMINISM_PARTS for suffix in (".csv", "_predictions.csv.gz")]
    res = _snakemake(again, repo, targets=tuple(p for p in parts if p.endswith(".csv")))
    assert res.returncode == 0, res.stderr[-3000:]
    for part in parts:
        if part.endswith(".gz"):  # gzip stores no name or time here, but compare what it holds
            assert pd.read_csv(again / part).equals(pd.read_csv(work / part)), part
        else:
            assert (again / part).read_bytes() == (work / part).read_bytes(), part


def test_seed_wildcard_retrains_everything_and_summarises(smoke_run, mirror, tmp_path):
    """A second training seed is a second run of every stage (own split, models, reports under
    seed1/), seed 0's run is left alone, and reports/seeds/<ds>.csv summarises both."""
    shared, repo = smoke_run
    work = tmp_path / "two-seeds"  # a copy: the shared smoke run stays a one-seed run for the other tests
    # seed 0's resume states (≈ 2 GB at smoke scale, kept for a later larger epoch cap) are not needed here, nor
    # a lock of a Snakemake call that another worker may be making in the shared run at this moment
    shutil.copytree(shared, work, symlinks=True, ignore=shutil.ignore_patterns("resume", "locks"))
    # and its params.yaml as built: another worker's test may be editing the shared one for a moment
    _project(work, repo, mirror)
    config = ("seeds=[0,1]", "datasets=[mnist]")
    plan = _snakemake(work, repo, "-n", config=config)
    assert plan.returncode == 0, plan.stderr[-2000:]
    out = plan.stdout + plan.stderr
    assert "seed=0" not in out  # nothing of the finished seed re-runs
    for rule in ("data", "train_jscc", "train_diffusion", "train_adversary", "train_strong", "train_ceiling",
                 "finetune", "train_ibal", "evaluate", "summarize_seeds"):
        assert f"rule {rule}:" in out, rule
    # what the summary needs: every seed's metrics.csv (all of its training, attackers and evaluation)
    res = _snakemake(work, repo, config=config, targets=("reports/seeds/mnist.csv", "reports/seeds/mnist_frontier.png"))
    assert res.returncode == 0, res.stderr[-3000:]
    s0, s1 = (json.loads((work / f"data/mnist/seed{k}/split.json").read_text()) for k in (0, 1))
    assert s0["seed"] == 0 and s1["seed"] == 1
    m0, m1 = (pd.read_csv(work / f"reports/mnist/seed{k}/metrics.csv") for k in (0, 1))
    assert set(m0.train_seed) == {0} and set(m1.train_seed) == {1}
    assert not m0.receiver_acc.equals(m1.receiver_acc)  # other split, weights and draws
    summary = pd.read_csv(work / "reports/seeds/mnist.csv")
    assert {"seed0", "seed1", "mean", "half_width_95"} <= set(summary.columns) and (summary.n_seeds == 2).all()
    acc = summary[summary.kind == "accuracy"]
    assert ((acc.seed0 + acc.seed1) / 2 - acc["mean"]).abs().max() < 1e-12
    assert acc.half_width_95.notna().all()
    clf = acc[(acc.quantity == "classifier") & (acc.t == 300)].iloc[0]
    assert clf.seed0 == pytest.approx(m0[(m0.system == "classifier") & (m0.t == 300) & (m0.snr_db == 15)].receiver_acc.mean())
    # the frontier: every system with a receiver, against the strongest attacker on its transmitter, over both seeds
    front = pd.read_csv(work / "reports/seeds/mnist_frontier.csv")
    assert {"e-diffsem", "ibal", "ibal-d", "direct", "permutation", "ceiling"} <= set(front.system) and (front.n_seeds == 2).all()
    e = front[(front.system == "e-diffsem") & (front.t == 300) & (front.snr_db == 15)].iloc[0]
    strongest = [max(m[(m.system.isin(["e-diffsem", "diffsem"])) & (m.t == 300) & (m.snr_db == 15)]
                     .groupby("attack").attacker_acc.mean()) for m in (m0, m1)]
    assert e.attacker_acc == pytest.approx(sum(strongest) / 2) and e.attacker_hw > 0
    assert (work / "reports/seeds/mnist_frontier.png").read_bytes()[:4] == b"\x89PNG"
