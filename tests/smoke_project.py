"""The smoke-scale project the DAG tests share: its params.yaml and the Snakemake call that builds it."""

import subprocess
import sys

import yaml


def project(tmp, repo, mirror, datasets=("mnist", "cifar10"), **top):
    """A work directory whose params.yaml is the repository's, reading the dataset mirror, for ``datasets``;
    ``top`` overrides other top-level keys (``scale``, ``seeds``) where a tool reads params.yaml alone (DVC)."""
    raw = yaml.safe_load((repo / "params.yaml").read_text())
    raw["data"]["mirror"] = str(mirror)
    raw["datasets"] = list(datasets)
    raw.update(top)
    (tmp / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return tmp


def snakemake(workdir, repo, *extra, config=(), targets=()):
    # two one-thread jobs at a time: the smoke networks are too small for two threads to pay off,
    # and the two datasets' branches fill both cores
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir), *targets, "--cores", "2",
           "--max-threads", "1", "--config", "scale=smoke", *config, *extra]
    # generous: under `make test` two workers share the two cores, so a whole-DAG build takes about twice as long
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
