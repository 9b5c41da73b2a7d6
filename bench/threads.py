"""torch CPU threads under contention: the same generation and training step on 1 thread and on torch's default.

Each setting runs in a fresh process (torch's thread pool is set once), loading the model as a run does
(`llmsweep.models.build.load_model_and_tokenizer`, the config's `threads`): greedy generation of --new-tokens tokens,
and a training step's compute (forward + backward of a batch of 4 x --seq-len tokens). Settings alternate over
--repeats rounds; medians are printed with the load average, since the point is a machine other jobs share.
--busy N adds N spinning processes for the duration (contention on an otherwise idle machine).

    .venv/bin/python bench/threads.py                               # SmolLM2-135M (scale=cpu), torch default vs 1
    .venv/bin/python bench/threads.py --model mistral --scale tiny  # a tiny model
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(model: str, scale: str, threads: int, new_tokens: int, seq_len: int) -> dict:
    import torch
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs
    from llmsweep.generation import generate_answers
    from llmsweep.models.build import load_model_and_tokenizer

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "train", overrides=[f"model={model}", f"scale={scale}", "method=full", f"threads={threads or 'null'}"]
        )
    m, tok, _ = load_model_and_tokenizer(cfg)
    prompt = [[{"role": "user", "content": "Write a short story about a lighthouse keeper."}]]
    generate_answers(m, tok, prompt, 2)  # warm-up
    t = time.perf_counter()
    generate_answers(m, tok, prompt, new_tokens)
    gen = time.perf_counter() - t
    ids = torch.randint(0, m.config.vocab_size, (4, seq_len), generator=torch.Generator().manual_seed(0))
    m.train()
    t = time.perf_counter()
    m(input_ids=ids, labels=ids).loss.backward()
    step = time.perf_counter() - t
    return {"threads": torch.get_num_threads(), "generate_s": gen, "train_step_s": step}


def spin() -> None:
    while True:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2_135m")
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--busy", type=int, default=0, help="spinning processes added for contention")
    ap.add_argument("--_child", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._child is not None:
        print(json.dumps(measure(a.model, a.scale, a._child, a.new_tokens, a.seq_len)))
        return

    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(a.busy)]
    for p in spinners:
        p.start()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    results: dict[int, list[dict]] = {0: [], 1: []}
    loads = []
    try:
        for _ in range(a.repeats):
            for threads in results:  # 0: torch's default
                argv = [
                    sys.executable,
                    __file__,
                    "--model",
                    a.model,
                    "--scale",
                    a.scale,
                    "--new-tokens",
                    str(a.new_tokens),
                    "--seq-len",
                    str(a.seq_len),
                    "--_child",
                    str(threads),
                ]
                out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
                results[threads].append(json.loads(out.strip().splitlines()[-1]))
                loads.append(os.getloadavg()[0])
    finally:
        for p in spinners:
            p.terminate()

    def med(threads: int, key: str) -> float:
        return statistics.median(r[key] for r in results[threads])

    default = results[0][0]["threads"]
    print(
        f"model={a.model} scale={a.scale}, {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f}"
        f" during the runs (+{a.busy} spinning), medians of {a.repeats}"
    )
    for key, what in (
        ("generate_s", f"greedy generation of {a.new_tokens} tokens"),
        ("train_step_s", f"forward + backward, 4 x {a.seq_len} tokens"),
    ):
        print(
            f"  {what}: torch default ({default} threads) {med(0, key):.2f} s, 1 thread {med(1, key):.2f} s, "
            f"1 thread is {med(0, key) / med(1, key):.1f}x faster"
        )


if __name__ == "__main__":
    main()
