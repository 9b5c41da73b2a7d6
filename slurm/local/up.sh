#!/usr/bin/env bash
# A throwaway single-host SLURM cluster: munge + slurmctld + two slurmd nodes (n1, n2), all state under
# one directory, daemons stopped by PID with down.sh. Needs Debian's munge slurm-wlm slurmctld slurmd
# slurm-client and root (slurmd runs jobs as their users).
#   slurm/local/up.sh [STATE_DIR]      default: $LLMSWEEP_SLURM_DIR or /tmp/llmsweep-slurm
#   export SLURM_CONF=STATE_DIR/etc/slurm.conf; sbatch/squeue/sinfo as usual
#   slurm/local/down.sh [STATE_DIR]
set -euo pipefail
STATE=$(realpath -m "${1:-${LLMSWEEP_SLURM_DIR:-/tmp/llmsweep-slurm}}")
for bin in munged slurmctld slurmd sinfo; do
  command -v "$bin" >/dev/null || { echo "up.sh: $bin not found (apt-get install munge slurm-wlm slurmctld slurmd slurm-client)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "up.sh: run as root (slurmd starts jobs as their users)" >&2; exit 2; }
if [ -f "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
  echo "up.sh: a cluster is already running from $STATE (slurm/local/down.sh $STATE)" >&2; exit 2
fi

mkdir -p "$STATE"/{etc,munge,ctld,log,spool/n1,spool/n2}
chmod 755 "$STATE" "$STATE/munge"   # munge's directories must be world-executable; the key stays 0600
[ -f "$STATE/munge/munge.key" ] || { dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none; chmod 600 "$STATE/munge/munge.key"; }
chown -R root:root "$STATE/munge"
SOCKET="$STATE/munge/munge.socket"
munged --force --key-file="$STATE/munge/munge.key" --socket="$SOCKET" --pid-file="$STATE/munged.pid" \
       --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munge.seed"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CTLD_PORT=$(free_port); D1=$(free_port); D2=$(free_port)
HOST=$(hostname)
CPUS=$(nproc)
cat > "$STATE/etc/slurm.conf" <<CONF
ClusterName=llmsweep
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$D1 CPUs=$CPUS State=UNKNOWN
NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$D2 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$STATE/etc/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -N n1 -f "$SLURM_CONF"
slurmd -N n2 -f "$SLURM_CONF"
for _ in $(seq 1 100); do
  if [ "$(sinfo -h -o '%t' 2>/dev/null | sort -u | tr -d '\n')" = "idle" ]; then
    echo "up.sh: cluster up from $STATE; export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "up.sh: nodes not idle after 20 s; logs in $STATE/log" >&2
sinfo >&2 || true
exit 1
