"""What the default judge (judge=reference) adds to a run, against judge=none.

Each side runs `llmsweep.judging.judge_run` over the same answers (8 prompts like a default run, taken
from the bundled eval data with a made-up answer) in a fresh Python process, so the one-time import of
sacrebleu is counted as a real run pays it. Prints the median wall time of each and the ratio; the
difference is the judge's cost per run (a tiny training run takes tens of seconds).

    .venv/bin/python bench/judge_overhead.py [--rounds 5] [--prompts 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "src" / "llmsweep" / "data" / "samples" / "dolly_ko.jsonl"

CHILD = r"""
import json, sys, time
t = time.perf_counter()
from omegaconf import OmegaConf
from llmsweep.judging import judge_run
answers = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
judge = {"none": {"name": "none", "_target_": None},
         "reference": {"name": "reference", "judge_base": True, "_target_": "llmsweep.judging.reference.ReferenceJudge"}}[sys.argv[1]]
judge_run(OmegaConf.create({"judge": judge}), sys.argv[3], answers)
print(time.perf_counter() - t)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=8)
    args = ap.parse_args()
    rows = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()[: args.prompts]]
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp) / "answers.jsonl"
        answers.write_text(
            "".join(
                json.dumps(
                    {
                        "prompt": r["instruction"],
                        "reference": r["response"],
                        "base_answer": r["instruction"],
                        "tuned_answer": r["response"][: len(r["response"]) // 2],
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for r in rows
            ),
            encoding="utf-8",
        )
        times: dict[str, list[float]] = {"none": [], "reference": []}
        for _ in range(args.rounds):
            for judge in times:  # alternate, so machine load hits both sides alike
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, judge, str(answers), tmp], check=True, capture_output=True, text=True
                )
                times[judge].append(float(out.stdout.strip().splitlines()[-1]))
    none, ref = statistics.median(times["none"]), statistics.median(times["reference"])
    print(f"judge_run over {args.prompts} prompts (base + tuned), median of {args.rounds} fresh processes:")
    print(f"  judge=none       {none:.3f} s  (baseline: importing llmsweep.judging)")
    print(f"  judge=reference  {ref:.3f} s")
    print(f"  ratio {ref / none:.2f}x, the reference judge adds {ref - none:.3f} s per run")


if __name__ == "__main__":
    main()
