"""A training stage killed with SIGKILL mid-run resumes from its last epoch and ends bit-identical."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml


def _setup(root, repo, mirror):
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["data"]["mirror"] = str(mirror)
    raw["scales"]["smoke"]["jscc"] = {"epochs": 12, "batch_size": 8}
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    cmd = [sys.executable, "-m", "diffsem", "data", "--params", str(root / "params.yaml"), "--scale", "smoke",
           "--root", str(root), "--threads", "1"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)


def _train_cmd(root):
    return [sys.executable, "-m", "diffsem", "train-jscc", "--params", str(root / "params.yaml"), "--scale", "smoke",
            "--root", str(root), "--threads", "1"]


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state"]


def test_sigkill_then_resume_is_bit_identical(tmp_path, repo, mirror):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _setup(a, repo, mirror)
    _setup(b, repo, mirror)

    subprocess.run(_train_cmd(a), check=True, capture_output=True, timeout=600)

    resume = b / "models/mnist/seed0/resume/jscc.pt"
    proc = subprocess.Popen(_train_cmd(b), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while not resume.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere inside a later epoch
    if proc.poll() is not None:
        pytest.skip("training finished before it could be killed (machine too fast for this test's sizes)")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (b / "models/mnist/seed0/jscc.pt").exists()  # nothing a rerun would take as done
    assert not list((b / "models/mnist/seed0").glob(".*.tmp"))

    out = subprocess.run(_train_cmd(b), check=True, capture_output=True, text=True, timeout=600).stdout
    assert "resuming from" in out
    wa, wb = _weights(a / "models/mnist/seed0/jscc.pt"), _weights(b / "models/mnist/seed0/jscc.pt")
    for part in ("encoder", "classifier"):
        for k in wa[part]:
            assert torch.equal(wa[part][k], wb[part][k]), f"{part}.{k} differs after resume"
    # the learning curve (validation metric per epoch, selected epoch) is restored with the state
    curve = "reports/mnist/seed0/curves/jscc.csv"
    assert (a / curve).read_text() == (b / curve).read_text()
