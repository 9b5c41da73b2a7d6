"""Does a merge-weight search pay on the tiny task? Two LoRA experts of the tiny Mistral, one trained on
each domain of the bundled data (QA with a context vs chat rows without), are merged with dare_ties:
once with uniform weights, then by a 20-trial Optuna search (`merge.py -m +sweeps=merge_weights`).

Each domain's rows are split into train / selection / test. The experts train on their domain's train
rows; the search minimizes eval loss on the mixed *selection* rows; both merges are then reported on the
mixed *test* rows, which the search never saw (and per domain). Everything runs through the real CLIs.

    .venv/bin/python bench/merge_search.py [--trials 20] [--steps 60] [--method dare_ties]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "src" / "llmsweep" / "data" / "samples" / "dolly_ko.jsonl"


def write_split(d: Path, train: list, evals: list) -> Path:
    """A `mix`-style data dir: train.jsonl + eval.jsonl (what data.path reads as is)."""
    d.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("eval.jsonl", evals)):
        (d / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return d


def domains(tmp: Path, n_sel: int, n_test: int) -> dict:
    rows = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]
    parts = {"qa": [r for r in rows if r["context"]], "chat": [r for r in rows if not r["context"]]}
    rng = random.Random(0)
    out, sel, test = {}, [], []
    for name, rs in parts.items():
        rng.shuffle(rs)
        s, t, tr = rs[:n_sel], rs[n_sel : n_sel + n_test], rs[n_sel + n_test :]
        out[name] = write_split(tmp / name, tr, s)
        out[f"{name}_test"] = write_split(tmp / f"{name}_test", tr, t)
        sel += s
        test += t
    out["mix"] = write_split(tmp / "mix", [], sel)
    out["mix_test"] = write_split(tmp / "mix_test", [], test)
    return out


def cli(script: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, script, *args], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{script} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--steps", type=int, default=60, help="training steps of each expert")
    ap.add_argument(
        "--method", default="dare_ties", help="merge method searched (its weights, and densities where it has them)"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = domains(tmp / "data", n_sel=32, n_test=32)
        n = 64
        common = ["tracking=none", "generate.num_prompts=1", f"data.eval_size={n}"]
        experts = {}
        for dom in ("qa", "chat"):
            experts[dom] = tmp / f"expert_{dom}"
            cli(
                "train.py",
                "model=mistral",
                "method=lora",
                f"data.path={data[dom]}",
                f"trainer.max_steps={args.steps}",
                "trainer.eval_steps=1000",
                *common,
                f"hydra.run.dir={experts[dom]}",
            )
        models = f"merge.models=[{experts['qa']},{experts['chat']}]"
        evals = [
            f"data.path={data['mix']}",
            f"+eval.sets.test={{path: {data['mix_test']}}}",
            f"+eval.sets.qa_test={{path: {data['qa_test']}}}",
            f"+eval.sets.chat_test={{path: {data['chat_test']}}}",
        ]

        uniform = tmp / "uniform"
        cli(
            "merge.py",
            f"merge={args.method}",
            models,
            "merge.weights=[0.5,0.5]",
            *evals,
            *common,
            f"hydra.run.dir={uniform}",
        )
        u = json.loads((uniform / "metrics.json").read_text())

        db = f"sqlite:///{tmp / 'optuna.db'}"
        cli(
            "merge.py",
            "-m",
            "+sweeps=merge_weights",
            f"merge={args.method}",
            models,
            *evals,
            *common,
            f"hydra.sweeper.n_trials={args.trials}",
            f"hydra.sweeper.storage={db}",
            "hydra.sweeper.study_name=bench",
            "hydra.sweeper.plots=false",
            f"hydra.sweep.dir={tmp / 'search'}",
        )
        study = optuna.load_study(study_name="bench", storage=db)
        best = study.best_trial
        b = json.loads((Path(best.user_attrs["run_dir"]) / "metrics.json").read_text())

        print(
            f"experts: LoRA on the tiny Mistral, {args.steps} steps each on QA rows / chat rows; merge={args.method}; "
            f"{len(study.trials)} trials; wall {time.perf_counter() - t0:.0f} s"
        )
        print("best params: " + ", ".join(f"{k}={v:.3f}" for k, v in best.params.items()))
        print(f"{'eval loss':<28}{'uniform (0.5, 0.5)':>20}{'searched':>12}{'ratio':>8}")
        for key, label in (
            ("eval_loss", "mixed selection (searched)"),
            ("eval_test_loss", "mixed test (held out)"),
            ("eval_qa_test_loss", "  QA test"),
            ("eval_chat_test_loss", "  chat test"),
        ):
            print(f"{label:<28}{u[key]:>20.4f}{b[key]:>12.4f}{b[key] / u[key]:>8.3f}")


if __name__ == "__main__":
    main()
