import shutil

import pytest
import torch

from diffsem.config import DataCfg
from diffsem.data import DataError, load_raw_dataset, make_split, stratified_indices


def _entry(name):
    """A dataset's entry in the project's catalog (params.yaml)."""
    from pathlib import Path

    from diffsem.config import load_config

    return load_config(Path(__file__).resolve().parents[1] / "params.yaml").catalog[name]


def _cfg(mirror, **kw):
    base = dict(mirror=str(mirror), download_root="data/raw", adversary_fraction=0.4, train_subset=0, n_eval=0,
                val_fraction=0.1)
    base.update(kw)
    return DataCfg(**base)


def test_stratified_indices():
    y = torch.arange(1000) % 10
    idx = stratified_indices(y, 100, 10, seed=0)
    assert idx.numel() == 100 and torch.equal(torch.bincount(y[idx]), torch.full((10,), 10))
    assert torch.equal(idx, stratified_indices(y, 100, 10, seed=0))
    assert idx.unique().numel() == 100
    assert stratified_indices(y, 0, 10, 0).numel() == 1000


def test_split_is_deterministic_and_disjoint():
    x = torch.arange(1000).view(-1, 1, 1, 1).to(torch.int64)
    y = torch.arange(1000) % 10
    cfg = _cfg("", n_eval=50)
    a = make_split(x, y, x[:200], y[:200], cfg, 0, 10)
    b = make_split(x, y, x[:200], y[:200], cfg, 0, 10)
    assert torch.equal(a.tr_x, b.tr_x) and torch.equal(a.adv_x, b.adv_x) and torch.equal(a.val_x, b.val_x)
    # 60/40 first, then a stratified 10 % of each side (10 % of every class there) to its validation slice
    assert a.tr_x.shape[0] + a.val_x.shape[0] == 600 and a.adv_x.shape[0] + a.adv_val_x.shape[0] == 400
    parts = [set(p.flatten().tolist()) for p in (a.tr_x, a.val_x, a.adv_x, a.adv_val_x)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == 1000  # disjoint and complete
    for train, val in ((a.tr_y, a.val_y), (a.adv_y, a.adv_val_y)):
        side = torch.bincount(torch.cat([train, val]), minlength=10).float()
        assert (torch.bincount(val, minlength=10) - 0.1 * side).abs().max() <= 0.5
    assert a.eval_idx.numel() == 50


def test_split_file_seals_the_test_set(tmp_path):
    """load_split hides the test set from training and selection code: any use of it raises; only
    with_test=True (the evaluation stages) gets it."""
    from diffsem.data import Sealed, TestSetSealed, load_split

    x = torch.arange(300).view(-1, 1, 1, 1).to(torch.uint8)
    y = torch.arange(300) % 10
    split = make_split(x, y, x[:100], y[:100], _cfg("", n_eval=20), 0, 10)
    torch.save(split.tensors(), tmp_path / "split.pt")
    sealed = load_split(tmp_path / "split.pt")
    assert isinstance(sealed.test_x, Sealed) and torch.equal(sealed.val_x, split.val_x)
    for touch in (lambda s: s.test_x[0], lambda s: s.test_y.shape, lambda s: len(s.eval_idx),
                  lambda s: s.images("test").idx.numel(), lambda s: s.eval_idx.split(4)):
        with pytest.raises(TestSetSealed, match="sealed"):
            touch(sealed)
    full = load_split(tmp_path / "split.pt", with_test=True)
    assert torch.equal(full.test_x, split.test_x) and full.images("test").n == 20
    assert full.images("val").n == split.val_y.shape[0]


def test_only_evaluation_reads_the_test_set():
    """A static check of the rule 'the test set is for reporting only': the only code that loads a
    split with the test set is the evaluation — DiffSem's, the semantic attacker's, the attack study's and
    the protocol ablation's and the diffusion-prior attacker's scoring, the fading evaluation's, the baselines', and
    scripts/attacker_curve.py's (the attacker's curve of a run without receivers, scored like `evaluate`; it selects
    nothing) and scripts/judge_spread.py's (further judges choose their epoch on validation, then score like
    `evaluate`) and scripts/stage1_bound.py's (stage 1's bypass rows of `evaluate`, for runs that train only stage 1) —
    every other stage, the receiver search, the IBAL sweep and the probes get a sealed split, so a stray
    read fails loudly."""
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[1]
    callers = set()
    for f in [*(src / "src" / "diffsem").rglob("*.py"), *(src / "scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.FunctionDef):
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "load_split"
                            and any(k.arg == "with_test" for k in call.keywords)):
                        callers.add(f"{f.stem}.{node.name}")
    assert callers == {"evaluate.stage_evaluate", "evaluate.stage_evaluate_semantic", "attack_study.stage_attack_study",
                       "attack_study.stage_attack_protocol", "prior_attack.stage_prior_attack",
                       "baseline_stages.stage_evaluate_baseline", "fading_eval.stage_evaluate_fading", "attacker_curve.main",
                       "judge_spread.main", "stage1_bound.load_seed"}


def test_mirror_loads_real_mnist(mirror):
    tx, ty, vx, vy = load_raw_dataset("mnist", _cfg(mirror), _entry("mnist"))
    assert tx.shape == (60000, 1, 28, 28) and vx.shape == (10000, 1, 28, 28)
    assert tx.dtype == torch.uint8 and ty.dtype == torch.int64


def test_corrupt_mirror_named(mirror, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (mirror / "MNIST" / "raw").iterdir():
        shutil.copy(f, raw / f.name)
    bad = raw / "t10k-labels-idx1-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is corrupt or truncated"):
        load_raw_dataset("mnist", _cfg(tmp_path), _entry("mnist"))
    bad.unlink()
    with pytest.raises(DataError, match="missing"):
        load_raw_dataset("mnist", _cfg(tmp_path), _entry("mnist"))


def test_missing_mirror(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_raw_dataset("mnist", _cfg(tmp_path / "nowhere"), _entry("mnist"))


def test_mirror_loads_real_cifar10(mirror):
    """ImageFolder layout, CIFAR-10 label order; train images decoded lazily, only those indexed."""
    from diffsem.data import JpegImages

    if not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("CIFAR-10 mirror not available")
    tx, ty, vx, vy = load_raw_dataset("cifar10", _cfg(mirror), _entry("cifar10"))
    assert isinstance(tx, JpegImages) and tx.shape == (50000, 3, 32, 32)
    assert vx.shape == (10000, 3, 32, 32) and vx.dtype == torch.uint8
    assert torch.equal(torch.bincount(ty), torch.full((10,), 5000)) and torch.equal(torch.bincount(vy), torch.full((10,), 1000))
    assert _entry("cifar10").class_names[3] == "cat" and tx.files[int(torch.nonzero(ty == 3)[0])].parent.name == "cat"
    some = tx[torch.tensor([0, 49999])]
    assert some.shape == (2, 3, 32, 32) and some.dtype == torch.uint8 and some.float().std() > 10
    split = make_split(tx, ty, vx, vy, _cfg(mirror, train_subset=200, n_eval=50), 0, 10)
    assert split.tr_x.shape[0] + split.val_x.shape[0] == 120 and split.adv_x.shape[0] + split.adv_val_x.shape[0] == 80
    assert split.tr_x.shape[1:] == (3, 32, 32) and 8 <= split.val_x.shape[0] <= 16
    assert torch.equal(torch.bincount(vy[split.eval_idx]), torch.full((10,), 5))


def test_cifar10_mirror_problems_named(mirror, tmp_path):
    if not (mirror / "CIFAR10-jpeg").is_dir():
        pytest.skip("CIFAR-10 mirror not available")
    with pytest.raises(DataError, match="CIFAR10-jpeg/train not found"):
        load_raw_dataset("cifar10", _cfg(tmp_path), _entry("cifar10"))
    base = tmp_path / "CIFAR10-jpeg" / "train"
    src = mirror / "CIFAR10-jpeg" / "train"
    for c in src.iterdir():  # a copy with one class short of images
        (base / c.name).mkdir(parents=True)
        for f in sorted(c.iterdir())[: 5000 if c.name != "dog" else 4999]:
            (base / c.name / f.name).symlink_to(f)
    with pytest.raises(DataError, match="dog has 4999 images, expected 5000"):
        load_raw_dataset("cifar10", _cfg(tmp_path), _entry("cifar10"))
    (base / "zebra").mkdir()
    (base / "zebra" / "0.jpg").symlink_to(next(src.glob("cat/*.jpg")))
    with pytest.raises(DataError, match="has classes"):
        load_raw_dataset("cifar10", _cfg(tmp_path), _entry("cifar10"))
    # a broken JPEG is named when the split decodes it
    from diffsem.data import JpegImages

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DataError, match="cannot decode .*bad.jpg"):
        JpegImages([bad], (3, 32, 32))[[0]]


def test_unknown_dataset_is_a_config_error(repo):
    from diffsem.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="unknown dataset 'svhn'"):
        load_config(repo / "params.yaml", "smoke", "svhn")
