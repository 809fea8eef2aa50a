"""The torchvision download branch (`data.mirror: ""`), run without network: a local HTTP server on
127.0.0.1 serves small archives in each dataset's published format, and torchvision is pointed at it
(MNIST through its mirror list, CIFAR-10 through its single URL), with the checksums it verifies
patched to those of the test's archives."""

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading

import numpy as np
import pytest
import torch
import torchvision

from diffsem.config import DataCfg
from diffsem.data import DataError, load_raw_dataset


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


@pytest.fixture
def server(tmp_path):
    """(base URL, folder it serves)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()


def _entry(name):
    """A dataset's entry in the project's catalog (params.yaml)."""
    from pathlib import Path

    from diffsem.config import load_config

    return load_config(Path(__file__).resolve().parents[1] / "params.yaml").catalog[name]


def _cfg(tmp_path):
    return DataCfg(mirror="", download_root=str(tmp_path / "download"), adversary_fraction=0.4, train_subset=0,
                   n_eval=0, val_fraction=0.1)


def _idx_images(x: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes()


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(y)) + y.tobytes()


def test_mnist_downloads_through_torchvision(server, tmp_path, monkeypatch):
    url, root = server
    rng = np.random.default_rng(0)
    parts = {"train": (rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60, dtype=np.uint8)),
             "t10k": (rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), rng.integers(0, 10, 20, dtype=np.uint8))}
    resources = []
    for part, (x, y) in parts.items():
        for name, blob in ((f"{part}-images-idx3-ubyte.gz", _idx_images(x)), (f"{part}-labels-idx1-ubyte.gz", _idx_labels(y))):
            gz = gzip.compress(blob)
            (root / name).write_bytes(gz)
            resources.append((name, _md5(gz)))
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [url])
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    tr_x, tr_y, te_x, te_y = load_raw_dataset("mnist", _cfg(tmp_path), _entry("mnist"))
    assert tr_x.shape == (60, 1, 28, 28) and te_x.shape == (20, 1, 28, 28) and tr_x.dtype == torch.uint8
    assert torch.equal(tr_x[:, 0], torch.from_numpy(parts["train"][0])) and torch.equal(te_y, torch.from_numpy(parts["t10k"][1]).long())
    assert (tmp_path / "download" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_cifar10_downloads_through_torchvision(server, tmp_path, monkeypatch):
    url, root = server
    rng = np.random.default_rng(1)
    batches, tar_buf = {}, io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        def add(name, obj):
            blob = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
            return _md5(blob)

        md5 = {}
        for name, n in [*((f"data_batch_{i}", 4) for i in range(1, 6)), ("test_batch", 6)]:
            data, labels = rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()
            batches[name] = (data, labels)
            md5[name] = add(name, {"data": data, "labels": labels})
        md5["batches.meta"] = add("batches.meta", {"label_names": [f"class{i}" for i in range(10)]})
    (root / "cifar-10-python.tar.gz").write_bytes(tar_buf.getvalue())
    C = torchvision.datasets.CIFAR10
    monkeypatch.setattr(C, "url", url + "cifar-10-python.tar.gz")
    monkeypatch.setattr(C, "tgz_md5", _md5(tar_buf.getvalue()))
    monkeypatch.setattr(C, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(C, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(C, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]})
    tr_x, tr_y, te_x, te_y = load_raw_dataset("cifar10", _cfg(tmp_path), _entry("cifar10"))
    assert tr_x.shape == (20, 3, 32, 32) and te_x.shape == (6, 3, 32, 32) and tr_x.dtype == torch.uint8
    want = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert torch.equal(tr_x, torch.from_numpy(want)) and te_y.tolist() == batches["test_batch"][1]


def test_failed_download_is_a_one_line_data_error(server, tmp_path, monkeypatch):
    url, _ = server  # serves nothing: every file is a 404
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [url])
    with pytest.raises(DataError, match="could not load MNIST"):
        load_raw_dataset("mnist", _cfg(tmp_path), _entry("mnist"))
