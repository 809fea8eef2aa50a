#!/usr/bin/env bash
# One sitting on a lent GPU box (issue #14), run from the repository root there:
#   bash scripts/gpu_sitting.sh PLAN BUDGET_S [bench]
# PLAN: a `python -m diffsem.steps plan` file; BUDGET_S: seconds this command may take in all.
# Expects, carried from the workstation (all git-ignored): .whl/ (jsonschema and its needs, which the box
# lacks), .gpu/MNIST/*.gz (the MNIST mirror's IDX files, gzipped) and, from an earlier sitting whose
# machine was given back, .gpu/state/state.tar.part-* (models/ and reports/ as they were left).
# DIFFSEM_CUDA_GRAPHS=1 in the environment switches the receivers' CUDA graphs on (decisions §36).
# Writes to $OUT: the bench (with "bench"), the step runner's log, every job's log, and the state to carry
# into the next sitting.  Never used by the tests or CI (they have no GPU).
set -uo pipefail
PLAN=$1
BUDGET=$2
T0=$(date +%s)
OUT=${OUT:-/tmp/diffsem-out}
mkdir -p "$OUT"
python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
mkdir -p /tmp/bin
printf '#!/bin/sh\nexec python3 -m diffsem "$@"\n' >/tmp/bin/diffsem
chmod +x /tmp/bin/diffsem
export PATH=/tmp/bin:$PATH
mkdir -p ../shared/datasets/MNIST/raw
for f in .gpu/MNIST/*.gz; do
    b=../shared/datasets/MNIST/raw/$(basename "$f" .gz)
    [ -f "$b" ] || gunzip -c "$f" >"$b"
done
if ls .gpu/state/state.tar.part-* >/dev/null 2>&1 && [ ! -d models ]; then
    cat .gpu/state/state.tar.part-* | tar xf - && echo "sitting: state restored from the last sitting"
fi
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
if [ "${3:-}" = bench ]; then
    python3 -m pytest -q -p no:cacheprovider tests/test_cuda_graph.py 2>&1 | tail -3  # the graph path on this GPU
    timeout 240 python3 -m diffsem.bench_variants --out "$OUT/bench_variants.json" 2>&1 | tee "$OUT/bench_variants.log"
    # the fast receiver: the step cap receiver-search picked on validation at `cpu` scale (params.yaml: 1)
    timeout 90 python3 -m diffsem.bench_variants --max-steps 1 --variants fp32,tf32,tf32+graph \
        --out "$OUT/bench_variants_fast.json" 2>&1 | tee "$OUT/bench_variants_fast.log"
fi
left=$((BUDGET - ($(date +%s) - T0) - 45))
python3 -m diffsem.steps run "$PLAN" --budget-s "$left" --jobs 4 2>&1 | tee "$OUT/steps.log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 1 ]; then  # a job failed: its log's end says why
    for f in $(ls -t logs/*/*/*.log 2>/dev/null | head -2); do echo "== $f"; tail -25 "$f"; done
fi
grep -h "epoch" logs/*/*/*.log 2>/dev/null | tail -5
tar czf "$OUT/logs.tgz" logs benchmarks reports 2>/dev/null
# the state for the next sitting, should this machine be given back: finished models under 16 MB and the
# reports, if together they fit what comes back (≈ 56 MB).  At `paper` scale the per-point attackers and
# the ceiling (hundreds of MB) do not: those stages re-run in a fresh sitting, and resume files never travel.
find models reports -path '*/resume' -prune -o -type f -size -16M ! -name '*_samples.pt' -print 2>/dev/null >/tmp/state.list
kb=$(xargs -a /tmp/state.list du -ck 2>/dev/null | tail -1 | cut -f1)
if [ "${kb:-0}" -lt 57000 ]; then
    tar cf - -T /tmp/state.list | split -b 15M - "$OUT/state.tar.part-"
else
    echo "sitting: state of ${kb} kB is too large to carry back; a fresh sitting re-runs the unfinished stages"
fi
ls -la "$OUT"
echo "sitting: steps exit $rc after $(($(date +%s) - T0)) s"
