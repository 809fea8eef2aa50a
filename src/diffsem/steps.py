"""A step runner for machines without Snakemake (issue #14: the lent GPU box), derived from the one DAG.

``plan`` asks Snakemake (here, where it is installed) for every job of the DAG — a forced dry run with
the shell commands — and writes them in dependency order to a small JSON file; nothing about the DAG
is written by hand.  ``run`` executes that plan anywhere the package is installed: it skips jobs whose
outputs exist, runs the rest in order, and stops cleanly when its time budget is spent (the running job
is terminated; every training stage resumes from its last finished epoch on the next ``run``, and the
CLI writes outputs atomically, so a stopped job leaves nothing half-written).  Exit codes: 0 all done,
3 budget spent (run again to continue), 1 a job failed.

    python -m diffsem.steps plan --out steps.json --config scale=paper --cores 16   # where Snakemake is
    python -m diffsem.steps run steps.json --budget-s 540 --jobs 4        # on the GPU box, repeatedly
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

DONE, BUDGET, FAILED = 0, 3, 1


def parse_dry_run(text: str) -> list[dict]:
    """Snakemake's ``-n -p`` output -> jobs {jobid, rule, inputs, outputs, logs, cmd} (``cmd`` None for a
    rule without a shell command, e.g. ``all``)."""
    jobs = []
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", text):
        m = re.search(r"^(?:local)?rule (\w+):\n(.*?)(?=\n\S|\Z)", block, re.S | re.M)
        if not m:
            continue
        fields = dict(re.findall(r"^    (\w+): (.*)$", m.group(2), re.M))
        cmd = re.search(r"^Shell command: (.*)$", block, re.M)
        split = lambda key: [p.strip() for p in fields.get(key, "").split(",") if p.strip()]  # noqa: E731
        jobs.append({"jobid": int(fields["jobid"]), "rule": m.group(1), "inputs": split("input"),
                     "outputs": split("output"), "logs": split("log"), "cmd": cmd.group(1) if cmd else None})
    return jobs


def order(jobs: list[dict]) -> list[dict]:
    """Jobs in dependency order (a job after every job that makes one of its inputs); raises on a cycle."""
    maker = {o: j["jobid"] for j in jobs for o in j["outputs"]}
    deps = {j["jobid"]: {maker[i] for i in j["inputs"] if i in maker} for j in jobs}
    by_id, out, done = {j["jobid"]: j for j in jobs}, [], set()
    while len(out) < len(jobs):
        ready = sorted(k for k, d in deps.items() if k not in done and d <= done)
        if not ready:
            raise ValueError(f"steps: the plan has a dependency cycle among jobs {sorted(set(deps) - done)}")
        for k in ready:
            out.append(by_id[k])
            done.add(k)
    return out


def plan(snakefile: Path, workdir: Path, config: list[str], targets: list[str], cores: int) -> list[dict]:
    """Every job of the DAG for ``targets`` (all by default), forced, in dependency order; ``cores``: the
    machine the plan is for (each job's threads, min(8, cores), are baked into its command)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), "--cores", str(cores), "-n", "-p",
           "--forceall", *targets, *(["--config", *config] if config else [])]  # --config takes every word after it
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"steps plan: snakemake's dry run failed: {res.stderr.strip().splitlines()[-1:]}")
    jobs = parse_dry_run(res.stdout + res.stderr)
    if not jobs:
        raise RuntimeError("steps plan: snakemake's dry run listed no jobs")
    return order(jobs)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a job's whole process group (SIGTERM, then SIGKILL after 10 s)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def run(steps: list[dict], workdir: Path, budget_s: float, say=print, jobs: int = 1) -> int:
    """Run the plan's unfinished jobs within ``budget_s`` seconds (see the module docstring), up to ``jobs``
    at a time: a job starts once every job that makes one of its inputs has finished (a GPU box has cores
    and device memory to spare for the small networks, so independent stages can share it)."""
    start = time.monotonic()
    maker = {o: j["jobid"] for j in steps for o in j["outputs"]}
    todo = [j for j in steps if j["cmd"] is not None and not all((workdir / o).exists() for o in j["outputs"])]
    pending_ids = {j["jobid"] for j in todo}
    running: dict[int, tuple[dict, subprocess.Popen]] = {}

    def stop_all(reason: str) -> int:
        for job, proc in running.values():
            _stop(proc)
        names = ", ".join(sorted(job["rule"] for job, _ in running.values())) or "none"
        say(f"steps: budget of {budget_s:g} s spent {reason} (running: {names}; each resumes from its last "
            "finished epoch on the next run); run again to continue")
        return BUDGET

    while todo or running:
        left = budget_s - (time.monotonic() - start)
        if left <= 0:
            return stop_all("before the remaining jobs" if not running else "while jobs ran")
        ready = [j for j in todo if not ({maker[i] for i in j["inputs"] if i in maker} & pending_ids)]
        while ready and len(running) < max(1, jobs):
            job = ready.pop(0)
            todo.remove(job)
            for p in [*job["outputs"], *job["logs"]]:
                (workdir / p).parent.mkdir(parents=True, exist_ok=True)
            say(f"steps: rule {job['rule']} (job {job['jobid']}): {job['cmd']}")
            running[job["jobid"]] = job, subprocess.Popen(job["cmd"], shell=True, cwd=workdir, start_new_session=True)
        if not running:  # nothing can start: an input is made by no job of the plan and is missing
            say(f"steps: rule {todo[0]['rule']} waits on inputs no job makes")
            return FAILED
        time.sleep(min(0.2, max(0.0, left)))
        for jid, (job, proc) in list(running.items()):
            rc = proc.poll()
            if rc is None:
                continue
            del running[jid]
            pending_ids.discard(jid)
            if rc != 0:
                logs = ", ".join(job["logs"]) or "no log"
                say(f"steps: rule {job['rule']} failed with exit code {rc} (log: {logs})")
                for _, other in running.values():
                    _stop(other)
                return FAILED
            missing = [o for o in job["outputs"] if not (workdir / o).exists()]
            if missing:
                say(f"steps: rule {job['rule']} finished without writing {missing[0]}")
                for _, other in running.values():
                    _stop(other)
                return FAILED
            say(f"steps: rule {job['rule']} (job {jid}) done at {time.monotonic() - start:.0f} s")
    say("steps: every job is done")
    return DONE


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("plan", help="write the DAG's jobs in dependency order (needs Snakemake)")
    p.add_argument("--snakefile", default="Snakefile")
    p.add_argument("--workdir", default=".")
    p.add_argument("--config", action="append", default=[], help="KEY=VALUE as snakemake --config (repeat), e.g. scale=paper")
    p.add_argument("--out", default="steps.json")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="CPU cores of the machine the plan is for")
    p.add_argument("targets", nargs="*")
    r = sub.add_parser("run", help="run a plan's unfinished jobs within a time budget (no Snakemake needed)")
    r.add_argument("plan")
    r.add_argument("--workdir", default=".")
    r.add_argument("--budget-s", type=float, required=True, help="stop (resumably) after this many seconds")
    r.add_argument("--jobs", type=int, default=1, help="run up to this many independent jobs at once")
    a = ap.parse_args(argv)
    if a.what == "plan":
        steps = plan(Path(a.snakefile).resolve(), Path(a.workdir).resolve(), a.config, a.targets, a.cores)
        Path(a.out).write_text(json.dumps(steps, indent=1))
        print(f"steps: {sum(j['cmd'] is not None for j in steps)} jobs -> {a.out}")
        return 0
    path = Path(a.plan)
    if not path.is_file():
        print(f"steps: no plan file {path}", file=sys.stderr)
        return 2
    if a.budget_s <= 0:
        print(f"steps: --budget-s must be positive, got {a.budget_s:g}", file=sys.stderr)
        return 2
    return run(json.loads(path.read_text()), Path(a.workdir), a.budget_s, jobs=a.jobs)


if __name__ == "__main__":
    raise SystemExit(main())
