"""Bad input: a clear message naming the thing, the place and the fix; exit code != 0."""

from __future__ import annotations

import json

from helpers import cli_env, run_cli


def test_scale_full_offline_names_the_checkpoint_and_how_to_provide_it(cache_dir, tmp_path):
    proc = run_cli(cache_dir, "method=qlora", "scale=full", out=tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert "mistralai/Mistral-7B-v0.1" in proc.stderr
    assert "HF_HUB_OFFLINE is set" in proc.stderr
    assert "model.checkpoint=" in proc.stderr and "HF_HOME" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_scale_full_with_unreachable_hub_fails_at_once(cache_dir, tmp_path):
    # Not offline by flag: the hub endpoint itself cannot be reached (a closed loopback port).
    env = cli_env(cache_dir, HF_ENDPOINT="http://127.0.0.1:9")
    env.pop("HF_HUB_OFFLINE")
    proc = run_cli(cache_dir, "model=solar", "scale=full", out=tmp_path / "run", env=env, check=False, timeout=120)
    assert proc.returncode == 2
    assert "upstage/SOLAR-10.7B-v1.0" in proc.stderr and "cannot be reached" in proc.stderr


def test_dpo_on_instruction_data_says_which_data_to_use(cache_dir, tmp_path):
    proc = run_cli(cache_dir, "method=dpo", "data=dolly_ko", out=tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert "data=prefs_ko" in proc.stderr


def test_malformed_row_is_named_by_file_and_line(cache_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    rows = [{"instruction": "질문", "context": "", "response": "답", "category": "open_qa"}] * 2
    rows.append({"instruction": "질문", "context": "", "category": "open_qa"})
    bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    proc = run_cli(cache_dir, f"data.path={bad}", out=tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert f"{bad} line 3: missing or empty field 'response'" in proc.stderr


def test_unknown_trl_field_names_the_key(cache_dir, tmp_path):
    proc = run_cli(cache_dir, "+method.args.lerning_rate=0.1", out=tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert "lerning_rate" in proc.stderr and "SFTConfig" in proc.stderr


def test_a_missing_data_path_is_refused_before_torch_is_imported(cache_dir, tmp_path):
    proc = run_cli(cache_dir, f"data.path={tmp_path / 'nosuch.jsonl'}", check=False, out=tmp_path / "run")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: data.path ")
    assert "no such file or directory" in proc.stderr and "Traceback" not in proc.stderr
    assert "torch" not in proc.stderr, "nothing heavy was imported (no torch warnings either)"
