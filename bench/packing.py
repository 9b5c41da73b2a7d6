"""SFT with and without packing: tokens per second on the bundled Korean Dolly data, same steps, real tokenizer.

Every run builds the trainer as a training run does (`llmsweep.training.trainer.build_trainer`, method=lora on
model=smollm2_135m scale=cpu by default) from the same base weights and seed, and trains the same number of
optimizer steps; they differ only in what a step holds:

- `padded`: packing off, `--batch` rows per step, padded to the longest row of the batch (trl's default).
- `packed`: trl's best-fit-decreasing packing (padding-free: the step's packed rows are flattened into one row,
  position_ids restart at each document), `--batch` rows of up to max_length tokens: about max_length / mean
  length times more tokens per step than `padded`.
- `packed_same_tokens`: the same, with as many packed rows as hold about the real tokens of a padded step.
- `packed_per_doc`: `packed` with `model.attn_implementation=sdpa_per_document` (what a packing method loads by
  default): attention computed per document (torch SDPA, causal, on each slice of trl's `cu_seq_lens_q`;
  llmsweep.models.attention) instead of over the whole flat row under a dense block-diagonal mask (`packed`,
  `packed_same_tokens`: plain `sdpa`): what a varlen kernel (flash-attn on a GPU) saves. The CPU has no varlen
  kernel, and FlexAttention (which skips masked blocks) has no CPU backward in torch 2.13.
- `packed_same_tokens_per_doc`: `packed_same_tokens` with per-document attention: at the default `--batch 4`, what
  `scale=cpu` trains SFT with (packing on, 2 rows per step).

Throughput counts the real tokens the collator hands to the model (never padding) over all steps but the first
(warm-up), in wall time and in this process's CPU time: on shared cores, with one torch thread, CPU time is the
steadier measure. The padding waste of the padded batches (padding / padded slots, over a whole epoch of the
trainer's own batches) bounds what packing can save where a token costs the same in any batch (a CPU):
1 / (1 - waste). Loss checks: the eval rows go through the model as one batch, packed (padding-free) in the packed
runs and padded in the other, so every eval loss is the mean over the same tokens; the base model's must agree
within float noise (packed documents must not attend to each other), and the trained models' show what the same
number of steps learned.

    .venv/bin/python bench/packing.py                  # SmolLM2-135M, 5 steps of 4 rows, max_length 512
    .venv/bin/python bench/packing.py --model mistral --scale tiny --steps 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("padded", "packed", "packed_per_doc", "packed_same_tokens", "packed_same_tokens_per_doc")


def compose_cfg(model: str, scale: str, overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            "train", overrides=[f"model={model}", f"scale={scale}", "method=lora", "tracking=none", *overrides]
        )


class Counting:
    """The trainer's collator, recording the real tokens of each batch it makes while `on`."""

    def __init__(self, collate):
        self.collate, self.tokens, self.on = collate, [], False

    def __call__(self, examples):
        if self.on:
            self.tokens.append(sum(len(ex["input_ids"]) for ex in examples))
        return self.collate(examples)


def step_clock():
    """A trainer callback timing each optimizer step (wall and process CPU time), data loading excluded."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.wall, self.cpu = [], []

        def on_step_begin(self, args, state, control, **kw):
            self._t = (time.perf_counter(), time.process_time())

        def on_step_end(self, args, state, control, **kw):
            self.wall.append(time.perf_counter() - self._t[0])
            self.cpu.append(time.process_time() - self._t[1])

    return StepClock()


def padding_waste(trainer) -> tuple[float, list[int]]:
    """Padding / padded slots over one epoch of the trainer's own (unpacked) batches, and the row lengths."""
    real = slots = 0
    for batch in trainer.get_train_dataloader():
        real += int(batch["attention_mask"].sum())
        slots += batch["input_ids"].numel()
    return 1 - real / slots, [len(ids) for ids in trainer.train_dataset["input_ids"]]


def one(variant: str, a, same_token_rows: int) -> dict:
    from llmsweep.data.loading import load_splits
    from llmsweep.models.build import load_model_and_tokenizer
    from llmsweep.training.trainer import build_trainer

    packing = variant != "padded"
    rows = same_token_rows if variant.startswith("packed_same_tokens") else a.batch
    cfg = compose_cfg(
        a.model,
        a.scale,
        [
            f"method.args.packing={packing}",
            "method.args.eval_packing=null",  # eval packed like train: checks packed attention on the base model
            f"method.args.max_length={a.max_length}",
            f"trainer.max_steps={a.steps}",
            f"trainer.per_device_train_batch_size={rows}",
            f"trainer.per_device_eval_batch_size={a.eval_rows}",
            f"data.eval_size={a.eval_rows}",
            "trainer.eval_strategy=no",
            "trainer.eval_on_start=false",
            "trainer.logging_steps=1",
            f"model.attn_implementation={'sdpa_per_document' if variant.endswith('per_doc') else 'sdpa'}",
        ],
    )
    train_ds, eval_ds = load_splits(cfg.data, "sft")
    m, tok, _ = load_model_and_tokenizer(cfg)
    clock = step_clock()
    with tempfile.TemporaryDirectory() as out:
        trainer = build_trainer(cfg, m, tok, train_ds, eval_ds, Path(out), "none", "bench-packing", [clock])
        count = Counting(trainer.data_collator)
        trainer.data_collator = count
        first = trainer.evaluate()["eval_loss"]  # all eval rows in one batch: packed (padding-free) or padded
        count.on = True
        trainer.train()
        count.on = False
        last = trainer.evaluate()["eval_loss"]
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        waste, lengths = padding_waste(trainer) if not packing else (None, None)  # after: same RNG as the others
    tokens = sum(count.tokens[1:])  # the first step is warm-up: excluded from every rate
    return {
        "rows": rows,
        "tokens_per_step": statistics.mean(count.tokens),
        "wall_tps": tokens / sum(clock.wall[1:]),
        "cpu_tps": tokens / sum(clock.cpu[1:]),
        "step_wall": clock.wall,
        "first_eval": first,
        "last_eval": last,
        "train_losses": losses,
        "waste": waste,
        "lengths": lengths,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2_135m")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--steps", type=int, default=5, help="optimizer steps per run; the first is warm-up")
    ap.add_argument("--batch", type=int, default=4, help="rows per step (packed rows hold up to max_length tokens)")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--eval-rows", type=int, default=8)
    ap.add_argument("--passes", type=int, default=2, help="each pass runs every variant; odd passes in reverse")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    a = ap.parse_args()
    variants = a.variants.split(",")
    assert variants[0] == "padded", "the padded run comes first: it is the baseline and sizes the packed rows"

    passes, same_token_rows = [], None
    for i in range(a.passes):  # later passes run the variants in reverse: load drift on shared cores cancels out
        runs = {}
        for v in variants if i % 2 == 0 else variants[::-1]:
            runs[v] = one(v, a, same_token_rows)
            if same_token_rows is None:  # the first run is the padded one: its rows size the packed steps
                same_token_rows = packed_rows(a, runs[v]["lengths"])
        passes.append(runs)
    base = passes[0]["padded"]
    lengths, waste = base["lengths"], base["waste"]
    q = statistics.quantiles(lengths, n=10)
    print(
        f"train rows: {len(lengths)}, tokens per row min {min(lengths)} / p10 {q[0]:.0f} / median "
        f"{statistics.median(lengths):.0f} / mean {statistics.mean(lengths):.0f} / p90 {q[-1]:.0f} / max "
        f"{max(lengths)}; padded batches of {a.batch}: padding waste {waste:.1%} of the slots, so removing padding "
        f"saves at most 1/(1-waste) = {1 / (1 - waste):.2f}x where a token costs the same in any batch"
    )
    for i, runs in enumerate(passes):
        for v in variants:
            r, p = runs[v], runs["padded"]
            print(
                f"pass {i + 1} {v:19} {r['rows']} rows/step, {r['tokens_per_step']:.0f} tokens/step: "
                f"{r['wall_tps']:.1f} tokens/s wall ({r['wall_tps'] / p['wall_tps']:.2f}x), {r['cpu_tps']:.1f} "
                f"tokens/s CPU ({r['cpu_tps'] / p['cpu_tps']:.2f}x); step s {[round(s, 1) for s in r['step_wall']]}; "
                f"eval loss base {r['first_eval']:.5f} ({r['first_eval'] - p['first_eval']:+.1e}), trained "
                f"{r['last_eval']:.4f}; train losses {[round(x, 3) for x in r['train_losses']]}"
            )
    ratio = {
        v: statistics.mean(runs[v]["cpu_tps"] / runs["padded"]["cpu_tps"] for runs in passes) for v in variants[1:]
    }
    print(
        f"model={a.model} scale={a.scale}, {a.steps} steps (first excluded), max_length {a.max_length}, "
        f"{a.passes} pass(es): tokens/s of "
        + ", ".join(f"{v} {x:.2f}x" for v, x in ratio.items())
        + f" the padded run's (CPU time, mean over passes); padding-waste bound {1 / (1 - waste):.2f}x"
    )


def packed_rows(a, lengths) -> int:
    """Packed rows that hold about the real tokens of a padded step."""
    return max(1, round(a.batch * statistics.mean(lengths) / a.max_length))


if __name__ == "__main__":
    main()
