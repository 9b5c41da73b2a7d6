"""The user's own line: `python train.py -m model=solar,mixtral method=dpo`."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import read_metrics, run_cli
from llmsweep.tracking.offline import offline_runs, read_run


def test_model_sweep_with_dpo_trains_llama_and_mixtral_and_logs_to_wandb(cache_dir, tmp_path):
    sweep = tmp_path / "sweep"
    run_cli(cache_dir, "-m", "model=solar,mixtral", "method=dpo", out=sweep)

    expected = {"0": ("model=solar", "LlamaForCausalLM"), "1": ("model=mixtral", "MixtralForCausalLM")}
    for sub, (override, arch) in expected.items():
        run_dir = sweep / sub
        adapter = json.loads((run_dir / "model" / "adapter_config.json").read_text())
        base_cfg = json.loads((Path(adapter["base_model_name_or_path"]) / "config.json").read_text())
        assert base_cfg["architectures"] == [arch]
        assert (run_dir / "answers.jsonl").exists()
        metrics = read_metrics(run_dir)

        (wb,) = offline_runs(run_dir)
        run = read_run(wb)
        assert run["state"] == "finished"
        assert run["run"]["job_type"] == "train"
        assert run["run"]["display_name"] == f"method=dpo,{override}"
        assert run["run"]["run_group"] == "-".join(sweep.parts[-2:])
        assert run["run"]["project"] == "llmsweep"
        assert any("train/loss" in h for h in run["history"])
        eval_curve = [h["eval/loss"] for h in run["history"] if "eval/loss" in h]
        assert len(eval_curve) >= 2 and eval_curve[-1] < eval_curve[0]
        assert run["summary"]["objective"] == metrics["objective"]
        assert run["config"]["method.args.beta"] == 0.1
        assert run["config"]["model.name"] == override.split("=")[1]
