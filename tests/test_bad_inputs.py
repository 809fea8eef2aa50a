"""Every catalogued bad input: exit 2, one line naming the problem, and no new output written."""

import pytest
import torch

from bad_inputs import CASES, materialise
from diffsem.cli import main
from diffsem.training import TrainingError, fit, make_optimizer


def _snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, repo, mirror, capsys):
    argv = materialise(case, tmp_path, repo, mirror)
    before = _snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("diffsem: error: ")
    assert case.expect in err, err
    assert _snapshot(tmp_path) == before  # nothing new, nothing rewritten


def test_nan_loss_stops_training(tmp_path):
    net = torch.nn.Linear(2, 1)
    opt, sched = make_optimizer(net.parameters(), 1e-3)
    calls = []

    def step(idx):
        calls.append(1)
        return net(torch.ones(idx.numel(), 2)).sum() * (float("nan") if len(calls) == 3 else 1.0)

    with pytest.raises(TrainingError, match=r"stage-x: loss became nan at epoch 1, step 2"):
        fit("stage-x", {"m": net}, opt, sched, 2, 40, 8, torch.Generator().manual_seed(0), step,
            tmp_path / "resume.pt", {})
    assert not (tmp_path / "resume.pt").exists()
