"""What pruning buys on the tiny task: a 16-trial lora_rank search with and without pruning
(the sweep's own successive-halving pruner unless --pruner says otherwise).

Both searches run the real CLI (`python train.py -m +sweeps=lora_rank`, same seeded TPE sampler, same
trials budget) one after the other; prints each search's best eval loss and the train steps all its
trials took (from their metrics.json). Goal (issue 4): best within 1 % using <= 50 % of the steps.

    .venv/bin/python bench/pruning.py [--trials 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[1]


def search(tmp: Path, name: str, pruner: str, trials: int, extra: list[str] = ()) -> dict:
    db = tmp / "optuna.db"
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "train.py",
            "-m",
            "+sweeps=lora_rank",
            f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.study_name={name}",
            f"hydra.sweeper.storage=sqlite:///{db}",
            f"hydra.sweeper.pruner.name={pruner}",
            "hydra.sweeper.plots=false",
            "tracking=none",
            "generate.num_prompts=1",
            f"hydra.sweep.dir={tmp / name}",
            *extra,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    ts = study.get_trials(deepcopy=False)
    steps = sum(
        json.loads((Path(t.user_attrs["run_dir"]) / "metrics.json").read_text())["global_step"]
        for t in ts
        if "run_dir" in t.user_attrs
    )
    return {"best": study.best_value, "steps": steps, "pruned": sum(t.state.name == "PRUNED" for t in ts), "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument(
        "--pruner",
        default="successive_halving",
        help="median | hyperband | successive_halving (default: as sweeps/lora_rank.yaml)",
    )
    ap.add_argument(
        "overrides",
        nargs="*",
        help="extra overrides for the pruned search, e.g. hydra.sweeper.pruner.kwargs.min_resource=5",
    )
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        plain = search(Path(tmp), "no_pruning", "none", a.trials)
        pruned = search(Path(tmp), a.pruner, a.pruner, a.trials, a.overrides)
    for label, r in (("no pruning", plain), (f"{a.pruner} pruner", pruned)):
        print(
            f"{label:24s}: best eval loss {r['best']:.4f}, total train steps {r['steps']}, pruned trials {r['pruned']}, wall {r['wall']:.0f} s"
        )
    print(
        f"best ratio (pruned / plain): {pruned['best'] / plain['best']:.4f}  (goal <= 1.01); "
        f"steps ratio: {pruned['steps'] / plain['steps']:.2f}  (goal <= 0.50)"
    )


if __name__ == "__main__":
    main()
