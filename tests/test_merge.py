"""Merging: every method equals mergekit's own output for the same recipe, bad inputs fail before any
tensor work, merge.py runs are evaluated and tracked, a merge-weight sweep keeps only its best merge,
and MoE builds a Mixtral-class model that generates. Inputs are two real LoRA runs of the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import CONF_DIR, REPO, cli_env, composed, read_jsonl, read_metrics
from llmsweep.harness import Job

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def runs(cache_dir, tmp_path_factory) -> dict:
    """Two LoRA runs of the tiny Mistral (same base, different seeds and learning rates) and their base:
    train.py's own run function in this process (test_train.py covers its CLI)."""
    from llmsweep.training.run import run

    out = {}
    for name, seed, lr in (("a", 1, "3e-3"), ("b", 2, "1e-2")):
        run_dir = tmp_path_factory.mktemp(f"run_{name}") / "run"
        cfg = composed(
            "model=mistral",
            "method=lora",
            f"seed={seed}",
            f"method.args.learning_rate={lr}",
            f"cache_dir={cache_dir}",
            "trainer.max_steps=10",
            "trainer.eval_on_start=false",
            "data.eval_size=8",
            "generate.num_prompts=1",
            "tracking=none",
        )
        run(cfg, Job(run_dir, f"run_{name}"))
        out[name] = run_dir
    out["base"] = Path(json.loads((out["a"] / "model" / "adapter_config.json").read_text())["base_model_name_or_path"])
    return out


@pytest.fixture(scope="module")
def full_models(runs, tmp_path_factory) -> dict:
    """The runs' adapters merged into the base here with peft directly: the inputs of the reference merges."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = {}
    for name in ("a", "b"):
        d = tmp_path_factory.mktemp(f"full_{name}")
        base = AutoModelForCausalLM.from_pretrained(str(runs["base"]), dtype=torch.float32)
        PeftModel.from_pretrained(base, str(runs[name] / "model")).merge_and_unload().save_pretrained(d)
        AutoTokenizer.from_pretrained(str(runs[name] / "model")).save_pretrained(d)
        out[name] = d
    return out


def merge_cfg(cache_dir: Path, *overrides: str):
    from hydra import compose, initialize_config_dir

    from llmsweep.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("merge", overrides=[f"cache_dir={cache_dir}", "tracking=none", *overrides])


def tensors(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    out = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


# case -> (our overrides, the same recipe written for mergekit by hand; A/B/BASE are the full-model dirs)
RECIPES = {
    "linear": (
        ["merge=linear", "merge.weights=[0.7,0.3]"],
        {
            "merge_method": "linear",
            "models": [{"model": "A", "parameters": {"weight": 0.7}}, {"model": "B", "parameters": {"weight": 0.3}}],
            "parameters": {"normalize": True},
        },
    ),
    "slerp": (
        ["merge=slerp", "merge.t=0.3"],
        {
            "merge_method": "slerp",
            "base_model": "A",
            "models": [{"model": "A"}, {"model": "B"}],
            "parameters": {"t": 0.3},
        },
    ),
    "ties": (
        ["merge=ties", "merge.weights=[0.6,0.4]", "merge.densities=[0.5,0.7]"],
        {
            "merge_method": "ties",
            "base_model": "BASE",
            "parameters": {"normalize": True},
            "models": [
                {"model": "A", "parameters": {"weight": 0.6, "density": 0.5}},
                {"model": "B", "parameters": {"weight": 0.4, "density": 0.7}},
            ],
        },
    ),
    "dare_ties": (
        ["merge=dare_ties", "merge.weights=[0.6,0.4]", "merge.densities=[0.5,0.7]"],
        {
            "merge_method": "dare_ties",
            "base_model": "BASE",
            "models": [
                {"model": "A", "parameters": {"weight": 0.6, "density": 0.5}},
                {"model": "B", "parameters": {"weight": 0.4, "density": 0.7}},
            ],
        },
    ),
    "ties_gradient": (
        ["merge=ties", "merge.weights=[[0.2,1.0],[1.0,0.2]]", "merge.densities=[0.5,0.7]"],  # per-layer weights
        {
            "merge_method": "ties",
            "base_model": "BASE",
            "parameters": {"normalize": True},
            "models": [
                {"model": "A", "parameters": {"weight": [0.2, 1.0], "density": 0.5}},
                {"model": "B", "parameters": {"weight": [1.0, 0.2], "density": 0.7}},
            ],
        },
    ),
    "task_arithmetic": (
        ["merge=task_arithmetic", "merge.weights=[0.5,0.8]"],
        {
            "merge_method": "task_arithmetic",
            "base_model": "BASE",
            "models": [{"model": "A", "parameters": {"weight": 0.5}}, {"model": "B", "parameters": {"weight": 0.8}}],
        },
    ),
    # every form of a mergekit parameter setting (issue 17.9): per-filter lists as in mergekit's examples/ties.yml
    "ties_filters": (
        [
            "merge=ties",
            "merge.weights=[[{filter: mlp, value: 0.5}, {value: 0}], [0.2, 0.6, 1]]",
            "merge.densities=[{filter: self_attn, value: 0.3}, [0.9, 0.5]]",
        ],
        {
            "merge_method": "ties",
            "base_model": "BASE",
            "parameters": {"normalize": True},
            "models": [
                {
                    "model": "A",
                    "parameters": {
                        "weight": [{"filter": "mlp", "value": 0.5}, {"value": 0}],
                        "density": {"filter": "self_attn", "value": 0.3},
                    },
                },
                {"model": "B", "parameters": {"weight": [0.2, 0.6, 1], "density": [0.9, 0.5]}},
            ],
        },
    ),
    # ... and per-filter gradients of a shared parameter, as in mergekit's examples/gradient-slerp.yml
    "slerp_filters": (
        [
            "merge=slerp",
            "merge.t=[{filter: self_attn, value: [0, 0.5, 1]}, {filter: mlp, value: [1, 0.5, 0]}, {value: 0.5}]",
        ],
        {
            "merge_method": "slerp",
            "base_model": "A",
            "models": [{"model": "A"}, {"model": "B"}],
            "parameters": {
                "t": [
                    {"filter": "self_attn", "value": [0, 0.5, 1]},
                    {"filter": "mlp", "value": [1, 0.5, 0]},
                    {"value": 0.5},
                ]
            },
        },
    ),
    # a global setting of a per-model parameter is every model's default; merge.model_parameters sets any other one
    "linear_global_weight": (
        [
            "merge=linear",
            "+merge.parameters.weight=[{filter: mlp, value: 0.8}, {value: 0.5}]",
            "merge.model_parameters=[{weight: 0.2}, {}]",
        ],
        {
            "merge_method": "linear",
            "parameters": {"normalize": True, "weight": [{"filter": "mlp", "value": 0.8}, {"value": 0.5}]},
            "models": [{"model": "A", "parameters": {"weight": 0.2}}, {"model": "B"}],
        },
    ),
    "della": (
        [
            "merge=ties",
            "merge.method=della",
            "merge.weights=[0.6,0.4]",
            "merge.densities=[0.5,0.7]",
            "merge.model_parameters=[{epsilon: 0.1}, {epsilon: [0.05, 0.2]}]",
        ],
        {
            "merge_method": "della",
            "base_model": "BASE",
            "parameters": {"normalize": True},
            "models": [
                {"model": "A", "parameters": {"weight": 0.6, "density": 0.5, "epsilon": 0.1}},
                {"model": "B", "parameters": {"weight": 0.4, "density": 0.7, "epsilon": [0.05, 0.2]}},
            ],
        },
    ),
}


def _fill(doc, paths: dict):
    if isinstance(doc, dict):
        return {k: _fill(v, paths) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_fill(v, paths) for v in doc]
    return str(paths[doc]) if isinstance(doc, str) and doc in paths else doc


@pytest.mark.parametrize("case", RECIPES)
def test_each_method_equals_mergekits_own_merge(case, runs, full_models, cache_dir, tmp_path):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions
    from transformers import AutoModelForCausalLM

    from llmsweep.merging.merge import merge

    overrides, doc = RECIPES[case]
    cfg = merge_cfg(cache_dir, *overrides, f"merge.models=[{runs['a']},{runs['b']}]")
    ours = merge(cfg, tmp_path / "ours")

    doc = _fill({**doc, "dtype": "float32"}, {"A": full_models["a"], "B": full_models["b"], "BASE": runs["base"]})
    run_merge(
        MergeConfiguration.model_validate(doc),
        str(tmp_path / "direct"),
        MergeOptions(random_seed=cfg.seed, quiet=True, device="cpu"),
    )

    got, want = tensors(ours.out_dir), tensors(tmp_path / "direct")
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k
    a = tensors(full_models["a"])
    assert any(not torch.equal(got[k], a[k]) for k in a), "the merge left model A unchanged"
    model = AutoModelForCausalLM.from_pretrained(str(ours.out_dir))
    assert torch.isfinite(model(torch.tensor([[1, 5, 9]])).logits).all()


def _variant(base: Path, out: Path, model_type: str, **shape) -> Path:
    """A model dir of another architecture or shape, with the base's tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base))
    dims = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
    dims.update(shape)
    AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, vocab_size=len(tok), **dims)).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _other_tokenizer(base: Path, out: Path) -> Path:
    import shutil

    from transformers import AutoTokenizer

    shutil.copytree(base, out)
    tok = AutoTokenizer.from_pretrained(str(base))
    tok.add_tokens(["<extra_token>"])
    tok.save_pretrained(out)
    return out


@pytest.mark.parametrize(
    "case,expect",
    [
        ("gpt_neox", "model_type mistral vs gpt_neox"),
        ("wider", "shape [2048, 64] vs [2048, 32]"),
        ("tokenizer", "tokenizer vocabulary"),
    ],
)
def test_mismatched_inputs_fail_before_any_tensor_work(case, expect, runs, tmp_path):
    from llmsweep.errors import UserError
    from llmsweep.merging.merge import merge

    other = {
        "gpt_neox": lambda: _variant(runs["base"], tmp_path / "neox", "gpt_neox"),
        "wider": lambda: _variant(runs["base"], tmp_path / "narrow", "mistral", hidden_size=32, num_key_value_heads=2),
        "tokenizer": lambda: _other_tokenizer(runs["base"], tmp_path / "tok"),
    }[case]()
    cache = tmp_path / "cache"
    cfg = merge_cfg(cache, "merge=linear", f"merge.models=[{runs['a']},{other}]")
    with pytest.raises(UserError) as e:
        merge(cfg, tmp_path / "out")
    msg = str(e.value)
    assert expect in msg
    assert f"merge.models[0] ({runs['a']})" in msg and f"merge.models[1] ({other})" in msg
    assert (
        not (tmp_path / "out").exists() and not (cache / "merged_adapters").exists()
    )  # nothing merged, not even the adapter


@pytest.mark.parametrize(
    "overrides,expect",
    [
        (["merge=slerp", "models3"], "merge=slerp takes 2 models, merge.models has 3"),
        (["merge=slerp", "merge.t=null"], "merge=slerp needs t"),
        (["merge=dare_ties", "merge.weights=[1.0]"], "merge.weights has 1 entries but merge.models has 2"),
        (["merge=dare_ties", "merge.densities=[lots,0.5]"], "merge.densities[0]='lots'"),
        (
            ["merge=ties", "+merge.parameters.strength=2"],
            "merge.parameters.strength: not a parameter of mergekit's ties",
        ),
        (["merge=linear", "merge.models=[/nonexistent/run]"], "'/nonexistent/run' is not a run dir"),
        (["merge=linear", "merge.method=lineer"], "merge.method=lineer: not a merge method of mergekit"),
        (["merge=ties", "merge.weights=[[[0.5]],1]"], "merge.weights[0]=[[0.5]]: not a mergekit parameter setting"),
        (["merge=ties", "merge.weights=[[{filter: mlp, value: lots}],1]"], "Input should be a valid number"),
        (
            ["merge=ties", "merge.model_parameters=[{t: 0.5}, {}]"],
            "merge.model_parameters[0].t: not a per-model parameter",
        ),
        (["merge=ties", "merge.model_parameters=[{weight: 0.5}, {}]", "merge.weights=[1,1]"], "both set weight"),
        (["merge=moe", "moe_same_prompts"], "same prompts"),
        (["merge=moe", "moe_one_expert"], "at least two merge.experts"),
    ],
)
def test_bad_recipes_fail_with_the_field_named(overrides, expect, runs, tmp_path):
    from llmsweep.errors import UserError
    from llmsweep.merging.merge import merge

    a, b = runs["a"], runs["b"]
    macros = {
        "models3": f"merge.models=[{a},{b},{a}]",
        "moe_same_prompts": f"merge.experts=[{{path: {a}, prompts: [hi]}}, {{path: {b}, prompts: [hi]}}]",
        "moe_one_expert": f"merge.experts=[{{path: {a}, prompts: [hi]}}]",
    }
    ovs = [macros.get(o, o) for o in overrides]
    if not any(o.startswith("merge.models=") for o in ovs):
        ovs.append(f"merge.models=[{a},{b}]")
    cfg = merge_cfg(tmp_path / "cache", *ovs)
    with pytest.raises(UserError, match=None) as e:
        merge(cfg, tmp_path / "out")
    assert expect in str(e.value)
    assert not (tmp_path / "out").exists()


def test_merge_py_run_is_evaluated_and_tracked(runs, cache_dir, tmp_path):
    from llmsweep.tracking.offline import offline_runs, read_run

    run_dir = tmp_path / "merge"
    argv = [
        sys.executable,
        "merge.py",
        "merge=slerp",
        f"merge.models=[{runs['a']},{runs['b']}]",
        "merge.t=0.4",
        "+eval.sets.reseeded={seed: 1}",
        "data.eval_size=8",
        "generate.num_prompts=3",
        f"hydra.run.dir={run_dir}",
    ]
    proc = subprocess.run(argv, cwd=REPO, env=cli_env(cache_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]

    m = read_metrics(run_dir)
    assert m["objective"] == m["eval_loss"] and m["eval_loss"] > 0
    assert m["eval_reseeded_loss"] > 0 and m["eval_reseeded_loss"] != m["eval_loss"]  # another eval split, another loss
    assert m["kept"] is True and (run_dir / "merged" / "config.json").exists()
    assert m["recipe"]["merge_method"] == "slerp" and m["recipe"]["parameters"] == {"t": 0.4}
    answers = read_jsonl(run_dir / "answers.jsonl")
    assert len(answers) == 3 and all(a["prompt"] and a["reference"] and "merged_answer" in a for a in answers)
    judged = read_jsonl(run_dir / "judgments.jsonl")  # judge=reference by default, as for a training run
    assert [j["answer"] for j in judged] == [a["merged_answer"] for a in answers] and {j["which"] for j in judged} == {
        "tuned"
    }
    assert 1 <= m["judge_mean"] <= 5 and m["judge_missing"] == 0

    (wb,) = offline_runs(run_dir)
    rec = read_run(wb)
    assert rec["run"]["job_type"] == "merge"
    assert rec["config"]["merge.method"] == "slerp"
    assert rec["config"]["mergekit"]["merge_method"] == "slerp"
    assert rec["summary"]["eval_loss"] == pytest.approx(m["eval_loss"])
    assert rec["summary"]["judge/mean"] == pytest.approx(m["judge_mean"])
    # the merged model is logged as an artifact reference (its file:// URI, no upload of the weights)
    assert (run_dir / "merged").resolve().as_uri().encode() in next(wb.glob("run-*.wandb")).read_bytes()


def test_merge_py_without_models_exits_2(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "merge.py", "merge=dare_ties", "tracking=none", f"hydra.run.dir={tmp_path}"],
        cwd=REPO,
        env=cli_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "merge=dare_ties needs merge.models" in proc.stderr and "Traceback" not in proc.stderr


def test_weight_sweep_keeps_only_the_best_merge(runs, cache_dir, tmp_path):
    import optuna

    sweep = tmp_path / "sweep"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    argv = [
        sys.executable,
        "merge.py",
        "-m",
        "+sweeps=merge_weights",
        "merge=dare_ties",
        f"merge.models=[{runs['a']},{runs['b']}]",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.plots=false",
        "tracking=none",
        "data.eval_size=8",
        "generate.num_prompts=1",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.run(argv, cwd=REPO, env=cli_env(cache_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]

    (summary,) = optuna.get_all_study_summaries(storage)
    assert summary.study_name == "merge-densities0-densities1-weights0-weights1"
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 3
    assert len({t.params["merge.weights.0"] for t in trials}) == 3  # the searched weights reached the jobs
    for t in trials:
        m = read_metrics(Path(t.user_attrs["run_dir"]))
        assert m["objective"] == pytest.approx(t.value)
        assert m["recipe"]["models"][0]["parameters"]["weight"] == pytest.approx(t.params["merge.weights.0"])
    kept = sorted(p.parent.name for p in sweep.glob("*/merged"))
    assert kept == [str(study.best_trial.number)]


@pytest.mark.parametrize("gate_mode", ["hidden", "cheap_embed", "random"])
def test_moe_of_two_experts_is_a_mixtral_that_generates(gate_mode, runs, full_models, cache_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmsweep.generation import generate_answers
    from llmsweep.merging.merge import merge

    experts = (
        f"merge.experts=[{{path: {runs['a']}, prompts: ['다음 글을 읽고 질문에 답하세요']}}, "
        f"{{path: {runs['b']}, prompts: ['짧은 시를 한 편 써 줘!']}}]"
    )  # hidden: last-token states, so different last tokens
    cfg = merge_cfg(cache_dir, "merge=moe", experts, f"merge.gate_mode={gate_mode}")
    out = merge(cfg, tmp_path / "moe").out_dir

    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["MixtralForCausalLM"] and config["num_local_experts"] == 2
    got = tensors(out)
    for i, name in enumerate(("a", "b")):  # expert i's MLP is expert model i's MLP
        src = tensors(full_models[name])
        fused = torch.cat([src["model.layers.1.mlp.gate_proj.weight"], src["model.layers.1.mlp.up_proj.weight"]])
        assert torch.equal(got["model.layers.1.mlp.experts.gate_up_proj"][i], fused)
    for layer in (0, 1):  # a router row per expert, told apart by the prompts (or at random)
        gate = got[f"model.layers.{layer}.mlp.gate.weight"]
        assert gate.shape == (2, 64) and not torch.equal(gate[0], gate[1])

    model = AutoModelForCausalLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    assert type(model).__name__ == "MixtralForCausalLM"
    text = tok.apply_chat_template(
        [{"role": "user", "content": "서울은 어느 나라의 수도인가요?"}], tokenize=False, add_generation_prompt=True
    )
    ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    new = model.generate(ids, do_sample=False, max_new_tokens=6, min_new_tokens=6, pad_token_id=tok.pad_token_id)[
        0, ids.shape[1] :
    ]
    assert len(new) == 6 and torch.isfinite(model(ids).logits).all()
    assert isinstance(
        generate_answers(model, tok, [[{"role": "user", "content": "안녕하세요"}]], 4)[0], str
    )  # the runs' answer path


def test_joint_trial_trains_its_experts_then_merges_them(cache_dir, tmp_path):
    """A joint-study trial: both experts train with the shared (searched) keys, then merge; their merged
    copies live in a scratch dir, not the cache (every trial's adapters are new)."""
    from llmsweep.merging.run import run

    rows = [
        json.loads(line)
        for line in (REPO / "src/llmsweep/data/samples/dolly_ko.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    for name, keep in (("qa", True), ("chat", False)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows if bool(r["context"]) == keep),
            encoding="utf-8",
        )
    experts = f"joint.experts=[{{name: qa, overrides: ['data.path={tmp_path / 'qa.jsonl'}']}}, {{name: chat, overrides: ['data.path={tmp_path / 'chat.jsonl'}']}}]"
    # a cache of its own (the shared one's entries linked in): other tests may add merged adapters meanwhile
    own_cache = tmp_path / "cache"
    own_cache.mkdir()
    for entry in cache_dir.iterdir():
        if entry.name != "merged_adapters":
            (own_cache / entry.name).symlink_to(entry)
    cfg = merge_cfg(
        own_cache,
        "merge=ties",
        experts,
        "merge.weights=[0.7,0.3]",
        "+joint.train.method.lora.r=4",
        "+joint.train.trainer.max_steps=3",
        "+joint.train.trainer.eval_on_start=false",
        "+joint.train.data.eval_size=8",
        "+joint.train.generate.num_prompts=1",
        "data.eval_size=8",
        "generate.num_prompts=1",
    )
    run_dir = tmp_path / "trial"
    objective = run(cfg, Job(run_dir, "joint"))

    for name in ("qa", "chat"):
        adapter = json.loads((run_dir / "experts" / name / "model" / "adapter_config.json").read_text())
        assert adapter["r"] == 4
        assert read_metrics(run_dir / "experts" / name)["global_step"] == 3
    m = read_metrics(run_dir)
    assert m["objective"] == objective == m["eval_loss"]
    assert m["expert_qa_eval_loss"] != m["expert_chat_eval_loss"]
    assert [x["parameters"]["weight"] for x in m["recipe"]["models"]] == [0.7, 0.3]
    assert not (own_cache / "merged_adapters").exists() and not list(run_dir.glob(".adapters.*"))
