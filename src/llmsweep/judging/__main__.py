"""python -m llmsweep.judging {rejudge,import-human,agreement,pairs}: judging outside a training run."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from llmsweep.errors import UserError
from llmsweep.jsonl import read_jsonl

EPILOG = """examples:
  python -m llmsweep.judging rejudge run_dir=outputs/2026-11-22/10-00-00 judge=openai judge.base_url=http://host:8000/v1 judge.model=judge
  python -m llmsweep.judging import-human ratings.csv run_dir=outputs/2026-11-22/10-00-00
  python -m llmsweep.judging agreement RUN/judgments.jsonl RUN/judgments.human.jsonl
  python -m llmsweep.judging pairs RUN_A RUN_B --out prefs/judged.jsonl judge=reference

KEY=VALUE arguments are Hydra overrides of conf/judging.yaml (judge group: reference | openai | hf | human | none).
Secrets (the judge's API key) come from the environment variable named by judge.api_key_env."""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m llmsweep.judging",
        description="Judged 1-5 quality scores outside a training run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser(
        "rejudge",
        help="score a run dir's answers.jsonl with a judge -> RUN/judgments.<judge>.jsonl",
        description="Score an existing run dir's answers.jsonl with the judge the overrides choose; writes "
        "RUN/judgments.<judge.name>.jsonl and prints the scores, and their agreement with the run's own judgments.jsonl.",
    )
    r.add_argument("overrides", nargs="*", help="run_dir=RUN (required) judge=NAME judge.KEY=VALUE ...")
    h = sub.add_parser(
        "import-human",
        help="human 1-5 ratings (CSV/JSONL: prompt, answer, score) for a run's answers",
        description="Validate a ratings file (CSV with a header, or JSON Lines; fields prompt, answer, score 1-5), "
        "match it to the run's answers, write RUN/judgments.human.jsonl and print agreement with every other judge of the run.",
    )
    h.add_argument("ratings", help="CSV or JSON Lines file")
    h.add_argument("overrides", nargs="*", help="run_dir=RUN (required)")
    a = sub.add_parser(
        "agreement",
        help="Spearman and quadratic-weighted kappa between two judgments files",
        description="Agreement of two judgments files over the answers both scored.",
    )
    a.add_argument("a")
    a.add_argument("b")
    d = sub.add_parser(
        "pairs",
        help="DPO pairs (prompt/chosen/rejected) from two or more runs' answers scored by a judge",
        description="Score each run's tuned answers with the judge, then write the better/worse answer per prompt as "
        "preference records through the data pipeline (llmsweep.data prepare, source 'judged'): OUT, OUT.rejects.jsonl, OUT.summary.json.",
    )
    d.add_argument("runs", nargs="+", help="run dirs (KEY=VALUE arguments among them are overrides)")
    d.add_argument("--out", required=True, help="output JSON Lines file of prefs records")
    d.add_argument("--conversational", action="store_true", help="write chat messages instead of strings")
    args, extra = p.parse_known_args(argv)  # overrides after an option (pairs RUN.. --out F judge=X)
    if extra and (args.cmd != "pairs" or any(x.startswith("-") for x in extra)):
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.cmd == "rejudge":
            rejudge(args.overrides)
        elif args.cmd == "import-human":
            path = str(Path(args.ratings).resolve()).replace("\\", "\\\\").replace("'", "\\'")
            rejudge([*args.overrides, "judge=human", f"judge.ratings='{path}'"], human_file=args.ratings)
        elif args.cmd == "agreement":
            from llmsweep.judging.agreement import agreement, scores_by_answer

            print_json(agreement(scores_by_answer(_read(Path(args.a))), scores_by_answer(_read(Path(args.b)))))
        else:
            given = [*args.runs, *extra]
            pairs([x for x in given if "=" not in x], [x for x in given if "=" in x], args.out, args.conversational)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def print_json(obj) -> None:
    """One line of strict JSON: an undefined number (NaN, inf) is null, which every JSON parser reads."""
    print(json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False))


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from llmsweep.paths import CONF_DIR

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose("judging", overrides=overrides)
    except Exception as e:  # Hydra's override and config errors
        raise UserError(f"{' '.join(overrides)}: {e}") from None


def _run_dir(given) -> Path:
    if not given:
        raise UserError("run_dir=RUN is required: a training run dir holding answers.jsonl")
    run_dir = Path(str(given)).expanduser()
    if not (run_dir / "answers.jsonl").is_file():
        raise UserError(f"run_dir={run_dir}: no answers.jsonl. Fix: point run_dir at a finished training run.")
    return run_dir


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    return read_jsonl(path)


def rejudge(overrides: list[str], human_file: str | None = None) -> None:
    from llmsweep.judging.agreement import agreement, scores_by_answer
    from llmsweep.judging.build import build_judge
    from llmsweep.judging.grading import check_scored
    from llmsweep.judging.stage import judge_answers, judgments_path, score_metrics, write_judgments

    cfg = compose(overrides)
    run_dir = _run_dir(cfg.run_dir)
    judge = build_judge(cfg.judge)
    if judge is None:
        raise UserError("judge=none scores nothing: choose judge=reference | openai | hf | human")
    name = str(cfg.judge.name)
    records = judge_answers(judge, name, _read(run_dir / "answers.jsonl"), bool(cfg.judge.judge_base))
    out = judgments_path(run_dir, name)
    write_judgments(out, records)
    print_json({"judge": name, "judgments": str(out), **score_metrics(records)})
    if human_file is not None:
        used = {(r["prompt"].strip(), r["answer"].strip()) for r in records if r["score"] is not None}
        unmatched = len(judge.ratings.keys() - used)
        if unmatched:
            print(f"warning: {unmatched} rating(s) in {human_file} match no answer of {run_dir}", file=sys.stderr)
    check_scored(name, records, out)
    mine = scores_by_answer(records)
    for other in sorted(run_dir.glob("judgments*.jsonl")):
        if other != out:
            print_json({"agreement": f"{out.name} vs {other.name}", **agreement(mine, scores_by_answer(_read(other)))})


def pairs(runs: list[str], overrides: list[str], out: str, conversational: bool) -> None:
    from llmsweep.judging.build import build_judge
    from llmsweep.judging.grading import check_scored
    from llmsweep.judging.pairs import write_pairs
    from llmsweep.judging.stage import judge_answers

    cfg = compose(overrides)
    judge = build_judge(cfg.judge)
    if judge is None:
        raise UserError("judge=none scores nothing: choose judge=reference | openai | hf | human")
    by_run = {}
    for i, run in enumerate(runs):
        run_dir = _run_dir(run)
        by_run[f"{i}:{run_dir}"] = judge_answers(
            judge, str(cfg.judge.name), _read(run_dir / "answers.jsonl"), judge_base=False
        )
    check_scored(str(cfg.judge.name), [r for records in by_run.values() for r in records])
    summary = write_pairs(by_run, out, conversational)
    print_json({k: summary[k] for k in ("output", "rejects", "rows_in", "records_written", "rejected_by_reason")})


if __name__ == "__main__":
    sys.exit(main())
