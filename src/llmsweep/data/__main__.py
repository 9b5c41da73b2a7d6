"""python -m llmsweep.data {prepare,mix} ...  (see --help of each command)."""

from __future__ import annotations

import argparse
import sys

from llmsweep.errors import UserError

EPILOG = """\
examples:
  python -m llmsweep.data prepare kovicuna raw/kovicuna/ --out data/kovicuna
  python -m llmsweep.data prepare korquad2 raw/korquad2/ --out data/korquad2 --max-context-chars 4000
  python -m llmsweep.data prepare judged judgments.jsonl --out data/prefs.jsonl
  python -m llmsweep.data mix data/kovicuna data/alpaca data/korquad1 data/korquad2 \\
      --weights 1,1,1,0.5 --split 0.98 --out data/dolly_ko
  python train.py data=dolly_ko data.path=data/dolly_ko
"""

SOURCES_HELP = """\
sources (input layout -> output records):
  kovicuna       ShareGPT {"id","conversations":[{"from":"human"|"gpt"|"system","value"}]} -> Dolly;
                 human turn = instruction, gpt turn = response, one record per gpt turn
  alpaca         {"instruction","input","output"} (JSON array or JSON Lines) -> Dolly
  korquad1       SQuAD layout data[].paragraphs[].qas[] or per-paragraph {"qas","context"} lines -> closed_qa
  korquad2       KorQuAD 2.0 HTML pages -> closed_qa with the page as readable text, windowed around the answer
  ultrafeedback  UltraFeedback-binarized {"prompt","chosen","rejected","score_*"} -> preference pairs
  judged         {"prompt","answers":[{"model","text","score"}]} -> preference pairs (best vs worst score)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m llmsweep.data",
        description="Convert raw Korean instruction/QA/preference data into the records training reads, and mix them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "prepare",
        help="convert one source's files to Dolly records or preference pairs",
        description="Convert files of one source. Every input row ends in OUT or in OUT.rejects.jsonl (with file, "
        "place and reason); OUT.summary.json holds the accounting (rows in = out + rejected). OUT without a .jsonl "
        "suffix is a directory of shards, one per input file, each record written once; OUT.jsonl is one file "
        "(several input files are then concatenated into it: one more copy).",
        epilog=SOURCES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="input layout: kovicuna, alpaca, korquad1, korquad2, ultrafeedback, judged")
    p.add_argument("inputs", nargs="+", help="input files (.json, .jsonl) or directories of them")
    p.add_argument(
        "--out",
        required=True,
        help="output directory of JSON Lines shards, or a .jsonl file "
        "(either loads with datasets.load_dataset('json', ...) and is a data.path or mix input)",
    )
    p.add_argument("--first-turn-only", action="store_true", help="kovicuna: only each conversation's first exchange")
    p.add_argument(
        "--max-context-chars", type=int, default=4000, help="korquad2: context window around the answer (default 4000)"
    )
    p.add_argument(
        "--conversational", action="store_true", help="preference pairs as chat messages (trl's conversational form)"
    )
    p.add_argument("--workers", type=int, default=2, help="processes converting files in parallel (default 2)")

    m = sub.add_parser(
        "mix",
        help="sample converted files by weight into train/eval splits",
        description="Sample JSON Lines files or shard directories by weight (1 = every row once, 0.5 = a seeded "
        "half, 2 = twice), shuffle with a seed and split. Writes a plan, not copies: OUT/train.npy and OUT/eval.npy "
        "(file, byte offset, length, row of each row in order) and OUT/mix.json. Train on it with data.path=OUT.",
    )
    m.add_argument("inputs", nargs="+", help="outputs of prepare: JSON Lines files or directories of shards")
    m.add_argument("--out", required=True, help="output directory")
    m.add_argument("--weights", help="comma-separated, one per input (default: all 1)")
    m.add_argument("--split", type=float, default=0.98, help="train fraction (default 0.98)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--jsonl", action="store_true", help="also copy the rows into OUT/train.jsonl and OUT/eval.jsonl")

    a = ap.parse_args(argv)
    try:
        if a.command == "prepare":
            from llmsweep.data.prepare import prepare, summary_line
            from llmsweep.data.sources import Options

            opts = Options(
                first_turn_only=a.first_turn_only,
                max_context_chars=a.max_context_chars,
                conversational=a.conversational,
            )
            s = prepare(a.source, a.inputs, a.out, opts, workers=a.workers)
            print(summary_line(s))
            for err in s["errors"]:
                print(f"error: {err}", file=sys.stderr)
            return 1 if s["errors"] else 0
        from llmsweep.data.mix import mix

        try:
            weights = [float(w) for w in a.weights.split(",")] if a.weights else None
        except ValueError:
            raise UserError(f"mix: --weights {a.weights!r} is not a comma-separated list of numbers") from None
        s = mix(a.inputs, a.out, weights, a.split, a.seed, jsonl=a.jsonl)
        print(
            f"mix: {s['train']:,} train + {s['eval']:,} eval rows of {len(s['files'])} files -> {a.out} "
            f"(train.npy, eval.npy{', train.jsonl, eval.jsonl' if a.jsonl else ''}); train with data.path={a.out}"
        )
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
