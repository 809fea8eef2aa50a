"""The one typed configuration, built from params.yaml.

``load_config(path, scale=None)`` validates the raw YAML against
``workflow/schemas/params.schema.yaml`` (the same schema Snakemake validates with), merges the
selected ``scales.<scale>`` preset over the base sections, runs the cross-field checks a schema cannot
express (T' <= T, ...) and returns frozen dataclasses.  Every problem is a ``ConfigError`` whose
message is one line naming the key, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "params.schema.yaml"
SCHEMA_VERSION = 1
# Keys added to a section after models were trained with it, each with the value that reproduces the
# behaviour from before the key existed: a checkpoint whose recorded config lacks the key matches a
# config holding it at that value (io.load_checkpoint), so adding an option does not void trained models.
LEGACY_DEFAULTS: dict[str, object] = {"cond_labels": "onehot", "precision": "fp32", "ibal_variant": "ours", "kind": "awgn",
                                      "encoder_kernel": 3, "ema_decay": 0.0, "ibal_kl_off_epochs": 5,
                                      "ibal_kl_ramp_epochs": 10, "ibal_patience": 10}
# Keys that say where inputs are: a moved project or dataset mirror does not void a trained model.
# Only the path is ignored: whether a mirror is used at all still counts (the CIFAR-10 mirror holds JPEG
# re-encodings of the images torchvision downloads, so the two sources are different data).
LOCATION_KEYS = frozenset({"mirror", "download_root"})


class ConfigError(ValueError):
    """A bad value in params.yaml (one-line message)."""


@dataclass(frozen=True)
class SourceCfg:
    """Where a catalog dataset's files are (under ``data.mirror``) and how to read or download them."""

    format: str  # "idx": {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] | "imagefolder": <path>/{train,test}/<class>/*
    path: str  # relative to data.mirror
    torchvision: str  # the torchvision dataset class that downloads it when data.mirror is "" ("" = none)
    md5: dict  # file name -> md5 of the (uncompressed) file, checked before use ({} = unchecked)
    images_per_class: dict  # {"train": n, "test": n} checked for an imagefolder ({} = unchecked)


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of params.yaml's ``catalog`` (docs/decisions.md §31)."""

    title: str  # the name figures print
    family: str  # the architecture family (models.registry.FAMILIES): table1 (1x28x28) | table2 (3x32x32)
    n_classes: int
    class_names: tuple[str, ...]  # label order (an imagefolder's class folders, by these names)
    source: SourceCfg
    resize: bool  # images of another size than the family's are resized (True) or refused (False)


@dataclass(frozen=True)
class DataCfg:
    mirror: str
    download_root: str
    adversary_fraction: float
    train_subset: int
    n_eval: int
    val_fraction: float  # stratified share of each side's training data held out for validation


@dataclass(frozen=True)
class ScheduleCfg:
    T: int
    beta_start: float
    beta_end: float


@dataclass(frozen=True)
class ChannelCfg:
    train_snr_db: float
    quantize_t2: bool
    kind: str = "awgn"  # the channel the defender trains on: awgn | rayleigh (decisions §39)


@dataclass(frozen=True)
class JsccCfg:
    epochs: int  # at most this many; early stopping on validation may end sooner (patience)
    batch_size: int
    lr: float
    t_max: int
    t_per_sample: bool  # True: every sample draws its own T' (False: one T' per batch)
    patience: int  # stop after this many epochs without a better validation metric (0 = never)
    encoder_kernel: int  # the encoder's last convolution's kernel (Table I/II give output shapes only; §40)
    ema_decay: float  # > 0: validate, select and keep a moving average of the weights (decay per step; §48)


@dataclass(frozen=True)
class DiffusionCfg:
    epochs: int
    batch_size: int
    lr: float
    n_feat: int
    p_uncond: float
    patience: int
    cond_labels: str  # E-DiffSem's training context: "onehot" (the true label) or "soft" (Theta's soft label)


@dataclass(frozen=True)
class SamplerCfg:
    max_steps: int
    ediffsem_max_iters: int
    guidance_w: float  # E-DiffSem's classifier-free guidance weight (0 = the paper's plain conditional)
    precision: str  # "fp32" | "bf16": the DDIM loop's U-Net evaluations (pipeline.denoise; decisions §35)

    def receiver_options(self) -> dict:
        """The Receivers keyword arguments this section sets (one place for every receiver built)."""
        return {"max_steps": self.max_steps, "max_iters": self.ediffsem_max_iters, "guidance": self.guidance_w,
                "precision": self.precision}


@dataclass(frozen=True)
class TrainCfg:
    epochs: int
    batch_size: int
    lr: float
    items_per_epoch: int  # 0 = every image each epoch; > 0 = a fresh random subset of that size
    patience: int


@dataclass(frozen=True)
class FinetuneCfg:
    t_values: tuple[int, ...]
    n_per_t: int
    epochs: int
    batch_size: int
    lr: float
    patience: int


@dataclass(frozen=True)
class ValidationCfg:
    """Where the designer's choices are scored: the validation slices at these T' (train SNR)."""

    t_values: tuple[int, ...]
    max_images: int  # score at most this many validation images per epoch (0 = all)


@dataclass(frozen=True)
class BaselinesCfg:
    systems: tuple[str, ...]
    ibal_epochs: int
    ibal_items_per_epoch: int  # 0 = the whole T-R split each epoch
    ibal_batch_size: int
    ibal_lr: float
    ibal_beta: float
    ibal_lambda: float
    ibal_train_snr_db: float
    ibald_snr_range_db: tuple[float, ...]
    ibal_variant: str  # "authors" (SSG2019/IBAL's recipe; docs/baselines.md, decisions §38) | "ours" (the first version)
    ibal_kl_off_epochs: int  # authors: the KL term is off for these epochs ...
    ibal_kl_ramp_epochs: int  # ... then ramps up linearly over these; the epoch is chosen only after both
    ibal_patience: int  # authors: early stopping on validation accuracy after the warm-up (0 = never)


@dataclass(frozen=True)
class EvalCfg:
    snr_db: float
    t_grid: tuple[int, ...]
    fig8_snrs: tuple[float, ...]
    fig8_t_grid: tuple[int, ...]
    fig6_t: tuple[int, ...]
    seeds: tuple[int, ...]
    batch_size: int
    full_test_t: tuple[int, ...]  # at the Fig. 4 SNR these T' are scored on every test image (headline points)
    noiseless_full_test: bool  # the noiseless bound on every test image (False: data.n_eval's subset)

    def test_part(self, t: int, snr: float) -> str:
        """Which test images a grid point is scored on: ``test_full`` at the headline points, else ``test``."""
        return "test_full" if float(snr) == float(self.snr_db) and int(t) in self.full_test_t else "test"

    def grid_points(self) -> list[tuple[int, float]]:
        """All (t, snr_db) points the evaluation covers: Fig. 4's grid plus Fig. 8's."""
        pts = [(t, float(self.snr_db)) for t in self.t_grid]
        pts += [(t, float(s)) for s in self.fig8_snrs for t in self.fig8_t_grid]
        seen: dict[tuple[int, float], None] = {}
        for p in pts:
            seen.setdefault(p, None)
        return list(seen)

    def attacker_points(self) -> list[tuple[int, float]]:
        """Grid points plus Fig. 6's t values at the Fig. 4 SNR: one adversary is trained per point."""
        pts = dict.fromkeys(self.grid_points())
        for t in self.fig6_t:
            pts.setdefault((t, float(self.snr_db)), None)
        return list(pts)


@dataclass(frozen=True)
class AttackStudyCfg:
    """Extra attackers at the headline points (issue #13; decisions §30)."""

    eve_snr_offsets_db: tuple[float, ...]  # the eavesdropper's channel this many dB below the receiver's
    query_fractions: tuple[float, ...]  # shares of the adversary's split it may query
    surrogate: tuple[str, ...]  # "classes": half the classes only; "shifted": affine + contrast shifted images
    inversion: tuple[str, ...]  # studies in which the inversion attacker is trained too (the semantic one always is)
    prior_queries: int  # the diffusion-prior attacker's queries per image for its f0 estimates (prior_attack.py)


@dataclass(frozen=True)
class FadingCfg:
    """Rayleigh block fading at evaluation (issue #15; decisions §37; `diffsem evaluate-fading`)."""

    snr_db: tuple[float, ...]  # mean SNR of both links (receiver and eavesdropper fade independently)
    t_grid: tuple[int, ...]  # self-noising steps T' scored under fading
    csit: tuple[bool, ...]  # without / with the legitimate link's gain known at the transmitter
    inversion_t: tuple[int, ...]  # T' (a subset of t_grid) where the inversion attacker also trains on faded queries
    inversion_warmup: int  # epochs of that attacker at its full learning rate before selection, decay and patience


@dataclass(frozen=True)
class Config:
    scale: str
    seed: int  # the training seed of this run (one of `seeds` in the DAG; the CLI's --seed)
    seeds: tuple[int, ...]  # the training seeds the DAG builds, each re-training every model
    datasets: tuple[str, ...]
    dataset: str | None  # the dataset whose per_dataset overrides are merged in (None: none)
    data: DataCfg
    schedule: ScheduleCfg
    channel: ChannelCfg
    jscc: JsccCfg
    diffusion: DiffusionCfg
    sampler: SamplerCfg
    adversary: TrainCfg
    strong: TrainCfg
    finetune: FinetuneCfg
    eval: EvalCfg
    baselines: BaselinesCfg
    validation: ValidationCfg
    ceiling: TrainCfg
    attack_study: AttackStudyCfg
    fading: FadingCfg
    catalog: dict[str, DatasetEntry]  # every dataset the project can build (`datasets` picks which)

    def section(self, name: str) -> dict[str, Any]:
        """A section as a plain dict (recorded in checkpoints)."""
        return asdict(getattr(self, name))

    @property
    def entry(self) -> DatasetEntry:
        """The catalog entry of this config's dataset."""
        if self.dataset is None:
            raise ValueError("this config is not merged for a dataset")
        return self.catalog[self.dataset]

    @property
    def spec(self):
        """The networks and shapes of this config's dataset (models.registry.spec_for its entry)."""
        from .models.registry import spec_for

        return spec_for(self.dataset, self.entry, self.jscc.encoder_kernel)

    def model_config(self) -> dict[str, Any]:
        """What a trained model depends on in the dataset's entry (recorded in checkpoints; its files'
        location is not)."""
        e = self.entry
        return {"family": e.family, "n_classes": e.n_classes, "resize": e.resize}


_SECTIONS = {
    "data": DataCfg, "schedule": ScheduleCfg, "channel": ChannelCfg, "jscc": JsccCfg,
    "diffusion": DiffusionCfg, "sampler": SamplerCfg, "adversary": TrainCfg, "strong": TrainCfg,
    "finetune": FinetuneCfg, "eval": EvalCfg, "baselines": BaselinesCfg, "validation": ValidationCfg,
    "ceiling": TrainCfg, "attack_study": AttackStudyCfg, "fading": FadingCfg,
}


def _load_schema() -> dict:
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _path_str(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


def validate_raw(raw: Any) -> None:
    """Schema-validate a raw params dict; raise ConfigError with the first problem, in one line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_load_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    e = errors[0]
    # the deepest, most specific error of a failing $ref/anyOf is the readable one
    while e.context:
        e = sorted(e.context, key=lambda c: -len(c.absolute_path))[0]
    key = _path_str(e.absolute_path)
    if e.validator == "additionalProperties":
        msg = f"params: unknown key under '{key}': {e.message}"
    elif e.validator == "required":
        msg = f"params: missing key under '{key}': {e.message}"
    else:
        allowed = {
            "enum": lambda: f"allowed: {e.validator_value}",
            "minimum": lambda: f"must be >= {e.validator_value}",
            "maximum": lambda: f"must be <= {e.validator_value}",
            "exclusiveMinimum": lambda: f"must be > {e.validator_value}",
            "exclusiveMaximum": lambda: f"must be < {e.validator_value}",
            "type": lambda: f"must be of type {e.validator_value}",
            "pattern": lambda: f"must match {e.validator_value}",
        }.get(e.validator, lambda: e.message)()
        msg = f"params: '{key}' = {e.instance!r} is invalid: {allowed}"
    raise ConfigError(msg.replace("\n", " "))


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _cross_checks(cfg: Config) -> None:
    T = cfg.schedule.T
    lo, hi = cfg.baselines.ibald_snr_range_db
    if lo >= hi:
        raise ConfigError(f"params: 'baselines.ibald_snr_range_db' = {[lo, hi]} is invalid: needs low < high")
    b = cfg.baselines
    if (b.ibal_variant == "authors" and {"ibal", "ibal-d"} & set(b.systems)
            and b.ibal_epochs <= b.ibal_kl_off_epochs + b.ibal_kl_ramp_epochs):
        raise ConfigError(f"params: 'baselines.ibal_epochs' = {b.ibal_epochs} is invalid: the authors' IBAL chooses its epoch "
                          f"after the KL warm-up of {b.ibal_kl_off_epochs} + {b.ibal_kl_ramp_epochs} epochs, so it needs more")
    if cfg.schedule.beta_start > cfg.schedule.beta_end:
        raise ConfigError(
            f"params: 'schedule.beta_start' = {cfg.schedule.beta_start} is invalid: must be <= schedule.beta_end = {cfg.schedule.beta_end}"
        )
    stray = sorted(set(cfg.fading.inversion_t) - set(cfg.fading.t_grid))
    if stray:
        raise ConfigError(f"params: 'fading.inversion_t' = {list(cfg.fading.inversion_t)} is invalid: {stray} not in "
                          f"fading.t_grid = {list(cfg.fading.t_grid)}")
    if cfg.fading.inversion_t and cfg.fading.inversion_warmup >= cfg.adversary.epochs:
        raise ConfigError(f"params: 'fading.inversion_warmup' = {cfg.fading.inversion_warmup} is invalid: must be below "
                          f"adversary.epochs = {cfg.adversary.epochs} (no epoch would be left to select)")
    checks = [("jscc.t_max", [cfg.jscc.t_max]), ("finetune.t_values", cfg.finetune.t_values),
              ("eval.t_grid", cfg.eval.t_grid), ("eval.fig8_t_grid", cfg.eval.fig8_t_grid),
              ("eval.fig6_t", cfg.eval.fig6_t), ("validation.t_values", cfg.validation.t_values)]
    for key, values in checks:
        for i, t in enumerate(values):
            if t > T:
                where = key if key == "jscc.t_max" else f"{key}[{i}]"
                raise ConfigError(f"params: '{where}' = {t} is invalid: T' must be <= schedule.T = {T}")


def dataset_entry(e: dict) -> DatasetEntry:
    """A catalog entry (params.yaml `catalog.<name>`, schema-validated) as a DatasetEntry."""
    src = e["source"]
    return DatasetEntry(title=e.get("title", ""), family=e["family"], n_classes=int(e["n_classes"]),
                        class_names=tuple(str(c) for c in e["class_names"]),
                        source=SourceCfg(format=src["format"], path=src["path"], torchvision=src.get("torchvision", ""),
                                         md5=dict(src.get("md5", {})), images_per_class=dict(src.get("images_per_class", {}))),
                        resize=bool(e.get("resize", False)))


def _catalog_checks(raw: dict) -> None:
    """Every dataset named anywhere is in the catalog; an entry's class names match its class count."""
    catalog = raw["catalog"]
    named = [(f"datasets[{i}]", d) for i, d in enumerate(raw["datasets"])]
    named += [("per_dataset", d) for d in raw.get("per_dataset", {})]
    named += [(f"scales.{p}.per_dataset", d) for p, pre in raw["scales"].items() for d in pre.get("per_dataset", {})]
    for where, d in named:
        if d not in catalog:
            raise ConfigError(f"params: '{where}' = {d!r} is invalid: not in the catalog (has: {', '.join(sorted(catalog))})")
    for name, e in catalog.items():
        if len(e["class_names"]) != e["n_classes"]:
            raise ConfigError(f"params: 'catalog.{name}.class_names' has {len(e['class_names'])} names for n_classes = {e['n_classes']}")


def _merged(raw: dict, scale: str, dataset: str | None = None, seed: int | None = None) -> Config:
    """base <- per_dataset[dataset] <- scales[scale] <- scales[scale].per_dataset[dataset].

    A dataset's top-level overrides are its paper settings; a scale preset then cuts them down like
    any base value, and the preset's own per-dataset entry is the most specific.
    """
    preset = raw["scales"][scale]
    merged = {k: v for k, v in raw.items() if k not in ("scales", "per_dataset")}
    if dataset is not None:
        merged = deep_merge(merged, raw.get("per_dataset", {}).get(dataset, {}))
    merged = deep_merge(merged, {k: v for k, v in preset.items() if k != "per_dataset"})
    if dataset is not None:
        merged = deep_merge(merged, preset.get("per_dataset", {}).get(dataset, {}))
    catalog = {name: dataset_entry(e) for name, e in raw["catalog"].items()}
    seeds = tuple(merged["seeds"])
    kw: dict[str, Any] = {"scale": scale, "seed": seeds[0] if seed is None else int(seed), "seeds": seeds,
                          "datasets": tuple(merged["datasets"]),
                          "dataset": dataset, "catalog": catalog}
    for name, cls in _SECTIONS.items():
        sec = dict(merged[name])
        for f in fields(cls):
            if isinstance(sec.get(f.name), list):
                sec[f.name] = tuple(sec[f.name])
        kw[name] = cls(**sec)
    return Config(**kw)


def build_config(raw: dict, scale: str | None = None, dataset: str | None = None, seed: int | None = None) -> Config:
    """Validate, merge the selected preset (and the dataset's overrides), and cross-check every scale
    for every dataset (a bad value is an error even while the selected preset happens to override it)."""
    validate_raw(raw)
    _catalog_checks(raw)
    if dataset is not None and dataset not in raw["catalog"]:
        raise ConfigError(f"unknown dataset {dataset!r}: params.yaml's catalog has {', '.join(sorted(raw['catalog']))}")
    scale = raw["scale"] if scale is None else scale
    if scale not in raw["scales"]:
        raise ConfigError(f"params: scale {scale!r} is invalid: allowed: {sorted(raw['scales'])}")
    if seed is not None and not 0 <= seed <= 2**32 - 1:
        raise ConfigError(f"--seed {seed} is invalid: a training seed is an integer in [0, 2**32 - 1]")
    cfg = _merged(raw, scale, dataset, seed)
    _cross_checks(cfg)
    named = set(raw.get("per_dataset", {})) | {d for p in raw["scales"].values() for d in p.get("per_dataset", {})}
    for other in raw["scales"]:
        for ds in [None, *sorted(set(raw["datasets"]) | named)]:
            if (other, ds) == (scale, dataset):
                continue
            try:
                _cross_checks(_merged(raw, other, ds))
            except ConfigError as exc:
                where = f"scale '{other}'" + (f", dataset '{ds}'" if ds else "")
                raise ConfigError(f"{exc} (with {where})") from None
    return cfg


def load_raw(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"params: file not found: {p}")
    try:
        with open(p) as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ConfigError(f"params: {p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"params: {p} must hold a mapping of sections, got {type(raw).__name__}")
    return raw


def load_config(path: str | Path = "params.yaml", scale: str | None = None, dataset: str | None = None,
                seed: int | None = None) -> Config:
    """The typed config for one scale and, when given, one dataset (its per_dataset overrides merged in)
    and one training seed (default: the first of params.yaml's `seeds`)."""
    return build_config(load_raw(path), scale, dataset, seed)
