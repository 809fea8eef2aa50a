"""Command-line entry points: one subcommand per pipeline stage (`diffsem <stage> --dataset mnist`).

Every command validates params.yaml and its inputs first; any known problem ends with a one-line
``diffsem: error: ...`` on stderr and exit status 2, before long work starts and without output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import ConfigError, load_config

STAGES = ["data", "train-jscc", "train-diffusion", "train-adversary", "train-strong", "train-ceiling", "train-semantic", "finetune", "evaluate", "evaluate-semantic", "attack-study", "attack-protocol", "attack-prior", "evaluate-fading",
          "train-ibal", "attack-baseline", "evaluate-baseline", "collect", "figures", "bench", "receiver-search", "guidance-search", "ibal-sweep", "summarize-seeds", "check-config"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="diffsem", description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=STAGES)
    p.add_argument("--params", default="params.yaml", help="path to params.yaml")
    p.add_argument("--scale", default=None, help="override params.yaml's `scale` (smoke|cpu|paper)")
    p.add_argument("--dataset", default=None, help="dataset name (one of params.yaml's `datasets`)")
    p.add_argument("--root", default=".", help="project root holding data/, models/, reports/")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed of the run (default: the first of params.yaml's `seeds`); artefacts under <kind>/<ds>/seed<k>/")
    p.add_argument("--variant", choices=["uncond", "cond"], help="train-diffusion: DiffSem (uncond) or E-DiffSem (cond)")
    p.add_argument("--system", choices=["classifier-ft", "diffsem", "e-diffsem", "direct", "permutation", "ibal", "ibal-d"],
                   help="finetune: classifier-ft|diffsem|e-diffsem; train-ibal: ibal|ibal-d; attack-baseline: ibal|ibal-d|permutation; "
                        "evaluate-baseline: direct|permutation|ibal|ibal-d; train-semantic, evaluate-semantic: whose transmitter "
                        "the semantic attacker attacks, diffsem (default)|ibal|ibal-d; evaluate-fading: diffsem (default)|direct|permutation|ibal|ibal-d; ibal-sweep: ibal (default)|ibal-d")
    p.add_argument("--seeds", default=None,
                   help="summarize-seeds: training seeds to summarise, comma-separated (default: params.yaml's `seeds`)")
    p.add_argument("--steps", default="50,20,10,5,3,2,1",
                   help="receiver-search: DDIM step caps to try, comma-separated; the first is the reference (the paper's 50)")
    p.add_argument("--weights", default="0,0.5,1,2",
                   help="guidance-search: E-DiffSem classifier-free guidance weights w, comma-separated")
    p.add_argument("--lambdas", default="0,0.03,0.1,0.3,1", help="ibal-sweep: privacy weights, comma-separated")
    p.add_argument("--betas", default="1e-3", help="ibal-sweep: bottleneck weights, comma-separated")
    p.add_argument("--append", action="store_true",
                   help="ibal-sweep: keep the existing CSV's rows for (lambda, beta) pairs this run does not redo")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:n]")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = all cores available)")
    p.add_argument("--cuda-graphs", action="store_true",
                   help="on a GPU, replay the receivers' DDIM loops from CUDA graphs (also DIFFSEM_CUDA_GRAPHS=1)")
    return p


def _num_list(text: str, flag: str, cast=float, minimum: float = 0) -> list:
    """Comma-separated numbers of a CLI flag, each cast and >= minimum (one-line errors)."""
    kind = "integers" if cast is int else "numbers"
    try:
        vals = [cast(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated {kind}, got {text!r}") from None
    if not vals or min(vals) < minimum:
        raise ValueError(f"{flag} needs {kind} >= {minimum:g}, got {text!r}")
    return vals


def add_run_arguments(ap: argparse.ArgumentParser, dataset: str = "mnist", scale: str = "cpu") -> None:
    """The arguments that name a trained run, for scripts that read one (scripts/*.py)."""
    ap.add_argument("--params", default="params.yaml", help="path to params.yaml")
    ap.add_argument("--scale", default=scale, help="smoke|cpu|paper")
    ap.add_argument("--dataset", default=dataset)
    ap.add_argument("--root", default=".", help="project root holding data/, models/, reports/")
    ap.add_argument("--seed", type=int, default=None, help="training seed (default: the first of params.yaml's `seeds`)")


def run_of(args):
    """(config, Paths) of the run named by `add_run_arguments`' arguments (ConfigError on a bad one)."""
    from .stages import Paths

    cfg = load_config(args.params, args.scale, args.dataset, args.seed)
    return cfg, Paths.of(args.root, cfg)


def require_eavesdropper_side(paths) -> None:
    """FileNotFoundError naming the first missing artefact of a run's eavesdropper side (stage 1 and stage 3:
    what the scripts that score the paper's attacker without the receivers need)."""
    missing = [p for p in (paths.split, paths.jscc, paths.adversary, paths.strong) if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]} not found: train the run's stage 1 and stage 3 first (snakemake {paths.strong})")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .data import DataError
    from .io import CheckpointError
    from .training import TrainingError

    try:
        return _run(args)
    except (ConfigError, DataError, CheckpointError, TrainingError, ValueError, FileNotFoundError, KeyError) as exc:
        print(f"diffsem: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2


def _run(args) -> int:
    cfg = load_config(args.params, args.scale)
    if args.stage == "check-config":
        print(f"params ok: scale={cfg.scale}, datasets={','.join(cfg.datasets)}")
        return 0
    ds = args.dataset or cfg.datasets[0]
    if ds not in cfg.catalog:  # any catalog dataset, listed in `datasets` or not (snakemake --config datasets=[...])
        raise ValueError(f"unknown dataset {ds!r}; params.yaml's catalog has: {', '.join(sorted(cfg.catalog))}")
    if args.stage != "bench":  # bench covers every dataset, each with its own config
        cfg = load_config(args.params, args.scale, ds, args.seed)
    if args.stage == "train-diffusion" and not args.variant:
        raise ValueError("train-diffusion needs --variant uncond|cond")
    allowed = {"finetune": ("classifier-ft", "diffsem", "e-diffsem"), "train-ibal": ("ibal", "ibal-d"), "ibal-sweep": ("ibal", "ibal-d"),
               "attack-baseline": ("ibal", "ibal-d", "permutation"),
               "evaluate-baseline": ("direct", "permutation", "ibal", "ibal-d"),
               "train-semantic": ("diffsem", "ibal", "ibal-d"), "evaluate-semantic": ("diffsem", "ibal", "ibal-d"),
               "evaluate-fading": ("diffsem", "direct", "permutation", "ibal", "ibal-d")}
    if args.stage in ("train-semantic", "evaluate-semantic", "evaluate-fading") and args.system is None:
        args.system = "diffsem"  # the semantic attacker on DiffSem's transmitter
    if args.stage == "ibal-sweep" and args.system is None:
        args.system = "ibal"
    if args.stage in allowed and args.system not in allowed[args.stage]:
        raise ValueError(f"{args.stage} needs --system {'|'.join(allowed[args.stage])}")

    from . import stages
    from .runtime import pick_device, seed_everything, set_cuda_graphs, setup_threads

    setup_threads(args.threads)
    if args.cuda_graphs:
        set_cuda_graphs(True)
    seed_everything(cfg.seed)
    device = pick_device(args.device)
    paths = stages.Paths(Path(args.root), ds, cfg.seed)
    t0 = time.time()
    print(f"diffsem {args.stage} dataset={ds} seed={cfg.seed} scale={cfg.scale} device={device}", flush=True)
    if args.stage == "data":
        s = stages.stage_data(cfg, paths)
        print(f"split: {s['counts']}")
    elif args.stage == "train-jscc":
        stages.stage_jscc(cfg, paths, device)
    elif args.stage == "train-diffusion":
        stages.stage_diffusion(cfg, paths, args.variant, device)
    elif args.stage == "train-adversary":
        stages.stage_adversary(cfg, paths, device)
    elif args.stage == "train-strong":
        stages.stage_strong(cfg, paths, device)
    elif args.stage == "train-ceiling":
        for key, acc in stages.stage_ceiling(cfg, paths, device).items():
            print(f"ceiling {key}: validation accuracy {acc:.4f}")
    elif args.stage == "train-semantic":
        for key, acc in stages.stage_semantic(cfg, paths, device, args.system).items():
            print(f"semantic attacker on {args.system} {key}: validation accuracy {acc:.4f} (adversary's validation slice)")
    elif args.stage == "evaluate-semantic":
        from .evaluate import stage_evaluate_semantic

        stage_evaluate_semantic(cfg, paths, device, args.system)
    elif args.stage == "finetune":
        stages.stage_finetune(cfg, paths, args.system, device)
    elif args.stage == "evaluate":
        from .evaluate import stage_evaluate

        stage_evaluate(cfg, paths, device)
    elif args.stage == "attack-study":
        from .attack_study import stage_attack_study

        stage_attack_study(cfg, paths, device)
    elif args.stage == "attack-prior":
        from .prior_attack import stage_prior_attack

        stage_prior_attack(cfg, paths, device)
    elif args.stage == "attack-protocol":
        from .attack_study import stage_attack_protocol

        stage_attack_protocol(cfg, paths, device)
    elif args.stage == "evaluate-fading":
        from .fading_eval import stage_evaluate_fading

        stage_evaluate_fading(cfg, paths, device, args.system)
    elif args.stage == "train-ibal":
        from .baseline_stages import stage_train_ibal

        stage_train_ibal(cfg, paths, args.system, device)
    elif args.stage == "attack-baseline":
        from .baseline_stages import stage_attack_ibal, stage_strong_permutation

        if args.system == "permutation":
            stage_strong_permutation(cfg, paths, device)
        else:
            stage_attack_ibal(cfg, paths, args.system, device)
    elif args.stage == "evaluate-baseline":
        from .baseline_stages import stage_evaluate_baseline

        stage_evaluate_baseline(cfg, paths, args.system, device)
    elif args.stage == "collect":
        from .evaluate import stage_collect

        stage_collect(cfg, paths)
    elif args.stage == "bench":
        from .bench import print_table, run_bench

        # every catalog dataset (its trained models when present, else fresh ones of the same cost)
        names = [args.dataset] if args.dataset else list(dict.fromkeys([*cfg.datasets, *cfg.catalog]))
        cfgs = {d: load_config(args.params, args.scale, d, args.seed) for d in names}
        print_table(run_bench(cfgs, device, Path(args.root) / "reports" / "bench.json", args.root))
    elif args.stage == "receiver-search":
        from .receiver_search import search

        r = search(cfg, paths, device, _num_list(args.steps, "--steps", int, 1))
        print(f"fast receiver: {r['fast_receiver']}")
    elif args.stage == "guidance-search":
        from .receiver_search import guidance_search

        df = guidance_search(cfg, paths, device, _num_list(args.weights, "--weights"))
        print(f"picked w = {float(df[df.picked].guidance_w.iloc[0]):g} (validation)")
    elif args.stage == "ibal-sweep":
        from .ibal_sweep import sweep

        sweep(cfg, paths, device, _num_list(args.lambdas, "--lambdas"), _num_list(args.betas, "--betas"),
              append=args.append, system=args.system or "ibal")
    elif args.stage == "summarize-seeds":
        from .seeds import summarize_runs

        seeds = _num_list(args.seeds, "--seeds", int) if args.seeds else list(cfg.seeds)
        runs = {k: stages.Paths(Path(args.root), ds, k).metrics_csv for k in seeds}
        df = summarize_runs(runs, stages.headline_points(cfg), ds)
        from .io import atomic_path

        with atomic_path(paths.seeds_summary) as tmp:
            df.to_csv(tmp, index=False)
        print(f"wrote {paths.seeds_summary} ({len(seeds)} seed(s))")
        from .figures import frontier_across_seeds
        from .frontier import frontier_runs

        front = frontier_runs(runs, ds)
        with atomic_path(paths.seeds_frontier) as tmp:
            front.to_csv(tmp, index=False, float_format="%.6g")
        frontier_across_seeds(front, float(cfg.eval.snr_db), paths.seeds_frontier_figure, cfg.entry.title or ds)
        print(f"wrote {paths.seeds_frontier} and {paths.seeds_frontier_figure}")
    elif args.stage == "figures":
        from .figures import make_all

        for p in make_all(cfg, paths, stages.schedule_of(cfg)):
            print(f"wrote {p}")
    print(f"diffsem {args.stage} done in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
