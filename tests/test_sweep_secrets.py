"""No secret reaches anything a sweep writes: canary values from the environment, a storage URL's password and
secret-looking overrides, searched for as bytes in every file of the sweep dir (W&B's binary .wandb, the pickled
training_args.bin...), on the console and in the study; only Hydra's own record of the command line keeps them."""

from __future__ import annotations

import optuna
import pytest
from omegaconf import OmegaConf

from helpers import SECRETS, cli_env, composed, run_cli
from llmsweep.errors import UserError
from llmsweep.tracking.offline import offline_runs, read_run
from llmsweep.tracking.secrets import redact, redact_argv

HYDRA_RECORDS = (".hydra", "multirun.yaml")  # Hydra's record of the command line (README: keep secrets out with oc.env)


def test_nothing_a_sweep_writes_carries_a_secret(cache_dir, tmp_path, postgres_url):
    canaries = {
        **SECRETS,  # HF_TOKEN, WANDB_API_KEY in the environment
        "LLMSWEEP_CANARY_SECRET": "envCanarySecret2718",  # in the environment, reaching the config by interpolation
        "url password": "urlCanaryPass3141",  # the storage's (the test server trusts any password)
        "judge.api_key": "ovrCanaryKey1618",  # a secret-looking override of the app's config
        "env_set token": "hydraCanaryTok1414",  # a secret-looking override of Hydra's
    }
    user, rest = postgres_url.split("@", 1)
    storage = f"{user}:{canaries['url password']}@{rest}"
    sweep_dir = tmp_path / "sweep"
    env = cli_env(cache_dir, **SECRETS, LLMSWEEP_CANARY_SECRET=canaries["LLMSWEEP_CANARY_SECRET"])
    proc = run_cli(
        cache_dir,
        "-m",
        "hydra/sweeper=llmsweep_optuna",
        "hydra.sweeper.sampler.name=grid",
        "method.args.learning_rate=choice(1e-4,3e-4)",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=canary",
        f"hydra.sweeper.storage={storage}",
        "judge=none",
        f"+judge.api_key={canaries['judge.api_key']}",
        f"+hydra.job.env_set.LLMSWEEP_CANARY_TOKEN={canaries['env_set token']}",
        "tracking.tags=[${oc.env:LLMSWEEP_CANARY_SECRET}]",
        "trainer.max_steps=6",
        "trainer.eval_steps=3",
        "trainer.save_strategy=steps",
        "trainer.save_steps=3",
        "generate.num_prompts=2",
        "tiny_base.pretrain_steps=0",
        out=sweep_dir,
        env=env,
    )
    study = optuna.load_study(study_name="canary", storage=postgres_url)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    files = [p for p in sweep_dir.rglob("*") if p.is_file()]
    checked = [p for p in files if not any(part in HYDRA_RECORDS for part in p.relative_to(sweep_dir).parts)]
    names = {p.name for p in checked}
    assert {"training_args.bin", "debug.log", "train.log", "metrics.json", "output.log"} <= names, names
    assert any(p.suffix == ".wandb" for p in checked)
    texts = {
        "console": proc.stdout + proc.stderr,
        "study": repr([(t.user_attrs, t.system_attrs, t.params) for t in study.trials] + [study.user_attrs]),
    }
    for name, value in canaries.items():
        for path in checked:
            assert value.encode() not in path.read_bytes(), f"{name} leaked into {path}"
        for where, text in texts.items():
            assert value not in text, f"{name} leaked into the {where}"
    assert any(canaries["judge.api_key"].encode() in p.read_bytes() for p in files if p.name == "overrides.yaml"), (
        "Hydra's own record keeps the command line (documented)"
    )

    (wb,) = offline_runs(sweep_dir / "0")
    run = read_run(wb)
    assert "+judge.api_key=***" in run["run"]["display_name"] and run["config"]["judge.api_key"] == "***"
    assert run["config"]["tracking.tags"] == ["***"]
    assert run["summary"]["eval_loss"] > 0, "the redacted run still tracked its results"


def test_redact_masks_url_passwords_and_secret_looking_keys_but_not_special_tokens(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:dbPassw0rd@db/app")  # a name that does not look secret
    assert (
        redact("connect postgresql+psycopg2://u:p4ss@h:5432/db, then http://host:8000/v1")
        == "connect postgresql+psycopg2://u:***@h:5432/db, then http://host:8000/v1"
    )
    assert redact({"judge": {"api_key": "sk-1", "api_key_env": "OPENAI_API_KEY"}, "pad_token": "<pad>"}) == {
        "judge": {"api_key": "***", "api_key_env": "OPENAI_API_KEY"},
        "pad_token": "<pad>",
    }
    assert redact("log: dbPassw0rd") == "log: ***", "a URL password from the environment is known everywhere"
    assert redact_argv(["train.py", "+trainer.hub_token=hf_abc", "trial.storage='mysql://u:pw@h/d'", "x=1"]) == [
        "train.py",
        "+trainer.hub_token=***",
        "trial.storage='mysql://u:***@h/d'",
        "x=1",
    ]


def test_a_token_in_the_trainer_arguments_is_refused_it_would_be_pickled_with_the_model(tmp_path):
    import trl

    from llmsweep.training.trainer import trl_config

    cfg = composed("+trainer.hub_token=hf_secretvalue")
    with pytest.raises(UserError, match=r"trainer\.hub_token: .*training_args\.bin.*HF_TOKEN"):
        trl_config(trl.SFTConfig, cfg, tmp_path, "none", "run")
    assert OmegaConf.select(composed(), "trainer.hub_token") is None
