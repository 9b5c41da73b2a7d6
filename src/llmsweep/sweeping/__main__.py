"""python -m llmsweep.sweeping report STUDY [--storage URL] [--out DIR]: a study's best trial(s) and plots."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m llmsweep.sweeping", description="Inspect Optuna studies written by llmsweep sweeps."
    )
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="print a study's trials by state and its best trial(s); write plots")
    r.add_argument("study", help="study name (printed when the sweep starts)")
    r.add_argument(
        "--storage",
        default=None,
        help="storage URL (default: sqlite:///multirun/optuna.sqlite3 under the current directory)",
    )
    r.add_argument(
        "--out", default=None, help="directory for optimization_history / param_importances / pareto_front HTML+PNG"
    )
    a = ap.parse_args(argv)
    # the report's own notes (a plot skipped and why) on stderr, apart from the report on stdout
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.getLogger("llmsweep").addHandler(console)
    try:
        return _report(a)
    finally:
        logging.getLogger("llmsweep").removeHandler(console)


def _report(a: argparse.Namespace) -> int:
    import optuna
    from omegaconf import OmegaConf

    from llmsweep.sweeping.report import print_best, write_plots
    from llmsweep.sweeping.study import make_storage, storage_url

    url = a.storage or storage_url(OmegaConf.create({"storage": None}))
    try:
        study = optuna.load_study(study_name=a.study, storage=make_storage(url))
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(make_storage(url))]
        print(f"error: no study '{a.study}' in {url}. Studies there: {', '.join(names) or 'none'}", file=sys.stderr)
        return 2
    print_best(study)
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        write_plots(study, Path(a.out))
        print(f"plots in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
