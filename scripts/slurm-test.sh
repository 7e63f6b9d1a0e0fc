#!/usr/bin/env bash
# Runs the Slurm job-array example under a real single-node Slurm and checks
# that the merged result equals one run. Needs root (it installs Debian's
# slurm-wlm and munge, writes /etc/slurm/slurm.conf and starts munged,
# slurmctld and slurmd). `.ci/run` calls it when run as root
# (ISMC_SLURM_TEST=0 skips it); `cargo test` checks the same scripts with the
# array variables set by hand (tests/runner.rs).
#
#   bash scripts/slurm-test.sh [path/to/ismc]
set -euo pipefail
cd "$(dirname "$0")/.."
ISMC=$(realpath "${1:-target/release/ismc}")
[ -x "$ISMC" ] || { echo "no ismc binary at $ISMC (cargo build --release first)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ismc-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key, then the daemon (as the munge user when it exists).
[ -s /etc/munge/munge.key ] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
sleep 1
/usr/sbin/slurmctld -c
/usr/sbin/slurmd
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
    sleep 1
done
sinfo

work=$(mktemp -d /tmp/ismc-slurm.XXXXXX)
export ISMC CONFIG=experiments/lattice-crossing-quick.toml OUT="$work/array"
merge_job=$(bash experiments/slurm/submit.sh 3)
echo "submitted; merge job $merge_job"
for _ in $(seq 300); do
    [ -z "$(squeue -h 2>/dev/null)" ] && break
    sleep 1
done
state=$(sacct -n -X -j "$merge_job" -o State 2>/dev/null | head -1 | tr -d ' ' || true)
if [ ! -f "$OUT/merged/summary.json" ]; then
    echo "FAIL: the merge job wrote no summary (state: ${state:-unknown})" >&2
    cat ismc-*.out 2>/dev/null | tail -20 >&2 || true
    exit 1
fi
"$ISMC" --quiet run "$CONFIG" --out "$work/one"
rm -f ismc-shard-*.out ismc-merge-*.out
if diff -r -x manifest.json "$work/one" "$OUT/merged"; then
    echo "PASS: Slurm array of 3 shards + merge equals one run ($work)"
else
    echo "FAIL: merged results differ from one run" >&2
    exit 1
fi
