#!/bin/bash
# A single-node Slurm cluster on localhost for testing the SLURM profile (issue #14; docs/slurm.md).
#   scripts/slurm_cluster.sh install   # Debian/Ubuntu, as root: slurmctld, slurmd, slurm-client, munge
#   scripts/slurm_cluster.sh start     # writes /etc/slurm/{slurm,gres}.conf (state and logs in $SLURM_TEST_DIR), starts munged, slurmctld, slurmd
#   scripts/slurm_cluster.sh stop
# The node declares one `gpu` GRES bound to /dev/null (no real device), so jobs that ask for --gpus=1 schedule
# as on a GPU cluster.  No slurmdbd: `sacct` does not work, and the profile queries job status with squeue.
set -euo pipefail
DIR=${SLURM_TEST_DIR:-/tmp/diffsem-slurm}
# the default location: srun inside a job step reads it from there whatever SLURM_CONF said at submission
ETC=${SLURM_ETC:-/etc/slurm}
CONF=$ETC/slurm.conf
MARK="# diffsem test cluster (scripts/slurm_cluster.sh)"
HOST=$(hostname -s)

die() { echo "slurm_cluster.sh: $*" >&2; exit 1; }

install() {
    [ "$(id -u)" = 0 ] || die "install needs root (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge
}

write_conf() {
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$ETC"
    if [ -f "$CONF" ] && ! head -n 1 "$CONF" | grep -qF "$MARK"; then
        die "$CONF exists and is not the test cluster's: refusing to overwrite it (set SLURM_ETC to another folder)"
    fi
    local cpus mem
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
    cat > "$CONF" <<CONF
$MARK
ClusterName=diffsem-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
KillWait=5
GresTypes=gpu
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:1 State=UNKNOWN
PartitionName=gpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
    # one stand-in GPU: slurmd 22.05 drops a file-less gpu GRES ("Removing file-less GPU"), so it is bound to
    # /dev/null; with task/none no device cgroup is applied, and jobs just see CUDA_VISIBLE_DEVICES=0
    printf '%s\nNodeName=%s Name=gpu Count=1 File=/dev/null\n' "$MARK" "$HOST" > "$ETC/gres.conf"
}

start() {
    command -v slurmctld >/dev/null || die "slurmctld not installed (run: $0 install)"
    write_conf
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    pgrep -x munged >/dev/null || runuser -u munge -- munged --force || munged --force
    if pgrep -x slurmctld >/dev/null; then scontrol reconfigure; else slurmctld -f "$CONF"; fi
    pgrep -x slurmd >/dev/null || slurmd -f "$CONF"
    for _ in $(seq 30); do
        if sinfo -h -o %T 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then
            sinfo
            return 0
        fi
        scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "the node did not come up (logs above)"
}

stop() {
    pkill -x slurmd || true
    pkill -x slurmctld || true
    for _ in $(seq 20); do pgrep -x "slurmctld|slurmd" >/dev/null || break; sleep 0.5; done
    echo "slurm stopped"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 install|start|stop" ;;
esac
