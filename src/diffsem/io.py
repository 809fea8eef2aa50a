"""Atomic file output and safe checkpoints.

Everything a stage writes goes through ``atomic_path``: the content is written to a temporary name in
the same directory and renamed into place, so a killed job never leaves a file a rerun would take as
complete.  Checkpoints are plain ``{"meta": ..., "state": ...}`` dicts of tensors and primitives,
loaded with ``torch.load(weights_only=True)``; ``meta`` records the schema version, the kind of
checkpoint, the architecture and the config sections the model was trained with.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch

from .config import LEGACY_DEFAULTS, LOCATION_KEYS, SCHEMA_VERSION


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used (one-line message)."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_checkpoint(path: str | Path, state: dict[str, Any], kind: str, arch: dict[str, Any], config: dict[str, Any]) -> None:
    meta = {"schema_version": SCHEMA_VERSION, "kind": kind, "arch": arch, "config": config}
    with atomic_path(path) as tmp:
        torch.save({"meta": meta, "state": state}, tmp)


def load_checkpoint(
    path: str | Path, kind: str, arch: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Load and check a checkpoint; returns its ``state``.  Every failure is a one-line CheckpointError."""
    return read_checkpoint(path, kind, arch, config)[1]


def read_checkpoint(
    path: str | Path, kind: str, arch: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``load_checkpoint``'s checks, returning ``(meta, state)``: for the tools that rebuild a model from
    the architecture and config it was trained with, so the file is read once."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: file not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"checkpoint {path}: refused: it holds pickled Python objects, not only tensors") from None
    except Exception as exc:  # truncated zip, not a torch file ...
        reason = "truncated or not a torch file" if "zip" in str(exc) or "EOF" in str(exc) else type(exc).__name__
        raise CheckpointError(f"checkpoint {path}: unreadable or corrupt ({reason})") from None
    if not isinstance(blob, dict) or "meta" not in blob or "state" not in blob:
        raise CheckpointError(f"checkpoint {path}: not a diffsem checkpoint (no meta/state)")
    meta = blob["meta"]
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(f"checkpoint {path}: schema version {meta.get('schema_version')} != {SCHEMA_VERSION}; retrain")
    if meta.get("kind") != kind:
        raise CheckpointError(f"checkpoint {path}: holds a {meta.get('kind')!r} model, expected {kind!r}")
    if arch is not None and meta.get("arch") != arch:
        raise CheckpointError(f"checkpoint {path}: architecture {meta.get('arch')} differs from the expected {arch}")
    if config is not None:
        config, recorded = without_locations(as_recorded(config, meta.get("config"))), without_locations(meta.get("config"))
    if config is not None and recorded != config:
        diff = sorted(k for k in set(config) | set(recorded or {}) if config.get(k) != (recorded or {}).get(k))
        raise CheckpointError(f"checkpoint {path}: trained with a different config (differs in: {', '.join(diff)}); rerun its stage")
    return meta, blob["state"]


def without_locations(config: Any) -> Any:
    """``config`` with config.LOCATION_KEYS at any depth reduced to what they mean for the data: a
    mirror's path becomes "mirror" (empty stays empty: torchvision's download), the download folder goes."""
    if not isinstance(config, dict):
        return config
    return {k: ("mirror" if v else "") if k == "mirror" else without_locations(v)
            for k, v in config.items() if k not in LOCATION_KEYS or k == "mirror"}


def as_recorded(config: Any, recorded: Any) -> Any:
    """``config`` without the keys that ``recorded`` predates (config.LEGACY_DEFAULTS, at their legacy
    value), for comparing a current config with the one a checkpoint was trained under."""
    if not isinstance(config, dict) or not isinstance(recorded, dict):
        return config
    return {k: as_recorded(v, recorded.get(k)) for k, v in config.items()
            if k in recorded or k not in LEGACY_DEFAULTS or v != LEGACY_DEFAULTS[k]}


def load_module_state(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path}: weights do not fit {type(module).__name__} ({str(exc).splitlines()[0][:160]})") from None
