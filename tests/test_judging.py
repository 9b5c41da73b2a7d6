"""Judging: the rubric parser, the reference judge, LLM judges over real HTTP servers, human ratings,
agreement statistics, DPO pairs, and judging as a stage of real training runs and sweeps."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import optuna
import pytest

from helpers import REPO, chat_server, cli_env, composed, read_jsonl, read_metrics, run_cli
from llmsweep.errors import UserError
from llmsweep.judging.agreement import agreement
from llmsweep.judging.human import read_ratings
from llmsweep.judging.openai_judge import OpenAIJudge
from llmsweep.judging.reference import ReferenceJudge
from llmsweep.judging.rubric import grading_messages, parse_rating
from llmsweep.judging.verdict import Item
from llmsweep.tracking.offline import offline_runs, read_run

FAST = ["trainer.max_steps=6", "trainer.eval_steps=3", "generate.num_prompts=3", "generate.max_new_tokens=16"]
ITEMS = [
    Item("한국의 수도는 어디인가요?", "서울입니다.", "한국의 수도는 서울입니다."),
    Item("1 더하기 1은?", "3", "2입니다."),
]


def judging_cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsweep.judging", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"judging {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


# --- the rubric --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, score, how",
    [
        ("The answer is correct and complete.\nRating: [[5]]", 5, "strict"),
        ("좋은 답변입니다.\nRating: [[3]]  \n", 3, "strict"),
        ("I would give it [[4]] overall, maybe [[2]] for style.", 2, "fallback"),  # the last [[N]] counts
        ("Rating: [[7]]", None, "unparsable: rating [[7]] is not an integer from 1 to 5"),
        ("Rating: [[3.5]]", None, "unparsable: rating [[3.5]] is not an integer from 1 to 5"),
        ("It is fine. Rating: 4", None, "unparsable: no 'Rating: [[N]]' in the judge's reply"),
        ("", None, "unparsable: no 'Rating: [[N]]' in the judge's reply"),
    ],
)
def test_rating_is_parsed_strictly_with_a_documented_fallback(text, score, how):
    assert parse_rating(text) == (score, how)


@pytest.mark.parametrize("language, marker", [("en", "[Instruction]"), ("ko", "[지시]")])
def test_grading_prompt_carries_instruction_answer_reference_and_the_rating_format(language, marker):
    system, user = grading_messages("질문", "답변", "참고", language)
    assert "Rating: [[N]]" in system["content"] and "1" in system["content"] and "5" in system["content"]
    assert (
        marker in user["content"]
        and "질문" in user["content"]
        and "답변" in user["content"]
        and "참고" in user["content"]
    )
    _, no_ref = grading_messages("질문", "답변", None, language)
    assert "참고" not in no_ref["content"]


# --- the reference judge ------------------------------------------------------------------------------


def test_reference_judge_maps_chrf_onto_1_to_5():
    from sacrebleu.metrics import CHRF

    judge = ReferenceJudge()
    ref = "한국의 수도는 서울이며 인구는 약 천만 명입니다."
    partial = "한국의 수도는 서울입니다."
    items = [Item("q", ref, ref), Item("q", "zzzz", ref), Item("q", partial, ref), Item("q", "anything", "")]
    v = judge.judge(items)
    assert v[0].score == 5 and v[0].raw == "chrF=100.00"
    assert v[1].score == 1
    chrf = CHRF().sentence_score(partial, [ref]).score
    assert 1 + sum(chrf >= edge for edge in (20, 40, 60, 80)) == v[2].score  # the documented mapping
    assert v[3].score is None and "no reference" in v[3].missing
    with pytest.raises(UserError, match="judge.bins"):
        ReferenceJudge(bins=[50, 40, 60, 80])


@pytest.mark.parametrize(
    "choice, target",
    [
        ("reference", "ReferenceJudge"),
        ("openai", "OpenAIJudge"),
        ("hf", "HFJudge"),
        ("human", "HumanRatings"),
        ("none", None),
    ],
)
def test_every_judge_choice_composes_and_reference_is_the_default(choice, target):
    cfg = composed(f"judge={choice}")
    assert cfg.judge.name == choice
    if target is None:
        assert cfg.judge._target_ is None
    else:
        assert cfg.judge._target_.endswith("." + target)
    assert composed().judge.name == "reference"


def test_judge_none_writes_nothing_and_adds_no_metrics(tmp_path):
    from omegaconf import OmegaConf

    from llmsweep.judging import judge_run

    answers = [{"prompt": "q", "reference": "r", "base_answer": "b", "tuned_answer": "t"}]
    assert judge_run(OmegaConf.create({"judge": {"name": "none", "_target_": None}}), tmp_path, answers).metrics == {}
    assert not (tmp_path / "judgments.jsonl").exists()
    m = judge_run(composed("judge=reference"), tmp_path, answers).metrics
    assert (m["judge_count"], m["judge_base_count"]) == (1, 1) and len(read_jsonl(tmp_path / "judgments.jsonl")) == 2


# --- agreement on a hand-made set -----------------------------------------------------------------------


def test_agreement_statistics_on_a_hand_made_set():
    """Judge vs human on 5 answers:   judge = 1 2 3 4 5,   human = 1 3 3 5 4.

    Spearman: judge ranks 1..5; human ranks (ties averaged) 1, 2.5, 2.5, 5, 4. Rank differences
    d = 0, -0.5, 0.5, -1, 1; with ties use Pearson on the ranks: mean 3 each; deviations
    j = -2,-1,0,1,2 and h = -2,-0.5,-0.5,2,1; sum(j*h) = 4+0.5+0+2+2 = 8.5; sum(j^2) = 10;
    sum(h^2) = 4+0.25+0.25+4+1 = 9.5; rho = 8.5 / sqrt(10 * 9.5) = 0.872082...

    Quadratic kappa: weights w_ij = (i-j)^2 / 16 over the scale 1..5. Observed disagreement
    sum_k w(j_k, h_k) / n = (0 + 1 + 0 + 1 + 1) / 16 / 5 = 3/80. Expected: marginals judge = 1 each of 1..5
    (1/5), human: 1 -> 1/5, 3 -> 2/5, 4 -> 1/5, 5 -> 1/5; E = sum_ij pj_i ph_j w_ij
    = (1/5) * sum_i [ (1/5)(i-1)^2 + (2/5)(i-3)^2 + (1/5)(i-4)^2 + (1/5)(i-5)^2 ] / 16
    with sum_i (i-c)^2 over i=1..5 = 30, 10, 15, 30 for c = 1, 3, 4, 5:
    = (1/5)(6 + 4 + 3 + 6) / 16 = 19/80. kappa = 1 - (3/80) / (19/80) = 16/19 = 0.842105...
    """
    judge = {("p", str(i)): s for i, s in enumerate([1, 2, 3, 4, 5])}
    human = {("p", str(i)): s for i, s in enumerate([1, 3, 3, 5, 4])}
    human[("p", "unrated by the judge")] = 2  # only answers both scored count
    a = agreement(judge, human)
    assert a["n"] == 5
    assert a["spearman"] == pytest.approx(8.5 / math.sqrt(95))
    assert a["kappa_quadratic"] == pytest.approx(16 / 19)


def test_kappa_weights_follow_the_scale_not_the_scores_seen():
    """Scores 1 and 5 only: on the 1..5 scale they are 4 apart (w = 1). Perfect disagreement on two
    answers with both marginals (1/2, 1/2): observed 1, expected (1/4)(0 + 1 + 1 + 0) = 1/2, kappa = 1 - 2 = -1."""
    a = agreement({("p", "a"): 1, ("p", "b"): 5}, {("p", "a"): 5, ("p", "b"): 1})
    assert a["kappa_quadratic"] == pytest.approx(-1.0) and a["spearman"] == pytest.approx(-1.0)
    assert math.isnan(agreement({("p", "a"): 3}, {("p", "a"): 3})["kappa_quadratic"])


# --- human ratings --------------------------------------------------------------------------------------


def test_human_ratings_are_validated_with_line_numbers(tmp_path):
    good = tmp_path / "r.csv"
    good.write_text('prompt,answer,score\nq1,"a1, with a comma",4\n"q2\nover two lines",a2,2\n', encoding="utf-8")
    assert read_ratings(good) == {("q1", "a1, with a comma"): 4, ("q2\nover two lines", "a2"): 2}

    bad = tmp_path / "bad.csv"
    bad.write_text('prompt,answer,score\n"q1\nspans",a1,4\nq2,a2,6\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.csv line 4: score '6' is not an integer from 1 to 5"):
        read_ratings(bad)
    header = tmp_path / "header.csv"
    header.write_text("prompt,response,rating\nq,a,3\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"header.csv line 1: .*lacks \['answer', 'score'\]"):
        read_ratings(header)

    jl = tmp_path / "r.jsonl"
    jl.write_text('{"prompt": "q", "answer": "a", "score": 3}\n\n{"prompt": "q2", "score": 3}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"r.jsonl line 3: missing or empty field 'answer'"):
        read_ratings(jl)
    jl.write_text(
        '{"prompt": "q", "answer": "a", "score": 3}\n{"prompt": "q", "answer": "a", "score": 5}\n', encoding="utf-8"
    )
    with pytest.raises(UserError, match=r"r.jsonl line 2: this prompt/answer was already rated 3, now 5"):
        read_ratings(jl)
    jl.write_text('{"prompt": "q", "answer": "a", "score": true}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"line 1: score True is not an integer"):
        read_ratings(jl)


# --- a misbehaving remote judge ----------------------------------------------------------------------------


class ScriptedJudgeServer:
    """A real HTTP server on loopback speaking the OpenAI chat-completions format with scripted replies.

    This is a test double of a remote LLM judge: no real judge model can run on this machine, and a
    scripted one is the only way to get a well-formed `Rating: [[N]]` and to misbehave on purpose.
    Each request takes the next step of `script`: ("text", reply) | ("status", code) | ("sleep", seconds)
    | ("body", raw bytes); with the script used up it replies `Rating: [[3]]`."""

    def __init__(self):
        self.script: list[tuple] = []
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                kind, arg = outer.script.pop(0) if outer.script else ("text", "Fine.\nRating: [[3]]")
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "text", "Too late.\nRating: [[5]]"
                if kind == "status":
                    self._send(
                        arg, json.dumps({"error": {"message": f"scripted {arg}", "type": "server_error"}}).encode()
                    )
                elif kind == "body":
                    self._send(200, arg, "text/plain")
                else:
                    self._send(
                        200,
                        json.dumps(
                            {
                                "id": "chatcmpl-1",
                                "object": "chat.completion",
                                "created": 0,
                                "model": body["model"],
                                "choices": [
                                    {
                                        "index": 0,
                                        "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": arg},
                                    }
                                ],
                            }
                        ).encode(),
                    )

            def _send(self, code, data, ctype="application/json"):
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    with ScriptedJudgeServer() as s:
        yield s


def openai_judge(server, cache_dir=None, **kw) -> OpenAIJudge:
    args = dict(
        base_url=server.base_url,
        model="judge-model",
        api_key_env="LLMSWEEP_TEST_JUDGE_KEY",
        language="ko",
        attempts=2,
        backoff_s=0.01,
        timeout_s=2.0,
        cache_dir=str(cache_dir) if cache_dir else None,
    )
    return OpenAIJudge(**{**args, **kw})


def test_openai_judge_scores_retries_and_records_missing_with_reasons(scripted, monkeypatch):
    monkeypatch.setenv("LLMSWEEP_TEST_JUDGE_KEY", "sk-test-judge-key")
    items = [Item(f"q{i}", f"a{i}", "ref") for i in range(7)]
    scripted.script = [
        ("text", "정확합니다.\nRating: [[5]]"),  # q0: strict
        ("text", "Good, I'd say [[4]]."),  # q1: fallback
        ("status", 500),
        ("text", "Rating: [[2]]"),  # q2: 500 then retried
        ("text", "I cannot rate this."),
        ("text", "Still no idea."),  # q3: junk twice -> missing
        ("status", 500),
        ("status", 503),  # q4: errors twice -> missing
        ("sleep", 3.0),
        ("body", b"<html>not json</html>"),  # q5: timeout, then a non-JSON body
        ("body", b'{"foo": 1}'),
        ("body", b'{"choices": []}'),  # q6: JSON, but not a chat completion
    ]
    v = openai_judge(scripted, timeout_s=0.5).judge(items)
    assert [x.score for x in v] == [5, 4, 2, None, None, None, None]
    assert [x.parse for x in v[:3]] == ["strict", "fallback", "strict"]
    assert [x.attempts for x in v] == [1, 1, 2, 2, 2, 2, 2]
    assert v[3].missing.startswith("unparsable") and v[3].raw == "Still no idea."
    assert v[4].missing.startswith("HTTP 503")
    assert v[5].missing == "malformed response (no choices[0].message.content): <html>not json</html>"
    assert v[6].missing.startswith("malformed response") and "[]" in v[6].missing
    req = scripted.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["temperature"] == 0 and req["model"] == "judge-model"
    assert req["auth"] == "Bearer sk-test-judge-key", "the key comes from the environment variable the config names"
    assert "Rating: [[N]]" in req["messages"][0]["content"] and "q0" in req["messages"][1]["content"]

    timed_out = openai_judge(scripted, timeout_s=0.3, attempts=1)
    scripted.script = [("sleep", 2.0)]
    (late,) = timed_out.judge(items[:1])
    assert late.score is None and late.missing == "timeout after 0.3s"


def test_judgments_are_cached_so_reruns_cost_no_calls(scripted, tmp_path):
    scripted.script = [("text", "Rating: [[4]]"), ("text", "no rating"), ("text", "no rating")]
    first = openai_judge(scripted, tmp_path).judge(ITEMS)
    assert [v.score for v in first] == [4, None] and len(scripted.requests) == 3
    again = openai_judge(scripted, tmp_path).judge(ITEMS)
    assert again[0].score == 4 and again[0].cached
    assert len(scripted.requests) == 4, "the cached score made no call; the missing one was asked again"
    other_model = openai_judge(scripted, tmp_path, model="another-judge").judge(ITEMS[:1])
    assert not other_model[0].cached and len(scripted.requests) == 5, "the judge is part of the cache key"


# --- judging as a stage of real runs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_run(cache_dir, tmp_path_factory) -> Path:
    """A tiny LoRA run judged by the default reference judge, tracked in offline W&B."""
    run_dir = tmp_path_factory.mktemp("judged") / "run"
    run_cli(cache_dir, "judge=reference", *FAST, out=run_dir)
    return run_dir


def test_a_run_judges_every_eval_prompt_and_logs_judge_mean(reference_run):
    answers = read_jsonl(reference_run / "answers.jsonl")
    judgments = read_jsonl(reference_run / "judgments.jsonl")
    assert len(answers) == 3
    for which, field in (("tuned", "tuned_answer"), ("base", "base_answer")):
        mine = [j for j in judgments if j["which"] == which]
        assert [(j["prompt"], j["answer"]) for j in mine] == [(a["prompt"], a[field]) for a in answers]
        assert all(
            j["judge"] == "reference" and j["score"] in range(1, 6) and j["raw"].startswith("chrF=") for j in mine
        )
    m = read_metrics(reference_run)
    tuned = [j["score"] for j in judgments if j["which"] == "tuned"]
    assert m["judge_mean"] == pytest.approx(sum(tuned) / 3) and m["judge_missing"] == 0 and m["judge_count"] == 3
    assert m["judge_base_mean"] == pytest.approx(sum(j["score"] for j in judgments if j["which"] == "base") / 3)
    (wb,) = offline_runs(reference_run)
    run = read_run(wb)
    assert run["summary"]["judge/mean"] == pytest.approx(m["judge_mean"])
    assert (
        run["summary"]["judge/missing"] == 0 and "judge/std" in run["summary"] and "judge/base_mean" in run["summary"]
    )
    hist = run["summary"]["judge/scores"]
    assert hist["bins"] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5] and hist["values"] == [tuned.count(s) for s in range(1, 6)]
    (table_file,) = wb.glob("files/media/table/**/*.table.json")  # the answers are logged once
    table = json.loads(table_file.read_text(encoding="utf-8"))
    assert table_file.name.startswith("answers_")
    assert table["columns"] == ["prompt", "reference", "base_answer", "tuned_answer", "tuned_score", "base_score"]
    col = table["columns"].index
    assert [(r[col("prompt")], r[col("tuned_answer")], r[col("tuned_score")]) for r in table["data"]] == [
        (a["prompt"], a["tuned_answer"], s) for a, s in zip(answers, tuned)
    ]


def test_a_misbehaving_openai_judge_leaves_missing_scores_and_the_run_finishes(cache_dir, tmp_path, scripted):
    # the script for 3 tuned then 3 base answers, one call each (attempts=1)
    scripted.script = [
        ("text", "Rating: [[4]]"),
        ("status", 500),
        ("text", "junk"),
        ("text", "Rating: [[2]]"),
        ("sleep", 3.0),
        ("body", b"{]"),
    ]
    run_dir = tmp_path / "run"
    env = cli_env(cache_dir, JUDGE_TEST_KEY="sk-never-in-outputs-91c3")
    run_cli(
        cache_dir,
        "judge=openai",
        f"judge.base_url={scripted.base_url}",
        "judge.model=judge-model",
        "judge.attempts=1",
        "judge.timeout_s=1",
        "judge.api_key_env=JUDGE_TEST_KEY",
        "tracking=none",
        *FAST,
        out=run_dir,
        env=env,
    )
    j = read_jsonl(run_dir / "judgments.jsonl")
    assert [x["score"] for x in j] == [4, None, None, 2, None, None]
    assert (
        j[1]["missing"].startswith("HTTP 500")
        and j[2]["missing"].startswith("unparsable")
        and j[4]["missing"].startswith("timeout")
    )
    m = read_metrics(run_dir)
    assert (m["judge_mean"], m["judge_missing"], m["judge_base_mean"], m["judge_base_missing"]) == (4.0, 2, 2.0, 2)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"sk-never-in-outputs-91c3" not in path.read_bytes(), f"the API key leaked into {path}"


def test_a_sweep_maximizes_judge_mean(cache_dir, tmp_path):
    db = tmp_path / "optuna.db"
    run_cli(
        cache_dir,
        "-m",
        "hydra/sweeper=llmsweep_optuna",
        "hydra.sweeper.sampler.name=grid",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.study_name=judged",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.pruner.name=none",
        "hydra.sweeper.objective=judge_mean",
        "hydra.sweeper.direction=maximize",
        "judge.judge_base=false",
        "method.args.learning_rate=choice(0.003,0.0003)",
        "tracking=none",
        *FAST,
        out=tmp_path / "s",
    )
    study = optuna.load_study(study_name="judged", storage=f"sqlite:///{db}")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    ts = study.get_trials(deepcopy=False)
    assert len(ts) == 2 and all(t.state.name == "COMPLETE" for t in ts)
    for t in ts:
        m = read_metrics(Path(t.user_attrs["run_dir"]))
        assert t.value == pytest.approx(m["judge_mean"]) == pytest.approx(m["objective"])
        assert 1 <= t.value <= 5 and "judge_base_mean" not in m, "judge.judge_base=false grades the tuned answers only"


# --- judging outside a run: rejudge (against the real serve.py), human ratings, pairs -------------------------


def test_rejudge_through_the_real_chat_server(tiny_chat_run, cache_dir, tmp_path):
    """serve.py over a tiny model is a real OpenAI-compatible endpoint; a 10-step model does not write
    `Rating: [[N]]`, so its judgments come back missing with the judge's text kept."""
    run_dir = tmp_path / "old-run"
    run_dir.mkdir()
    (run_dir / "answers.jsonl").write_text(
        (tiny_chat_run / "answers.jsonl").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with chat_server(tiny_chat_run, "max_tokens=32", "engine.threads=1") as server:
        args = [
            "rejudge",
            f"run_dir={run_dir}",
            "judge=openai",
            f"judge.base_url={server.base_url}",
            f"judge.model={server.model}",
            "judge.language=ko",
            "judge.max_tokens=24",
            "judge.attempts=1",
            "judge.api_key_env=null",
        ]
        proc = judging_cli(*args, env=cli_env(cache_dir), check=False)
        first = read_jsonl(run_dir / "judgments.openai.jsonl")
        judging_cli(*args, env=cli_env(cache_dir), check=False)
        second = read_jsonl(run_dir / "judgments.openai.jsonl")
    summary = json.loads(proc.stdout.splitlines()[0])
    assert summary["judge"] == "openai" and summary["judge_count"] + summary["judge_missing"] == 1
    # a judge that scored nothing (a 10-step model rarely writes a rating) fails, saying why
    scored = summary["judge_count"] + summary["judge_base_count"]
    assert proc.returncode == (0 if scored else 2) and (scored or "scored none of the 2 answers" in proc.stderr)
    assert len(first) == 2 and {j["which"] for j in first} == {"base", "tuned"}
    for j in first:
        assert j["raw"], "the model's reply is recorded"
        assert j["score"] in range(1, 6) or j["missing"].startswith("unparsable"), j
    assert [j["raw"] for j in second] == [j["raw"] for j in first], "temperature 0: the same reply again"


def test_import_human_ratings_reports_agreement_with_the_run_judge(reference_run, cache_dir, tmp_path):
    judgments = read_jsonl(reference_run / "judgments.jsonl")
    ratings = tmp_path / "ratings.jsonl"
    # a rater who agrees with the judge except one point higher on the first answer (clipped at 5)
    rows = [
        {"prompt": j["prompt"], "answer": j["answer"], "score": min(5, j["score"] + (k == 0))}
        for k, j in enumerate(judgments)
    ]
    ratings.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    proc = judging_cli("import-human", str(ratings), f"run_dir={reference_run}", env=cli_env(cache_dir))
    human = read_jsonl(reference_run / "judgments.human.jsonl")
    assert len(human) == len(judgments) and all(h["judge"] == "human" and h["score"] is not None for h in human)
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    (vs_run,) = [x for x in lines if x.get("agreement") == "judgments.human.jsonl vs judgments.jsonl"]
    from llmsweep.judging.agreement import scores_by_answer

    # the CLI prints strict JSON: an undefined statistic (NaN) is null
    expected = {
        k: None if isinstance(v, float) and math.isnan(v) else v
        for k, v in agreement(scores_by_answer(human), scores_by_answer(judgments)).items()
    }
    assert vs_run["n"] == expected["n"] >= 1
    assert vs_run["kappa_quadratic"] == pytest.approx(expected["kappa_quadratic"])
    direct = json.loads(
        judging_cli(
            "agreement",
            str(reference_run / "judgments.human.jsonl"),
            str(reference_run / "judgments.jsonl"),
            env=cli_env(cache_dir),
        ).stdout
    )
    assert direct == pytest.approx(expected)

    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,answer,score\nq,a,five\n", encoding="utf-8")
    proc = judging_cli("import-human", str(bad), f"run_dir={reference_run}", env=cli_env(cache_dir), check=False)
    assert proc.returncode == 2 and "bad.csv line 2: score 'five' is not an integer from 1 to 5" in proc.stderr


def test_pairs_from_two_runs_become_dpo_records_through_the_data_pipeline(reference_run, cache_dir, tmp_path):
    """A second 'run' whose answers are the references scores 5 with the reference judge: on every prompt
    where the tuned run scored below 5 it is chosen; ties are rejected with their reason."""
    answers = read_jsonl(reference_run / "answers.jsonl")
    oracle = tmp_path / "oracle"
    oracle.mkdir()
    (oracle / "answers.jsonl").write_text(
        "".join(json.dumps({**a, "tuned_answer": a["reference"]}, ensure_ascii=False) + "\n" for a in answers),
        encoding="utf-8",
    )
    out = tmp_path / "prefs" / "judged.jsonl"
    judging_cli("pairs", str(reference_run), str(oracle), "--out", str(out), "judge=reference", env=cli_env(cache_dir))
    pairs = read_jsonl(out)
    scores = {j["prompt"]: j["score"] for j in read_jsonl(reference_run / "judgments.jsonl") if j["which"] == "tuned"}
    assert len(pairs) == sum(s < 5 for s in scores.values()) >= 1
    by_prompt = {a["prompt"]: a for a in answers}
    for p in pairs:
        assert (
            p["chosen"] == by_prompt[p["prompt"]]["reference"]
            and p["rejected"] == by_prompt[p["prompt"]]["tuned_answer"]
        )
    from llmsweep.data.records import read_jsonl as read_records

    assert len(list(read_records(str(out), "prefs"))) == len(pairs), (
        "the pairs are valid training data (data.format=prefs)"
    )
    summary = json.loads(out.with_name(out.name + ".summary.json").read_text())
    assert summary["rows_in"] == 3 and summary["records_written"] + sum(summary["rejected_by_reason"].values()) == 3


def test_hf_judge_plumbing_on_a_tiny_model(tiny_chat_run, tmp_path):
    from llmsweep.judging.hf_judge import HFJudge

    judge = HFJudge(model_path=str(tiny_chat_run), language="ko", max_new_tokens=12, cache_dir=str(tmp_path))
    verdicts = judge.judge(ITEMS)
    assert len(verdicts) == 2
    for v in verdicts:
        assert v.raw and v.attempts == 1
        assert v.score in range(1, 6) or v.missing.startswith("unparsable"), v
    assert [v.raw for v in judge.judge(ITEMS)] == [v.raw for v in verdicts], "greedy: the same reply again"


def test_judge_config_errors_name_the_missing_keys(cache_dir, tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "answers.jsonl").write_text(
        json.dumps({"prompt": "q", "reference": "r", "base_answer": "b", "tuned_answer": "t"}) + "\n"
    )
    proc = judging_cli("rejudge", f"run_dir={run_dir}", "judge=openai", env=cli_env(cache_dir), check=False)
    assert proc.returncode == 2 and "judge.base_url, judge.model must be set" in proc.stderr
    proc = judging_cli(
        "rejudge",
        f"run_dir={run_dir}",
        "judge=openai",
        "judge.base_url=http://127.0.0.1:9/v1",
        "judge.model=m",
        "judge.language=fr",
        env=cli_env(cache_dir),
        check=False,
    )
    assert proc.returncode == 2 and "judge.language=fr" in proc.stderr
    proc = judging_cli("rejudge", f"run_dir={tmp_path}", env=cli_env(cache_dir), check=False)
    assert proc.returncode == 2 and "no answers.jsonl" in proc.stderr


def strict_json(line: str):
    """json.loads that refuses NaN/Infinity, which are not JSON (jq, JavaScript and Go reject them)."""

    def refuse(token):
        raise ValueError(f"{token} is not valid JSON")

    return json.loads(line, parse_constant=refuse)


def test_rejudge_against_a_dead_endpoint_says_why_on_the_console_and_fails(cache_dir, tmp_path):
    """A judge that scored nothing exited 0 and printed "judge_mean": NaN; the reason was only in the file."""
    import socket

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "answers.jsonl").write_text(
        json.dumps({"prompt": "q", "reference": "r", "base_answer": "b", "tuned_answer": "t"}) + "\n"
    )
    with socket.socket() as held:  # bound, never listening: connecting is refused, and no one else takes the port
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        proc = judging_cli(
            "rejudge",
            f"run_dir={run_dir}",
            "judge=openai",
            f"judge.base_url=http://127.0.0.1:{port}/v1",
            "judge.model=m",
            "judge.attempts=2",
            "judge.backoff_s=0",
            "judge.api_key_env=null",
            env=cli_env(cache_dir),
            check=False,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [summary] = [strict_json(x) for x in proc.stdout.splitlines()]
    assert summary["judge_count"] == 0 and summary["judge_mean"] is None and summary["judge_base_mean"] is None
    [error] = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "judge=openai scored none of the 2 answers: 2× " in error and f"127.0.0.1:{port}" in error
    assert "Connection refused" in error and str(run_dir / "judgments.openai.jsonl") in error
    recorded = {j["missing"] for j in read_jsonl(run_dir / "judgments.openai.jsonl")}
    assert len(recorded) == 1 and recorded.pop() in error  # the console says what the file says


def test_agreement_cli_prints_strict_json_when_a_statistic_is_undefined(tmp_path):
    """One answer in common: Spearman and kappa are undefined; the CLI printed NaN, not JSON."""
    rec = {"which": "tuned", "prompt": "q", "answer": "a", "judge": "x", "score": 3}
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(rec) + "\n")
    b.write_text(json.dumps({**rec, "score": 4}) + "\n")
    out = strict_json(judging_cli("agreement", str(a), str(b)).stdout)
    assert out == {"n": 1, "spearman": None, "kappa_quadratic": None}


def test_a_partly_scored_judging_warns_with_its_reasons_counted(capsys):
    from llmsweep.judging.grading import check_scored

    records = [
        {"score": 4, "missing": None},
        {"score": None, "missing": "timeout after 60s"},
        {"score": None, "missing": "HTTP 500: boom"},
        {"score": None, "missing": "timeout after 60s"},
    ]
    check_scored("openai", records)
    assert capsys.readouterr().err.strip() == (
        "warning: judge=openai left 3 of 4 answers unscored: 2× timeout after 60s; 1× HTTP 500: boom"
    )
    with pytest.raises(UserError, match=r"scored none of the 3 answers: 2× timeout after 60s; 1× HTTP 500: boom\."):
        check_scored("openai", records[1:])
