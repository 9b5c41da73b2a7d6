"""Load on the chat API: N concurrent requests against `serve.py`, and the same generations in-process.

The server (a real `serve.py` subprocess on a free loopback port) gets `--requests` chat completions at
once from the openai async client; it queues them and generates one at a time. The baseline makes the
same greedy generations with the same engine in this process, one after another, without HTTP. The
ratio of the two walls is what the API (HTTP, JSON, queue) costs on top of generation.

Both sides run torch on the same number of CPU threads (--threads; default 1: on this busy 2-core machine
a tiny model generated ~10x faster on one thread than on two) and generate on a worker thread, as the server does.

    .venv/bin/python bench/serve_load.py                       # trains a tiny LoRA run (~10 s) and serves it
    .venv/bin/python bench/serve_load.py --run-dir outputs/... --requests 32 --max-tokens 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = str(REPO / "conf")
SAMPLES = REPO / "src" / "llmsweep" / "data" / "samples" / "dolly_ko.jsonl"


def tiny_run(out: Path) -> Path:
    """A tiny LoRA SFT run (mistral, 10 steps) to serve."""
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs
    from llmsweep.harness import Job
    from llmsweep.training.run import run

    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "model=mistral",
                "method=lora",
                "tracking=none",
                "trainer.max_steps=10",
                "generate.num_prompts=1",
            ],
        )
    run(cfg, Job(out, "bench-serve", (), None))
    return out


def prompts(n: int) -> list[list[dict]]:
    rows = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[{"role": "user", "content": r["instruction"]}] for r in rows[:n]]


def start_server(run_dir: Path, port: int, threads: int | None, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LLMSWEEP_API_TOKEN"}
    argv = [
        sys.executable,
        "serve.py",
        f"run_dir={run_dir}",
        f"port={port}",
        "model_name=bench",
        "log_level=warning",
        f"engine.threads={threads or 'null'}",
    ]
    with open(log, "wb") as f:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            sys.exit(f"serve.py exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                sys.exit("serve.py did not come up in 300 s")
            time.sleep(0.25)


async def load(base_url: str, batch: list[list[dict]], max_tokens: int) -> tuple[float, list[float], list[str], int]:
    import openai

    async with openai.AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=600) as client:

        async def one(messages):
            t = time.perf_counter()
            r = await client.chat.completions.create(
                model="bench", messages=messages, temperature=0, max_tokens=max_tokens
            )
            return time.perf_counter() - t, r.choices[0].message.content, r.usage.completion_tokens

        await one(batch[0])  # warm-up, not timed
        t = time.perf_counter()
        results = await asyncio.gather(*(one(m) for m in batch))
        wall = time.perf_counter() - t
    return wall, [r[0] for r in results], [r[1] for r in results], sum(r[2] for r in results)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", type=Path, help="run dir or model dir to serve (default: train a tiny LoRA run)")
    ap.add_argument("--requests", type=int, default=32, help="concurrent requests")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads on both sides (0: torch's default)")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = a.run_dir or tiny_run(Path(tmp) / "run")
        batch = prompts(a.requests)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = Path(tmp) / "server.log"
        server = start_server(run_dir, port, a.threads, log)
        try:
            wall, latencies, served, tokens = asyncio.run(load(f"http://127.0.0.1:{port}/v1", batch, a.max_tokens))
        finally:
            server.terminate()
            server.wait(timeout=30)

        # baseline: the same greedy generations, same engine, in this process, one after another
        from llmsweep.serving.engine import SamplingParams, load_transformers_engine, model_dir_of

        engine = load_transformers_engine(model_dir_of(run_dir), threads=a.threads or None)
        params = SamplingParams(max_tokens=a.max_tokens, temperature=0)
        with ThreadPoolExecutor(max_workers=1) as worker:  # as the server's generation worker
            worker.submit(engine.complete, batch[0], params).result()  # warm-up, not timed
            t = time.perf_counter()
            local = [worker.submit(engine.complete, m, params).result() for m in batch]
            base_wall = time.perf_counter() - t

    same = sum(s == c.text for s, c in zip(served, local))

    print(
        f"server: {a.requests} concurrent requests, max_tokens={a.max_tokens}, {tokens} completion tokens, "
        f"torch threads {a.threads or 'default'}"
    )
    print(
        f"  latency p50 {percentile(latencies, 50):.3f} s, p95 {percentile(latencies, 95):.3f} s, max {max(latencies):.3f} s"
    )
    print(f"  wall {wall:.2f} s: {a.requests / wall:.1f} requests/s, {tokens / wall:.0f} tokens/s")
    print(
        f"in-process, sequential (baseline): wall {base_wall:.2f} s: {a.requests / base_wall:.1f} requests/s, "
        f"{sum(c.completion_tokens for c in local) / base_wall:.0f} tokens/s"
    )
    print(f"answers identical to in-process: {same}/{a.requests}")
    print(f"wall ratio (server / in-process): {wall / base_wall:.3f}")


if __name__ == "__main__":
    main()
