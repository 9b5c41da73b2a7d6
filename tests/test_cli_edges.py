"""Issue 17's rough edges of the command line: a summary at the end of a multirun, did-you-mean for key typos,
types checked before any heavy import, no run dir left by a run that failed before any work, `install.sh --cuda`."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import CONF_DIR, REPO, cli_env, read_metrics
from llmsweep.cli_checks import check_argv, check_config
from llmsweep.config import TrainConf, register_configs
from llmsweep.errors import UserError
from llmsweep.merging.config import MergeRunConf
from llmsweep.rag.config import RagRunConf

# a tiny run that is quick even on a fresh cache: no pretraining of the tiny base, 2 steps, no judge, no W&B
QUICK = [
    "tiny_base.pretrain_steps=0",
    "trainer.max_steps=2",
    "trainer.eval_steps=1",
    "generate.num_prompts=1",
    "generate.max_new_tokens=4",
    "judge=none",
    "tracking=none",
]


def _cli(app: str, *args: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    """`python APP ARGS` from `cwd` (so the outputs/ it leaves, or not, are its own)."""
    argv = [sys.executable, str(REPO / app), *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


# ---- key typos: the nearest valid keys, not Hydra's `+key` ---------------------------------------------------


@pytest.mark.parametrize(
    ("app", "override", "suggested"),
    [
        ("train.py", "data.eval_sise=3", "data.eval_size"),
        ("train.py", "modle=solar", "model"),
        ("train.py", "model.nam=x", "model.name"),
        ("train.py", "trainer.max_stepz=5", "trainer.max_steps"),  # a TrainingArguments field
        ("train.py", "+method.args.lerning_rate=0.1", "method.args.learning_rate"),  # `+` on a pass-through: no escape
        ("train.py", "method.lora.rr=4", "method.lora.r"),  # a peft.LoraConfig field
        ("merge.py", "merge.weigths=[1]", "merge.weights"),
        ("merge.py", "eval.args.max_lenght=64", "eval.args.max_length"),
    ],
)
def test_key_typo_names_the_nearest_valid_keys_in_one_line(app, override, suggested, tmp_path):
    line = _one_line_error(_cli(app, override, cwd=tmp_path))
    key = override.lstrip("+").split("=")[0]
    assert line.startswith(f"error: {key}: ") and f"did you mean {suggested}" in line
    assert "+" not in line  # no hint that would add a key nothing reads
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "trainer.max_steps=abc",
            "trainer.max_steps='abc': expected an integer, as max_steps is a field of trl.SFTConfig",
        ),
        ("trainer.max_steps=10,abc", "trainer.max_steps='abc': expected an integer"),  # each value of a multirun
        ("method.args.learning_rate=fast", "method.args.learning_rate='fast': expected a number"),
        ("trainer.bf16=yes", "trainer.bf16='yes': expected true or false"),
        ("method.lora.r=1.5", "method.lora.r=1.5: expected an integer, as r is a field of peft.LoraConfig"),
        ("seed=abc", "seed='abc': expected an integer"),  # the schema's own fields: the same one line
        ("scale=huge", None),  # a group choice stays Hydra's, with the list of options
    ],
)
def test_wrong_type_fails_in_one_line_before_hydra_composes(override, expected, tmp_path):
    proc = _cli("train.py", *(["-m"] if "," in override else []), override, cwd=tmp_path)
    if expected is None:
        assert proc.returncode != 0 and "tiny" in proc.stderr and "full" in proc.stderr
        return
    assert expected in _one_line_error(proc)
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "multirun").exists()


def test_a_bad_value_from_the_composed_config_fails_before_torch_and_leaves_no_run_dir(tmp_path):
    # the command line only holds an interpolation: the value is known once composed, in the task function
    env = {**cli_env(tmp_path / "cache"), "STEPS": "abc"}
    proc = _cli("train.py", "trainer.max_steps=${oc.env:STEPS}", cwd=tmp_path, env=env)
    assert "trainer.max_steps='abc': expected an integer" in _one_line_error(proc)
    assert "bitsandbytes" not in proc.stderr  # no heavy import happened
    assert not (tmp_path / "outputs").exists()  # Hydra had made outputs/DATE/TIME: removed with its parents


def test_a_field_of_the_other_recipes_config_is_refused_for_this_recipe():
    register_configs()
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        sft = compose("train", overrides=["method=lora", "+method.args.beta=0.1"])
        dpo = compose("train", overrides=["method=dpo", "method.args.beta=0.1"])
    with pytest.raises(UserError, match=r"method.args.beta: not a field of trl.SFTConfig, which method=lora builds"):
        check_config(sft, "train")
    check_config(dpo, "train")


def test_every_bundled_config_and_sweep_passes_the_checks():
    """No false alarm: every model x method x scale and every distributed x method x scale composition (and merge x
    scale), and every key and value a bundled sweep searches, are valid (scale=full once set transformers 4's
    `warmup_ratio`). The distributed modes touch trainer and method settings only, so one model stands for all."""
    from hydra import compose, initialize_config_dir

    register_configs()
    conf = Path(CONF_DIR)
    groups = ("model", "method", "scale", "distributed")
    options = {g: sorted(p.stem for p in (conf / g).glob("*.yaml")) for g in (*groups, "merge")}
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        covering = [
            *itertools.product(options["model"], options["method"], options["scale"], ["none"]),
            *itertools.product(options["model"][:1], options["method"], options["scale"], options["distributed"]),
        ]
        for choice in covering:
            check_config(compose("train", overrides=[f"{g}={c}" for g, c in zip(groups, choice, strict=True)]), "train")
        for mg, sc in itertools.product(options["merge"], options["scale"]):
            check_config(compose("merge", overrides=[f"merge={mg}", f"scale={sc}"]), "merge")
    for sweep in sorted((REPO / "sweeps").glob("*.yaml")):
        params = yaml.safe_load(sweep.read_text())["hydra"]["sweeper"]["params"]
        merge = any(k.startswith(("merge.", "joint.")) for k in params)
        rag = any(k.startswith(("rag.", "chunk.", "retriever")) for k in params)
        argv = ["-m", *(f"{k}={v}" for k, v in params.items())]
        schema, app = (RagRunConf, "rag") if rag else (MergeRunConf, "merge") if merge else (TrainConf, "train")
        check_argv(argv, schema, app)


# ---- a multirun ends with a summary --------------------------------------------------------------------------


def test_multirun_ends_with_a_table_of_every_job_failed_ones_included(tmp_path):
    sweep = tmp_path / "sweep"
    env = cli_env(tmp_path / "cache")  # a cache of its own: the base is built without pretraining
    args = ["-m", "objective=eval_loss,nosuch", *QUICK, f"hydra.sweep.dir={sweep}"]
    proc = _cli("train.py", *args, cwd=tmp_path, env=env)
    assert proc.returncode != 0  # job 1 failed: the multirun says so
    out = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("multirun: 2 jobs"))
    assert out[start] == "multirun: 2 jobs, 1 failed, 1 finished"
    header, job0, job1, results = out[start + 1 : start + 5]
    assert header.split() == ["job", "run", "dir", "objective", "eval_loss", "judge_mean", "state"]
    metrics = read_metrics(sweep / "0")
    assert job0.split() == [
        "#0",
        "objective=eval_loss",
        "sweep/0",
        f"{metrics['objective']:.4g}",
        f"{metrics['eval_loss']:.4g}",
        "-",
        "finished",
    ]
    assert job1.split() == ["#1", "objective=nosuch", "sweep/1", "-", "-", "-", "failed"]
    assert results.startswith("results: sweep ")
    assert not (sweep / "1" / "metrics.json").exists() and (sweep / "1" / ".hydra").is_dir()  # a sweep's job dirs stay


def test_the_summary_is_the_basic_sweepers_only():
    """Hydra's basic sweeper (any launcher) gets the table; the Optuna sweeps (`+sweeps=...`) print their own."""
    from hydra import compose, initialize_config_dir

    from llmsweep.multirun_summary import BASIC_SWEEPER

    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        for launcher in ("basic", "local", "slurm_local"):
            cfg = compose("train", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
            assert cfg.hydra.sweeper._target_ == BASIC_SWEEPER
            assert cfg.hydra.callbacks.multirun_summary._target_ == "llmsweep.multirun_summary.MultirunSummary"
        optuna = compose("train", overrides=["+sweeps=lora_rank"], return_hydra_config=True)
        assert optuna.hydra.sweeper._target_ != BASIC_SWEEPER


# ---- a run that failed before any work leaves nothing; one that worked keeps its dir -------------------------


def test_a_refused_input_leaves_no_run_dir_but_a_failure_after_training_keeps_it(tmp_path):
    env = cli_env(tmp_path / "cache")
    proc = _cli("train.py", "data.path=no/such.jsonl", *QUICK, cwd=tmp_path, env=env)
    assert "no/such.jsonl" in _one_line_error(proc)
    assert not (tmp_path / "outputs").exists()

    run = tmp_path / "kept"
    proc = _cli("train.py", "objective=nosuch", *QUICK, f"hydra.run.dir={run}", cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: objective=nosuch is not a metric")  # after progress
    assert (run / "model").is_dir()  # it trained and saved: the run dir is work, kept


# ---- install.sh --cuda ---------------------------------------------------------------------------------------


def _install(*args: str):
    return subprocess.run(["bash", "install.sh", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_install_cuda_takes_pypis_default_torch_and_the_gpu_extras():
    proc = _install("--cuda", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    steps = [line.replace("\\", "") for line in proc.stdout.splitlines()]
    torch_step = next(s for s in steps if " torch==" in s)
    assert "torch==2.13.0,!=2.13.0+cpu" in torch_step and "-c constraints.txt" in torch_step
    assert any(s.rstrip().endswith("-e .[gpu]") for s in steps)
    assert not any("vllm" in s for s in steps)
    extras = _pyproject_extras()
    assert "deepspeed" in extras["gpu"]

    both = [line.replace("\\", "") for line in _install("--vllm", "--test", "--dry-run").stdout.splitlines()]
    assert any(s.rstrip().endswith("-e .[gpu,test]") for s in both)
    assert any(s.rstrip().endswith("install -c constraints.txt vllm") for s in both)


def test_install_default_stays_as_it_was_and_unknown_options_are_refused():
    steps = [line.replace("\\", "") for line in _install("--dry-run").stdout.splitlines()]
    assert any(s.rstrip().endswith("install -c constraints.txt torch==2.13.0") for s in steps)
    assert any(s.rstrip().endswith("-e .") for s in steps)
    bad = _install("--cuda", "--gpu")
    assert bad.returncode == 2 and "unknown option '--gpu'" in bad.stderr


def _pyproject_extras() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
