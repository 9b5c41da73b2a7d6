"""SFT with and without packing: tokens per second on the bundled Korean Dolly data, same steps, real tokenizer.

Both runs build the trainer as a training run does (`llmsweep.training.trainer.build_trainer`, method=lora on
model=smollm2_135m scale=cpu by default), from the same base weights and seed, and train the same number of
steps with the same rows per batch; only `method.args.packing` differs. Throughput counts the real tokens the
collator hands to the model (no padding). Packing (trl's best-fit decreasing, padding-free) fills every row up to
max_length, so a packed step holds more tokens. Loss checks: the eval rows go through the model as one batch, packed
(padding-free) in the packing run and padded in the other, so both eval losses are the mean over the same tokens:
the base model's must agree within float noise (packed documents must not attend to each other), and the trained
models' show what the same number of steps learned.

    .venv/bin/python bench/packing.py                       # SmolLM2-135M, 4 steps of 4 rows, max_length 512
    .venv/bin/python bench/packing.py --model mistral --scale tiny --steps 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def compose_cfg(model: str, scale: str, overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "train", overrides=[f"model={model}", f"scale={scale}", "method=lora", "tracking=none", *overrides]
        )


class Counting:
    """The trainer's collator, counting the real tokens of the rows it batches while `on`."""

    def __init__(self, collate):
        self.collate, self.tokens, self.on = collate, 0, False

    def __call__(self, examples):
        if self.on:
            self.tokens += sum(len(ex["input_ids"]) for ex in examples)
        return self.collate(examples)


def one(model: str, scale: str, packing: bool, a) -> dict:
    from llmsweep.data.loading import load_splits
    from llmsweep.models.build import load_model_and_tokenizer
    from llmsweep.training.trainer import build_trainer

    cfg = compose_cfg(
        model,
        scale,
        [
            f"method.args.packing={packing}",
            "method.args.eval_packing=null",
            f"method.args.max_length={a.max_length}",
            f"trainer.max_steps={a.steps}",
            f"trainer.per_device_train_batch_size={a.batch}",
            f"trainer.per_device_eval_batch_size={a.eval_rows}",
            f"data.eval_size={a.eval_rows}",
            "trainer.eval_strategy=no",
            "trainer.eval_on_start=false",
            "trainer.logging_steps=1",
        ],
    )
    train_ds, eval_ds = load_splits(cfg.data, "sft")
    m, tok, _ = load_model_and_tokenizer(cfg)
    with tempfile.TemporaryDirectory() as out:
        trainer = build_trainer(cfg, m, tok, train_ds, eval_ds, Path(out), "none", "bench-packing")
        count = Counting(trainer.data_collator)
        trainer.data_collator = count
        first = trainer.evaluate()["eval_loss"]  # all eval rows in one batch: packed (padding-free) or padded
        count.on = True
        t = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - t
        count.on = False
        last = trainer.evaluate()["eval_loss"]
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"tokens": count.tokens, "wall": wall, "first_eval": first, "last_eval": last, "train_losses": losses}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2_135m")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4, help="rows per step (packed rows hold up to max_length tokens)")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--eval-rows", type=int, default=8)
    a = ap.parse_args()

    runs = {packing: one(a.model, a.scale, packing, a) for packing in (False, True)}
    for packing, r in runs.items():
        print(
            f"packing={packing!s:5}: {r['tokens']} tokens in {a.steps} steps, {r['wall']:.1f} s, "
            f"{r['tokens'] / r['wall']:.0f} tokens/s; base eval loss {r['first_eval']:.5f}, "
            f"after training {r['last_eval']:.4f}; train losses {[round(x, 3) for x in r['train_losses']]}"
        )
    plain, packed = runs[False], runs[True]
    print(
        f"model={a.model} scale={a.scale}, {a.steps} steps x {a.batch} rows, max_length {a.max_length}: packing "
        f"gives {(packed['tokens'] / packed['wall']) / (plain['tokens'] / plain['wall']):.2f}x tokens/s; "
        f"base eval loss packed - padded = {packed['first_eval'] - plain['first_eval']:+.1e}"
    )


if __name__ == "__main__":
    main()
