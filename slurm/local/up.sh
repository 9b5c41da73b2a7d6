#!/usr/bin/env bash
# A throwaway single-host SLURM cluster: munge + a private MariaDB + slurmdbd (so sacct works) + slurmctld +
# two slurmd nodes (n1, n2), all state under one directory, daemons stopped by PID with down.sh. Needs
# Debian's munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server, and root (slurmd runs
# jobs as their users).
#   slurm/local/up.sh [STATE_DIR]      default: $LLMSWEEP_SLURM_DIR or /tmp/llmsweep-slurm
#   export SLURM_CONF=STATE_DIR/etc/slurm.conf; sbatch/squeue/sinfo as usual
#   slurm/local/down.sh [STATE_DIR]
set -euo pipefail
STATE=$(realpath -m "${1:-${LLMSWEEP_SLURM_DIR:-/tmp/llmsweep-slurm}}")
export PATH="$PATH:/usr/sbin"
for bin in munged slurmctld slurmd slurmdbd sinfo sacct mariadbd mariadb-install-db; do
  command -v "$bin" >/dev/null || { echo "up.sh: $bin not found (apt-get install munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "up.sh: run as root (slurmd starts jobs as their users)" >&2; exit 2; }
if [ -f "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
  echo "up.sh: a cluster is already running from $STATE (slurm/local/down.sh $STATE)" >&2; exit 2
fi

mkdir -p "$STATE"/{etc,munge,ctld,log,spool/n1,spool/n2,mysql}
chmod 755 "$STATE" "$STATE/munge"   # munge's directories must be world-executable; the key stays 0600
[ -f "$STATE/munge/munge.key" ] || { dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none; chmod 600 "$STATE/munge/munge.key"; }
chown -R root:root "$STATE/munge"
SOCKET="$STATE/munge/munge.socket"
munged --force --key-file="$STATE/munge/munge.key" --socket="$SOCKET" --pid-file="$STATE/munged.pid" \
       --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/munge.seed"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 n=$(( $2 * 10 )); shift 2
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "up.sh: $what did not come up; logs in $STATE/log" >&2; exit 1
}
CTLD_PORT=$(free_port); D1=$(free_port); D2=$(free_port); DB_PORT=$(free_port); DBD_PORT=$(free_port)
HOST=$(hostname)
CPUS=$(nproc --all)  # --all: nproc alone obeys OMP_NUM_THREADS (1 in a test run would make 1-CPU nodes)

# Accounting: MariaDB (loopback only, root without password inside this private datadir) <- slurmdbd.
[ -d "$STATE/mysql/mysql" ] || mariadb-install-db --no-defaults --user=root --datadir="$STATE/mysql" \
  --auth-root-authentication-method=normal --skip-test-db >"$STATE/log/mariadb-install.log" 2>&1
setsid mariadbd --no-defaults --user=root --datadir="$STATE/mysql" --socket="$STATE/mysql.sock" \
  --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$STATE/mariadb.pid" \
  --log-error="$STATE/log/mariadb.log" --innodb-buffer-pool-size=32M </dev/null >/dev/null 2>&1 &
wait_for MariaDB 30 test -S "$STATE/mysql.sock"
cat > "$STATE/etc/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$SOCKET
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=root
StorageLoc=slurm_acct_db
CONF
chmod 600 "$STATE/etc/slurmdbd.conf"
SLURM_CONF="$STATE/etc/slurm.conf" slurmdbd   # reads slurmdbd.conf beside $SLURM_CONF
wait_for slurmdbd 30 python3 -c "import socket; socket.create_connection(('127.0.0.1', $DBD_PORT), 1)"
cat > "$STATE/etc/slurm.conf" <<CONF
ClusterName=llmsweep
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=5
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
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$SOCKET
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
GresTypes=gpu
AccountingStorageTRES=gres/gpu
NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$D1 CPUs=$CPUS Gres=gpu:2 State=UNKNOWN
NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$D2 CPUs=$CPUS Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
# Two stand-in GPUs per node (files, not devices): jobs written for GPU nodes (--gpus-per-node)
# schedule here and sacct accounts their GPUs; nothing here uses CUDA.
printf "NodeName=n[1-2] Name=gpu File=/dev/null\nNodeName=n[1-2] Name=gpu File=/dev/zero\n" > "$STATE/etc/gres.conf"
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
