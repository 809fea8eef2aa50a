"""Bad input: one line on stderr naming the problem, exit 2, nothing written."""

import subprocess
import sys

import pytest
import torch
import yaml

from diffsem.cli import main
from diffsem.data import Split


def _params(tmp_path, repo, mirror=None, **edits):
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    if mirror is not None:
        raw["data"]["mirror"] = str(mirror)
    for dotted, value in edits.items():
        node = raw
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


def _run(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "params.yaml")


@pytest.mark.parametrize(
    "edits,needle",
    [
        ({"eval__t_grid": [0, 600]}, "eval.t_grid[1]"),
        ({"eval__snr_db": "loud"}, "eval.snr_db"),
        ({"datasets": ["imagenet"]}, "imagenet"),
        ({"jscc__lr": -1}, "jscc.lr"),
        ({"sampler__max_steps": 0}, "sampler.max_steps"),
        ({"diffusion__n_feat": 100}, "diffusion.n_feat"),
    ],
)
def test_bad_params(tmp_path, repo, capsys, edits, needle):
    p = _params(tmp_path, repo, **edits)
    code, err = _run(capsys, "data", "--params", str(p), "--root", str(tmp_path))
    assert code == 2 and len(err.splitlines()) == 1 and needle in err and err.startswith("diffsem: error:")
    assert _files(tmp_path) == []


def test_unknown_dataset_flag(tmp_path, repo, capsys):
    code, err = _run(capsys, "data", "--params", str(_params(tmp_path, repo)), "--dataset", "imagenet", "--root", str(tmp_path))
    assert code == 2 and "unknown dataset 'imagenet'" in err


def test_missing_mirror(tmp_path, repo, capsys):
    p = _params(tmp_path, repo, mirror=tmp_path / "no-mirror")
    code, err = _run(capsys, "data", "--params", str(p), "--root", str(tmp_path))
    assert code == 2 and "not found" in err and "no-mirror" in err
    assert _files(tmp_path) == []


def test_missing_upstream_and_corrupt_checkpoint(tmp_path, repo, capsys, mirror):
    p = _params(tmp_path, repo, mirror=mirror)
    code, err = _run(capsys, "train-jscc", "--params", str(p), "--scale", "smoke", "--root", str(tmp_path))
    assert code == 2 and "run the data stage first" in err
    # a split and a truncated stage-1 checkpoint: the diffusion stage refuses it in one line
    (tmp_path / "data/mnist/seed0").mkdir(parents=True)
    torch.save({k: torch.zeros(1) for k in Split.__dataclass_fields__},
               tmp_path / "data/mnist/seed0/split.pt")
    (tmp_path / "models/mnist/seed0").mkdir(parents=True)
    (tmp_path / "models/mnist/seed0/jscc.pt").write_bytes(b"PK\x03\x04 truncated")
    code, err = _run(capsys, "train-diffusion", "--variant", "uncond", "--params", str(p), "--scale", "smoke",
                     "--root", str(tmp_path))
    assert code == 2 and "jscc.pt: unreadable or corrupt" in err
    assert not (tmp_path / "models/mnist/seed0/unet_uncond.pt").exists()


def test_missing_variant(tmp_path, repo, capsys):
    code, err = _run(capsys, "train-diffusion", "--params", str(_params(tmp_path, repo)), "--root", str(tmp_path))
    assert code == 2 and "--variant" in err


def test_real_process_exit_code(tmp_path, repo):
    p = _params(tmp_path, repo, eval__t_grid=[0, 501])
    res = subprocess.run([sys.executable, "-m", "diffsem", "check-config", "--params", str(p)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "eval.t_grid[1]" in res.stderr
