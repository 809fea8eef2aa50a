#!/bin/bash
# `make slurm-test`: the SLURM profile on a real single-node Slurm (issue #14; docs/slurm.md).
# Starts the localhost cluster (scripts/slurm_cluster.sh), runs the whole smoke DAG through sbatch with
# workflow/profiles/slurm, cancels the U-Net's training job (scancel) after its third epoch and checks
# that Snakemake's retry resumed it from its checkpoint, that every GPU rule ran with a GPU allocated,
# and that the run produced metrics.csv.  Needs root for the cluster (slurm_cluster.sh install once).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${DIFFSEM_MIRROR:-$(cd "$REPO/.." && pwd)/shared/datasets}
PY=${PY:-python3}

[ -d "$MIRROR/MNIST/raw" ] || { echo "slurm_test.sh: no dataset mirror at $MIRROR (set DIFFSEM_MIRROR)" >&2; exit 2; }
WORK=${SLURM_TEST_WORK:-$(mktemp -d /tmp/diffsem-slurm-test.XXXXXX)}
"$REPO/scripts/slurm_cluster.sh" start
mkdir -p "$WORK"
cd "$WORK"
# the smoke scale, with a U-Net that trains long enough (40 epochs, no early stop) to be cancelled mid-run
"$PY" - "$REPO/params.yaml" "$MIRROR" <<'PYEOF'
import sys, yaml
raw = yaml.safe_load(open(sys.argv[1]))
raw["data"]["mirror"] = sys.argv[2]
raw["scales"]["smoke"]["diffusion"].update(epochs=40, patience=0)
yaml.safe_dump(raw, open("params.yaml", "w"), sort_keys=False)
PYEOF

LOG=logs/mnist/seed0/train_diffusion_uncond.log
(   # the canceller: waits for the third epoch of the unconditional U-Net, then scancels its job
    until grep -q "epoch 3/" "$LOG" 2>/dev/null; do sleep 1; done
    jid=$(squeue -h -o "%i %k" | awk '/train_diffusion/ && /uncond/ {print $1; exit}')
    cp "$LOG" first_attempt.log
    scancel "$jid"
    echo "cancelled job $jid after $(grep -c ': epoch ' first_attempt.log) epochs" | tee cancelled.txt
) &
CANCELLER=$!

start=$(date +%s)
set +e
"$PY" -m snakemake -s "$REPO/Snakefile" -d "$WORK" --profile "$REPO/workflow/profiles/slurm" \
    --config scale=smoke --slurm-status-command squeue --max-threads 1 \
    --slurm-init-seconds-before-status-checks 5 > snakemake.log 2>&1
rc=$?
set -e
kill "$CANCELLER" 2>/dev/null || true
echo "snakemake exit $rc after $(( $(date +%s) - start )) s (log: $WORK/snakemake.log)"
fail() { echo "SLURM TEST FAILED: $*" >&2; tail -n 30 snakemake.log >&2; exit 1; }
[ "$rc" = 0 ] || fail "snakemake exited $rc"
[ -f reports/mnist/seed0/metrics.csv ] || fail "no metrics.csv"
[ -f cancelled.txt ] || fail "the U-Net job was never cancelled"
cat cancelled.txt
grep -h "resumed after epoch" "$LOG" || fail "the retried U-Net job did not resume from its checkpoint"
tail -n 1 "$LOG"
n_sub=$(grep -c "Job .* has been submitted with SLURM jobid" snakemake.log || true)
echo "jobs submitted through sbatch: $n_sub"
# every finished job is still known to slurmctld (MinJobAge 600 s): each GPU rule's job asked for a GPU
# (TresPerJob=gres:gpu:1, i.e. sbatch --gpus=1), and Slurm only starts it once the node's GPU is allocated
for jid in $(grep -o "submitted with SLURM jobid [0-9]*" snakemake.log | awk '{print $NF}'); do  # this run's jobs
    scontrol -o show job "$jid" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|JobState|Comment|TresPerJob)=/) printf "%s ", $i; print ""}'
done > jobs.txt
n_gpu=$(grep -c "TresPerJob=gres:gpu:1" jobs.txt || true)
echo "jobs with a GPU: $n_gpu of $(wc -l < jobs.txt); states: $(grep -o 'JobState=[A-Z]*' jobs.txt | sort | uniq -c | tr -s ' \n' ' ')"
[ "$n_gpu" -gt 0 ] || fail "no job asked for a GPU"
if grep -v "gres:gpu:1" jobs.txt | grep -q "Comment=rule_\(train\|attack\|evaluate\|finetune\)"; then
    fail "a GPU rule ran without a GPU: $(grep -v 'gres:gpu:1' jobs.txt | grep 'Comment=rule_' | head -3)"
fi
echo "SLURM TEST PASSED (work dir $WORK)"
