"""mix: weighted, seeded sampling into train/eval splits that training reads directly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, read_jsonl, read_metrics, run_cli
from llmsweep.data.loading import plan_records
from llmsweep.data.mix import mix


def mixed(mix_dir, split):
    """A mix's rows as training reads them (the plan, row by row)."""
    return list(plan_records(Path(mix_dir), split, "dolly"))


def write_rows(path, tag, n):
    rows = [
        {"instruction": f"{tag} 질문 {i}", "context": "", "response": f"{tag} 답 {i}", "category": "open_qa"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def test_weights_scale_each_source_and_the_split_is_seeded(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_rows(a, "a", 100)
    write_rows(b, "b", 40)
    s = mix([str(a), str(b)], tmp_path / "m1", weights=[0.5, 2], split=0.9, seed=3)
    assert s["inputs"][str(a)]["taken"] == 50 and s["inputs"][str(b)]["taken"] == 80
    train, evals = mixed(tmp_path / "m1", "train"), mixed(tmp_path / "m1", "eval")
    assert len(train) == 117 and len(evals) == 13 and s["train"] == 117 and s["eval"] == 13
    rows = train + evals
    assert sum(r["instruction"].startswith("a") for r in rows) == 50
    assert len({r["instruction"] for r in rows if r["instruction"].startswith("b")}) == 40  # every b row, twice
    mix([str(a), str(b)], tmp_path / "m2", weights=[0.5, 2], split=0.9, seed=3)
    assert mixed(tmp_path / "m2", "train") == train
    mix([str(a), str(b)], tmp_path / "m3", weights=[0.5, 2], split=0.9, seed=4)
    assert mixed(tmp_path / "m3", "train") != train


def test_mix_cli_rejects_a_weight_count_mismatch(tmp_path):
    a = tmp_path / "a.jsonl"
    write_rows(a, "a", 5)
    proc = subprocess.run(
        [sys.executable, "-m", "llmsweep.data", "mix", str(a), "--weights", "1,2", "--out", str(tmp_path / "m")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "2 weights for 1 inputs" in proc.stderr


def test_prepared_sources_mix_into_data_that_train_reads(cache_dir, tmp_path):
    """prepare each source's fixtures -> mix them with the bundled sample -> train on the mix directory."""
    from datasets import load_dataset

    fixtures = REPO / "tests" / "fixtures" / "data"
    inputs = {
        "kovicuna": [fixtures / "kovicuna.json"],
        "alpaca": [fixtures / "alpaca.json"],
        "korquad1": [fixtures / "korquad1.json"],
        "korquad2": [fixtures / "korquad2"],
    }
    converted = []
    for src, files in inputs.items():
        out = tmp_path / src  # a directory: one shard per input file
        subprocess.run(
            [sys.executable, "-m", "llmsweep.data", "prepare", src, *map(str, files), "--out", str(out)],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        converted.append(str(out))
    samples = REPO / "src" / "llmsweep" / "data" / "samples" / "dolly_ko.jsonl"
    mixed = tmp_path / "dolly_mix"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmsweep.data",
            "mix",
            *converted,
            str(samples),
            "--weights",
            "2,2,2,2,0.5",
            "--out",
            str(mixed),
            "--split",
            "0.9",
            "--seed",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "train" in proc.stdout
    n_fixture_records = sum(len(read_jsonl(p)) for c in converted for p in Path(c).iterdir())
    assert len(list(Path(inputs["korquad2"][0]).iterdir())) == len(list((tmp_path / "korquad2").iterdir())) == 2
    train_rows, eval_rows = globals()["mixed"](mixed, "train"), globals()["mixed"](mixed, "eval")
    n_train, n_eval = len(train_rows), len(eval_rows)
    assert n_train + n_eval == 2 * n_fixture_records + 240
    # datasets reads the shards natively; the plan's row numbers select the same rows in the same order
    from llmsweep.data.loading import mix_datasets

    ds = mix_datasets(mixed)
    assert ds["train"].num_rows == n_train and set(ds["train"].column_names) == {
        "instruction",
        "context",
        "response",
        "category",
    }
    assert list(ds["eval"]) == eval_rows
    assert ds["train"][:5]["instruction"] == [r["instruction"] for r in train_rows[:5]]
    # ... and so does load_dataset over the --jsonl copies
    subprocess.run([*proc.args, "--jsonl"], cwd=REPO, check=True, capture_output=True)
    copies = load_dataset("json", data_files={"train": str(mixed / "train.jsonl"), "eval": str(mixed / "eval.jsonl")})
    assert list(copies["eval"]) == eval_rows and copies["train"].num_rows == n_train

    run_dir = tmp_path / "run"
    run_cli(cache_dir, "data=dolly_ko", f"data.path={mixed}", "tracking=none", "trainer.max_steps=10", out=run_dir)
    m = read_metrics(run_dir)
    assert m["eval_loss"] < m["initial_eval_loss"]
    # the mix's own splits are used: all its train rows, the first data.eval_size (32) of its eval rows
    assert f"{n_train} train / {min(32, n_eval)} eval rows" in (run_dir / "train.log").read_text()


def test_mix_refuses_a_split_that_leaves_no_eval_rows_and_names_one_that_fits(tmp_path):
    """The README's --split 0.98 on the 15 fixture records rounded to 15 train + 0 eval, and training then crashed."""
    a = tmp_path / "a.jsonl"
    write_rows(a, "a", 15)
    argv = [sys.executable, "-m", "llmsweep.data", "mix", str(a), "--split", "0.98", "--out", str(tmp_path / "m")]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    [line] = proc.stderr.splitlines()
    assert "15 rows" in line and "0 eval rows" in line and "--split" in line
    assert not (tmp_path / "m").exists()  # nothing half-written
    fit = re.search(r"Fix: --split ([0-9.]+)", line).group(1)
    subprocess.run([*argv[:-3], fit, "--out", str(tmp_path / "m")], cwd=REPO, check=True, capture_output=True)
    assert len(mixed(tmp_path / "m", "train")) >= 1 and len(mixed(tmp_path / "m", "eval")) >= 1
    # too low a split is the same mistake on the other side
    low = subprocess.run([*argv[:-3], "0.02", "--out", str(tmp_path / "m2")], cwd=REPO, capture_output=True, text=True)
    assert low.returncode == 2 and "0 train" in low.stderr and "--split" in low.stderr


def test_training_refuses_an_empty_eval_split_before_loading_a_model(tmp_path):
    cache_dir = tmp_path / "cache"  # its own: stays empty unless a model is built
    cache_dir.mkdir()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_rows(mixed / "train.jsonl", "a", 15)
    (mixed / "eval.jsonl").write_text("", encoding="utf-8")
    (mixed / "mix.json").write_text(json.dumps({"split": 0.98}), encoding="utf-8")
    proc = run_cli(cache_dir, "data=dolly_ko", f"data.path={mixed}", "tracking=none", out=tmp_path / "run", check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and not any(cache_dir.iterdir())  # refused before building a model
    line = proc.stderr.strip().splitlines()[-1]
    assert f"data.path {mixed}" in line and "15 train + 0 eval rows" in line and "--split" in line


def test_load_splits_refuses_eval_sizes_that_leave_a_split_empty(tmp_path):
    from omegaconf import OmegaConf

    from llmsweep.data.loading import load_splits
    from llmsweep.errors import UserError

    f = tmp_path / "d.jsonl"
    write_rows(f, "a", 5)
    data = OmegaConf.create(
        {"format": "dolly", "name": "dolly_ko", "path": str(f), "eval_size": 5, "max_rows": None, "seed": 0}
    )
    with pytest.raises(UserError, match=r"5 records.*data.eval_size=4 or less"):
        load_splits(data, "sft")
    data.eval_size = 0
    with pytest.raises(UserError, match=r"data.eval_size=0"):
        load_splits(data, "sft")
    data.eval_size = 4
    train, evals = load_splits(data, "sft")
    assert (len(train), len(evals)) == (1, 4)


def test_mix_writes_a_plan_not_copies_of_the_records(tmp_path):
    """The mix used to rewrite every record into train/eval.jsonl; its plan is a few bytes per row, and a plan whose
    files changed since is refused before training reads wrong offsets."""
    from omegaconf import OmegaConf

    from llmsweep.data.loading import load_splits
    from llmsweep.errors import UserError
    from test_data_convert import write_chars

    a = tmp_path / "a.jsonl"
    rows = [
        {"instruction": f"질문 {i} " + "나" * 400, "context": "", "response": f"답 {i}", "category": "open_qa"}
        for i in range(3000)
    ]
    a.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    a2 = tmp_path / "shards"
    a2.mkdir()
    lines = ["", json.dumps(rows[0], ensure_ascii=False), "  ", json.dumps(rows[1], ensure_ascii=False), ""]
    (a2 / "00000-x.jsonl").write_text("\n".join(lines), encoding="utf-8")
    before = write_chars()
    s = mix([str(a), str(a2)], tmp_path / "m", split=0.9, seed=0)
    written = write_chars() - before
    assert written < 0.05 * a.stat().st_size, written
    assert s["train"] + s["eval"] == 3002, "blank lines are not rows"
    got = mixed(tmp_path / "m", "train") + mixed(tmp_path / "m", "eval")
    key = [json.dumps(r, sort_keys=True) for r in rows + rows[:2]]
    assert sorted(json.dumps(r, sort_keys=True) for r in got) == sorted(key) and got != rows[: len(got)]

    data = OmegaConf.create(
        {
            "format": "dolly",
            "name": "dolly_ko",
            "path": str(tmp_path / "m"),
            "eval_size": 32,
            "max_rows": 100,
            "seed": 0,
        }
    )
    train, evals = load_splits(data, "sft")
    assert (len(train), len(evals)) == (100, 32)
    assert train[0]["prompt"][0]["content"] == got[0]["instruction"]
    data.path = str(a2)  # a directory of prepare's shards is data too, split by eval_size
    data.eval_size = 1
    assert [len(x) for x in load_splits(data, "sft")] == [1, 1]

    a.write_text(a.read_text(encoding="utf-8")[:-200] + "\n", encoding="utf-8")
    data.path = str(tmp_path / "m")
    with pytest.raises(UserError, match=rf"the mixed file {a} has [0-9,]+ bytes, not the [0-9,]+ it had.*re-run"):
        load_splits(data, "sft")
