"""A trained run as one Python object: the one place that loads a run's artefacts.

    import diffsem
    run = diffsem.load(".", "mnist", seed=0)          # params.yaml's scale; checks every checkpoint
    z_rx, z_eve = run.transmit(x, t=300, snr_db=15.0)  # what the receiver and the eavesdropper get
    preds = run.receive(z_rx, t=300, snr_db=15.0)      # {system: predicted labels}
    x_hat = run.attack(z_eve, t=300, snr_db=15.0)      # the inversion network's reconstruction
    run.score(x, y, t=300, snr_db=15.0)                # accuracies of every receiver and the attacker

Each model is loaded on first use and kept (``functools.cached_property``), checked against the
config it was trained under (io.load_checkpoint), so a stale checkpoint is an error, not a silent
mismatch. The evaluation stage builds its receivers, attackers and ceiling from this object.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from .config import Config, load_config
from .data import to_float
from .pipeline import Link, Receivers
from .stages import (Paths, load_adversaries, load_ceiling, load_jscc, load_receiver, load_semantic, load_strong, load_unet,
                     schedule_of)

SYSTEMS = ("classifier", "classifier-ft", "diffsem", "e-diffsem", "ceiling")


@dataclass
class TrainedRun:
    """A finished run (dataset, training seed) of the pipeline; see the module docstring."""

    cfg: Config
    paths: Paths
    device: torch.device

    # ----------------------------------------------------------------- models (loaded once, on use)
    @cached_property
    def _jscc(self):
        return load_jscc(self.paths, self.cfg, self.device)

    @property
    def encoder(self) -> torch.nn.Module:
        """Phi (Table I/II encoder), stage 1."""
        return self._jscc[0]

    @property
    def classifier(self) -> torch.nn.Module:
        """Stage-1 Theta, the bypass receiver's classifier."""
        return self._jscc[1]

    @cached_property
    def link(self) -> Link:
        """Transmitter and channel (Eqs. 1-2, 17-24) around the trained encoder."""
        return Link(self.encoder, schedule_of(self.cfg), self.cfg.channel.quantize_t2)

    @cached_property
    def receivers(self) -> Receivers:
        """The bypass classifier, the classifier-ft control, DiffSem and E-DiffSem (Alg. 2's Theta each)."""
        c, d = self.cfg, self.device
        return Receivers(schedule_of(c), self.classifier, load_unet(self.paths, c, "uncond", d),
                         load_receiver(self.paths, c, "diffsem", d), load_unet(self.paths, c, "cond", d),
                         load_receiver(self.paths, c, "e-diffsem", d), **c.sampler.receiver_options(),
                         classifier_ft=load_receiver(self.paths, c, "classifier-ft", d))

    @cached_property
    def adversaries(self) -> dict[tuple[int, float], torch.nn.Module]:
        """The inversion network of each (T', SNR) attacker point."""
        return load_adversaries(self.paths, self.cfg, self.device)

    @cached_property
    def strong(self) -> torch.nn.Module:
        """The strong classifier that scores what the attacker reconstructs."""
        return load_strong(self.paths, self.cfg, self.device)

    @cached_property
    def ceiling(self) -> dict[tuple[int, float], torch.nn.Module]:
        """The feature ceiling of each grid point (decisions §26)."""
        return load_ceiling(self.paths, self.cfg, self.device)

    @cached_property
    def semantic(self) -> dict[tuple[int, float], torch.nn.Module]:
        """The semantic attacker of each attacker point (decisions §29): a classifier on the eavesdropped ẑ."""
        return load_semantic(self.paths, self.cfg, self.device)

    # ----------------------------------------------------------------- operations
    def _point(self, table: dict, t: int, snr_db: float, what: str):
        try:
            return table[(int(t), float(snr_db))]
        except KeyError:
            have = ", ".join(f"T'={a}@{b:g} dB" for a, b in sorted(table))
            raise KeyError(f"no {what} trained for T'={t} at {snr_db:g} dB (this run has: {have})") from None

    @torch.no_grad()
    def transmit(self, x: torch.Tensor, t: int, snr_db: float, generator: torch.Generator | None = None):
        """Images (uint8 or [0, 1] floats) sent at self-noising step T' = t over the channel at ``snr_db``:
        (what the receiver gets, what the eavesdropper gets), two independent channel draws (Eqs. 2, 4)."""
        x = (to_float(x) if x.dtype == torch.uint8 else x).to(self.device)
        z = self.link.transmit(self.link.features(x), int(t), snr_db, generator)
        return self.link.channel(z, snr_db, generator), self.link.channel(z, snr_db, generator)

    @torch.no_grad()
    def receive(self, z_hat: torch.Tensor, t: int, snr_db: float, systems=SYSTEMS) -> dict[str, torch.Tensor]:
        """Predicted labels of the named receivers on one received batch (Eq. 3). The ceiling is the
        feature classifier of the point: by default it is included where one was trained (the grid, not
        Fig. 6's extra T'); asked for by name at another point it is a KeyError."""
        from .evaluate import receivers_predict

        unknown = set(systems) - set(SYSTEMS)
        if unknown:
            raise ValueError(f"unknown receiver system(s) {sorted(unknown)}; choose from {list(SYSTEMS)}")
        t_start, scale = self.link.receive_step(int(t), snr_db)
        preds, _ = receivers_predict(self.receivers, z_hat.to(self.device), t_start, scale)
        asked = tuple(systems) != SYSTEMS  # named explicitly: a missing ceiling is an error, not a gap
        if "ceiling" in systems and (asked or (int(t), float(snr_db)) in self.ceiling):
            preds["ceiling"] = self._point(self.ceiling, t, snr_db, "feature ceiling")(z_hat.to(self.device)).argmax(1)
        return {s: preds[s] for s in systems if s in preds}

    @torch.no_grad()
    def attack(self, z_eve: torch.Tensor, t: int, snr_db: float) -> torch.Tensor:
        """The eavesdropper's reconstruction x_hat of what it overheard at (T', SNR) (Eq. 4)."""
        return self._point(self.adversaries, t, snr_db, "attacker")(z_eve.to(self.device)).clamp(0, 1)

    @torch.no_grad()
    def semantic_attack(self, z_eve: torch.Tensor, t: int, snr_db: float) -> torch.Tensor:
        """The semantic attacker's labels for what the eavesdropper overheard at (T', SNR) (no reconstruction)."""
        return self._point(self.semantic, t, snr_db, "semantic attacker")(z_eve.to(self.device)).argmax(1)

    @torch.no_grad()
    def score(self, x: torch.Tensor, y: torch.Tensor, t: int, snr_db: float,
              generator: torch.Generator | None = None) -> dict[str, float]:
        """Accuracy of every receiver, of the attacker (the strong classifier on its reconstruction) and,
        where this run trained one, of the semantic attacker, on one batch sent at (T', SNR): receivers
        and eavesdropper see the same transmission."""
        y = y.to(self.device)
        z_rx, z_eve = self.transmit(x, t, snr_db, generator)
        out = {s: float((p == y).float().mean()) for s, p in self.receive(z_rx, t, snr_db).items()}
        out["attacker"] = float((self.strong(self.attack(z_eve, t, snr_db)).argmax(1) == y).float().mean())
        if self.paths.semantic.is_file():
            out["semantic"] = float((self.semantic_attack(z_eve, t, snr_db) == y).float().mean())
        return out


def load(root: str | Path = ".", dataset: str = "mnist", seed: int | None = None, params: str | Path | None = None,
         scale: str | None = None, device: str | torch.device = "cpu") -> TrainedRun:
    """The trained run of ``dataset`` and training ``seed`` under ``root`` (params from ``root/params.yaml``
    unless given; ``scale`` and ``seed`` default to params.yaml's)."""
    root = Path(root)
    cfg = load_config(params if params is not None else root / "params.yaml", scale, dataset, seed)
    return TrainedRun(cfg, Paths.of(root, cfg), torch.device(device))
