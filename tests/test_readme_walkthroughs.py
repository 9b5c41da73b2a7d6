"""The README's walkthroughs run as written, on the bundled fixtures.

The ```bash blocks of the README sections below are read from README.md when the tests run (a README change that
breaks a walkthrough fails here) and every command runs through bash, in one working directory that stands for
the checkout (the repo's scripts linked in, outputs landing in tmp), in README order. What may differ from the
README's text is in `localize` (the only rewriting) and `SKIPPED` (commands this machine cannot run, each with why);
the runs the README names as earlier ones (`RUN`, `outputs/2026-11-22/10-00-00`, ...) are made in the working
directory from the Merging section's own two runs (`merging_walkthrough`). ~3.5 min on 2 cores (one process per
command: mostly imports).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import (
    REPO,
    chat_server,
    cli_env,
    free_port,
    read_jsonl,
    read_metrics,
    sacct_nodes,
    stop,
    wait_for_health,
    wait_for_idle_nodes,
    wait_until,
)

README = REPO / "README.md"
FIXTURES = REPO / "tests" / "fixtures" / "data"

DATA = "### Data: from the published sources to training"
SWEEPS = "### Sweeps: Optuna search from the same command line"
MERGING = "### Merging: `merge.py`"
SLURM = "### SLURM"
SERVING = "### Serving: an OpenAI-compatible chat API over any run"
JUDGING = "### Judging: 1–5 quality scores of every run's answers"

# The published datasets' paths in the Data walkthrough -> the bundled samples of the same layouts (and the
# judge model's path -> a tiny run dir, which `judge=hf` takes as the README says).
REAL_PATHS = {
    "raw/ko_sharegpt.json": FIXTURES / "kovicuna.json",
    "raw/ko_alpaca_data.json": FIXTURES / "alpaca.json",
    "raw/KorQuAD_v1.0_train.json": FIXTURES / "korquad1.json",
    "raw/korquad2/": f"{FIXTURES / 'korquad2'}/",
    "judgments.jsonl --out": f"{FIXTURES / 'judged.jsonl'} --out",  # `prepare judged judgments.jsonl`
    "/models/judge": "RUN",
}
# Appended so that each run takes seconds (tiny models, 4 steps, 2 answers, one trial per sweep).
SHRINK_RUN = ["tracking=none", "generate.num_prompts=2"]
SHRINK_TRAIN = ["trainer.max_steps=4"]
SHRINK_SWEEP = ["hydra.sweeper.n_trials=1"]
SHRINK_JUDGE = {"judge=openai": ["judge.attempts=1", "judge.max_tokens=24"], "judge=hf": ["judge.max_new_tokens=24"]}
SHRINK_SERVE = ["max_tokens=32", "engine.threads=1"]

# Commands not run, by the first pattern they contain: (pattern, why).
SKIPPED = [
    ("hydra/launcher=slurm_a100", "a site's GPU cluster (partition a100, GPUs): the local cluster runs slurm_local"),
    ("slurm/train_array.sbatch", "its #SBATCH lines ask for a site's a100 partition and GPUs"),
    ("engine=vllm", "vLLM needs a GPU machine"),
    ("slurm/local/up.sh", "the session's slurm_cluster fixture runs up.sh (its own state dir) and sets SLURM_CONF"),
    ("slurm/local/down.sh", "the slurm_cluster fixture runs down.sh at the end of the session"),
]
# A tiny model does not write `Rating: [[N]]`: rejudging with it as the judge scores nothing, which exits 2 saying
# so (tests/test_judging.py); the command ran as written when that is the reason.
TOLERATED = {"rejudge": (2, "scored none of")}


def readme_blocks(heading: str) -> list[list[str]]:
    """The commands of each ```bash block of a README section: continuation lines joined, blank lines dropped."""
    text = README.read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"README.md has no section {heading!r}"
    section = re.split(r"\n##+ ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert blocks, f"{heading}: no ```bash block"
    return [[c.strip() for c in b.replace("\\\n", " ").splitlines() if c.strip()] for b in blocks]


def without_comment(cmd: str) -> str:
    return re.sub(r"\s+#\s.*$", "", cmd)


def skip_reason(cmd: str) -> str | None:
    return next((why for pattern, why in SKIPPED if pattern in cmd), None)


def localize(cmd: str, port: int) -> str:
    """The README command as this test runs it; the only rewriting of README text:
    - `python` -> this interpreter (the README's commands run in the activated .venv);
    - the published datasets' paths -> the bundled fixtures (REAL_PATHS);
    - port 8000 -> a free port (`host:8000`, the README's judge endpoint, is the test's judge server there),
      and `port=` added to a serve.py command that has none;
    - shrinking overrides appended to train.py, merge.py, serve.py and judging commands (SHRINK_*).
    Output paths need no rewriting: they are relative, and the commands run in a tmp working directory."""
    cmd = without_comment(cmd)
    cmd = re.sub(r"^python ", f"{sys.executable} ", cmd)
    for real, bundled in REAL_PATHS.items():
        cmd = cmd.replace(real, str(bundled))
    cmd = re.sub(r"\b(localhost|host|127\.0\.0\.1):8000\b", f"127.0.0.1:{port}", cmd).replace(
        "port=8000", f"port={port}"
    )
    extra: list[str] = []
    if re.search(r"\b(train|merge)\.py\b", cmd):
        extra += SHRINK_RUN + (SHRINK_TRAIN if "train.py" in cmd else [])
        if re.search(r"\+sweeps=|hydra/sweeper=", cmd):
            extra += SHRINK_SWEEP
    if "serve.py" in cmd:
        extra += SHRINK_SERVE + ([] if "port=" in cmd else [f"port={port}"])
    for judge, overrides in SHRINK_JUDGE.items():
        if judge in cmd:
            extra += overrides
    return " ".join([cmd, *extra])


@dataclass
class Walkthrough:
    """The working directory the walkthroughs run in, and what they ran."""

    dir: Path
    env: dict
    ran: dict = field(default_factory=dict)  # README command -> its CompletedProcess (or "served")
    skipped: dict = field(default_factory=dict)  # README command -> why
    merges: list = field(default_factory=list)  # the Merging section's merge.py run dirs

    def run(self, heading: str, port: int | None = None) -> None:
        """Every command of the section in order: serve.py in the background until the next serve.py or the end
        of its block, probed with the openai client; `export` kept for the commands after it."""
        port = port or free_port()
        for block in readme_blocks(heading):
            server = None
            try:
                for readme_cmd in block:
                    if why := skip_reason(readme_cmd):
                        self.skipped[readme_cmd] = why
                        continue
                    cmd = localize(readme_cmd, port)
                    if "serve.py" in cmd:
                        if server:
                            stop(server)
                        server = self.serve(cmd, port)
                        self.ran[readme_cmd] = "served"
                    elif m := re.match(r"export (\w+)=", cmd):
                        value = self.bash(f'{cmd} && printf %s "${m[1]}"', readme_cmd).stdout
                        assert value, f"{readme_cmd}: empty"
                        self.env[m[1]] = value
                        self.ran[readme_cmd] = value
                    else:
                        self.ran[readme_cmd] = self.bash(cmd, readme_cmd)
            finally:
                if server:
                    stop(server)

    def bash(self, cmd: str, readme_cmd: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["bash", "-c", cmd], cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=600
        )
        code, reason = next((v for k, v in TOLERATED.items() if k in cmd), (0, None))
        ok = proc.returncode == 0 or (proc.returncode == code and reason in proc.stderr)
        assert ok, (
            f"README command failed: {readme_cmd}\nran as: {cmd}\nexit {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}"
        )
        return proc

    def serve(self, cmd: str, port: int) -> subprocess.Popen:
        """Start a serve.py command, wait for /health, then ask it a question with the openai client."""
        import openai

        log = Path(tempfile.mkstemp(prefix="llmsweep-walkthrough-serve-", suffix=".log", dir=self.dir)[1])
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {cmd}"], cwd=self.dir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for_health(proc, f"http://127.0.0.1:{port}", log)
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1",
                api_key=self.env.get("LLMSWEEP_API_TOKEN", "none"),
                max_retries=0,
            )
            (model,) = [m.id for m in client.models.list()]
            reply = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "안녕하세요"}], temperature=0, max_tokens=8
            )
            assert reply.model == model and reply.choices[0].finish_reason in ("stop", "length")
        except BaseException:
            stop(proc)
            raise
        return proc


@pytest.fixture(scope="module")
def walkthrough(cache_dir, tmp_path_factory) -> Walkthrough:
    """A working directory standing for the checkout: the repo's scripts (train.py, merge.py, serve.py, slurm/)
    linked in. The sections share it, as a reader's checkout would: Merging evaluates on Data's output, and
    Serving and Judging use Merging's two runs where the README names earlier runs."""
    work = tmp_path_factory.mktemp("walkthrough")
    for name in ("train.py", "merge.py", "serve.py", "slurm"):
        (work / name).symlink_to(REPO / name)
    return Walkthrough(work, cli_env(cache_dir, OMP_NUM_THREADS="1"))


@pytest.fixture(scope="module")
def data_walkthrough(walkthrough) -> Walkthrough:
    walkthrough.run(DATA)
    return walkthrough


@pytest.fixture(scope="module")
def merging_walkthrough(data_walkthrough) -> Walkthrough:
    """The Merging section after Data (its eval set is data/korquad1); then the runs the later sections name
    (`outputs/2026-11-22/10-00-00` and `RUN`, `RUN_A`, `RUN_B`) are copies of its two LoRA runs
    outputs/a and outputs/b, and `ratings.csv` (for `import-human`) a rater's scores of RUN's answers."""
    w = data_walkthrough
    before = set((w.dir / "outputs").glob("*/*/metrics.json"))
    w.run(MERGING)
    w.merges = [p.parent for p in set((w.dir / "outputs").glob("*/*/metrics.json")) - before]
    for placeholder, run in (("outputs/2026-11-22/10-00-00", "a"), ("RUN_A", "a"), ("RUN_B", "b")):
        (w.dir / placeholder).parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(w.dir / "outputs" / run, w.dir / placeholder, symlinks=True)
    (w.dir / "RUN").symlink_to("outputs/2026-11-22/10-00-00")  # the README's RUN is that run
    # a rater who agrees with the reference judge on every tuned answer
    rows = [j for j in read_jsonl(w.dir / "RUN" / "judgments.jsonl") if j["which"] == "tuned"]
    with open(w.dir / "ratings.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["prompt", "answer", "score"])
        writer.writeheader()
        writer.writerows({"prompt": j["prompt"], "answer": j["answer"], "score": j["score"]} for j in rows)
    return w


def test_data_walkthrough_converts_the_fixtures_mixes_and_trains(data_walkthrough):
    work = data_walkthrough.dir
    for source in ("kovicuna", "alpaca", "korquad1", "korquad2"):
        summary = json.loads((work / f"data/{source}.summary.json").read_text(encoding="utf-8"))
        assert summary, source
    assert {"train.npy", "eval.npy", "mix.json"} <= {p.name for p in (work / "data/dolly_ko").iterdir()}
    train = next(p for c, p in data_walkthrough.ran.items() if c.startswith("python train.py"))
    run = Path(re.findall(r"outputs in (\S+)", train.stderr + train.stdout)[-1])
    assert read_metrics(run)["eval_loss"] > 0
    assert (work / "data/prefs.jsonl").stat().st_size > 0


def test_sweeps_walkthrough(walkthrough):
    walkthrough.run(SWEEPS)
    assert (walkthrough.dir / "multirun" / "optuna.sqlite3").exists()
    assert any((walkthrough.dir / "plots").iterdir()), "the report wrote its plots"


def test_merging_walkthrough(merging_walkthrough):
    merges = [read_metrics(run) for run in merging_walkthrough.merges]
    assert len(merges) == 5, "five merge.py runs, each with its own run dir"
    assert any("eval_qa_loss" in m for m in merges)


def test_slurm_walkthrough_on_the_local_cluster(walkthrough, slurm_cluster):
    """The README's multirun as one SLURM array over both nodes of the test cluster, accounted by sacct."""
    wait_for_idle_nodes(slurm_cluster)  # its two tasks are to land on both nodes
    walkthrough.env["SLURM_CONF"] = str(slurm_cluster)
    try:
        walkthrough.run(SLURM)
        # the array of the README's multirun: its job id from submitit's folder in the sweep dir it printed
        (multirun,) = [p for c, p in walkthrough.ran.items() if "hydra/launcher=slurm_local" in c]
        sweep_dir = walkthrough.dir / re.findall(r"results: (\S+)", multirun.stdout)[-1]
        job = next(p.name for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit())
        (sacct,) = [c for c in walkthrough.ran if c.startswith("sacct")]

        def completed_tasks():
            out = walkthrough.bash(localize(sacct, 0), sacct).stdout
            done = {row.split()[0] for row in out.splitlines() if row.startswith(f"{job}_") and "COMPLETED" in row}
            return done if len(done) == 2 else None

        # slurmdbd records the tasks' end a moment after the multirun returns
        assert wait_until(completed_tasks, f"sacct to list array {job}'s two tasks COMPLETED", timeout=30, every=1)
        assert sacct_nodes(slurm_cluster, job, 2) == {"n1", "n2"}, "the two tasks ran on both nodes"
        for task in ("0", "1"):
            m = read_metrics(sweep_dir / task)
            assert m["eval_loss"] < m["initial_eval_loss"] and m["device_seconds"] > 0
            assert (m["slurm"][-1]["array_job"], m["slurm"][-1]["array_task"]) == (job, task)
    finally:
        del walkthrough.env["SLURM_CONF"]


def test_serving_walkthrough(merging_walkthrough):
    walkthrough = merging_walkthrough
    try:
        walkthrough.run(SERVING)
    finally:
        walkthrough.env.pop("LLMSWEEP_API_TOKEN", None)  # exported by the walkthrough for its own commands
    curl = next(p for c, p in walkthrough.ran.items() if c.startswith("curl"))
    assert json.loads(curl.stdout)["model"] == "solar-dpo", curl.stdout


def test_judging_walkthrough(merging_walkthrough):
    walkthrough = merging_walkthrough
    # the README's judge endpoint (`http://host:8000/v1`, model `judge`): a tiny run served by serve.py
    with chat_server(walkthrough.dir / "RUN_B", "model_name=judge", *SHRINK_SERVE) as judge:
        walkthrough.run(JUDGING, port=int(judge.base_url.rsplit(":", 1)[1].split("/")[0]))
    work = walkthrough.dir
    assert (work / "RUN" / "judgments.human.jsonl").exists()
    assert (work / "outputs/2026-11-22/10-00-00/judgments.openai.jsonl").exists()
    assert (work / "data/judged_prefs.jsonl.summary.json").exists()


def test_the_skip_and_rewrite_rules_match_the_readme():
    """No stale rule: each SKIPPED pattern and each real path names a command of the walkthroughs, and no
    command that runs still points at a published dataset or port 8000."""
    commands = [c for h in (DATA, SWEEPS, MERGING, SLURM, SERVING, JUDGING) for b in readme_blocks(h) for c in b]
    for pattern, _ in SKIPPED:
        assert any(pattern in c for c in commands), f"SKIPPED rule {pattern!r} matches no README command"
    for real in REAL_PATHS:
        assert any(real in c for c in commands), f"REAL_PATHS {real!r} matches no README command"
    for cmd in (localize(c, 1234) for c in commands if not skip_reason(c)):
        assert "raw/" not in cmd and "8000" not in cmd, cmd
