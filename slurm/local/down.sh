#!/usr/bin/env bash
# Stop the cluster started by up.sh (by PID, from its pid files) and remove its state directory.
#   slurm/local/down.sh [STATE_DIR] [--keep]
set -uo pipefail
STATE=$(realpath -m "${1:-${LLMSWEEP_SLURM_DIR:-/tmp/llmsweep-slurm}}")
for pidfile in "$STATE"/slurmd-*.pid "$STATE/slurmctld.pid" "$STATE/slurmdbd.pid" "$STATE/mariadb.pid" "$STATE/munged.pid"; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
[ "${2:-}" = "--keep" ] || rm -rf "$STATE"
echo "down.sh: stopped the cluster of $STATE"
