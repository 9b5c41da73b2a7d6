"""The launch layer: what a job gets from where it runs, handed to the run harness from outside the recipe.

- Processes: a trial declared on several devices (`devices.per_node` x `devices.nodes`, `distributed=ddp|fsdp`)
  runs one process per device. On SLURM the job's tasks are those processes (the launcher's `tasks_per_node` and
  `nodes`) and get torch.distributed's RANK/WORLD_SIZE/MASTER_ADDR from SLURM's variables (submitit's helper).
  Anywhere else this job starts them with torchrun (`python -m llmsweep.launch RUN_DIR` on each rank) and waits.
- Preemption: a scheduler's signal stops the trainer at a step boundary with a checkpoint (on every rank); in the
  main thread the job then hands over to SLURM for a requeue (a sweep running trials in its threads does that).
- Pruning: a sweep trial reports to its Optuna study (rank 0) and every rank stops when it is pruned.
- Memory: a real checkpoint (scale=full) is checked against the declared devices before anything is loaded.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.harness import Job, Recipe, execute, objective_keys
from llmsweep.ranks import rank, world_size

log = logging.getLogger(__name__)
STATE = ".llmsweep"  # in the run dir: what the ranks of a torchrun launch read and write


def export_distributed_env() -> None:
    """Several SLURM tasks (`tasks_per_node` x `nodes`): RANK/WORLD_SIZE/MASTER_ADDR/PORT from SLURM's variables."""
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and "RANK" not in os.environ:
        import submitit

        env = submitit.helpers.TorchDistributedEnvironment().export()
        os.environ["MASTER_ADDR"] = _reachable(env.master_addr)


def _reachable(node: str) -> str:
    """The first node's name, or the address SLURM has for it when the name does not resolve (a site without DNS
    entries for its node names; the single-host test cluster, whose nodes n1 and n2 are 127.0.0.1)."""
    import socket

    try:
        socket.getaddrinfo(node, None)
        return node
    except OSError:
        out = subprocess.run(
            ["scontrol", "show", "node", "-o", node], capture_output=True, text=True, timeout=30
        ).stdout
        addr = next((f.split("=", 1)[1] for f in out.split() if f.startswith("NodeAddr=")), None)
        if not addr:
            raise UserError(
                f"SLURM node {node} does not resolve and scontrol shows no NodeAddr for it: "
                "set MASTER_ADDR in the job's environment"
            ) from None
        return addr


def controls_for(cfg: DictConfig, stage: str) -> list:
    """Preemption for every run that trains (its config has `checkpoint`); pruning for a trial of a
    single-objective sweep (Optuna prunes single-objective studies only)."""
    controls = []
    if "checkpoint" in cfg:
        from llmsweep.training.preemption import PreemptionControl

        controls.append(PreemptionControl(list(cfg.checkpoint.signals)))
    keys = objective_keys(cfg)
    if stage == "train" and cfg.trial.study_name is not None and len(keys) == 1:
        from llmsweep.sweeping.pruning import PruningControl

        controls.append(PruningControl(cfg.trial, keys[0]))
    return controls


def run_job(recipe: Recipe, cfg: DictConfig):
    """One Hydra job of `recipe`: its objective, or the job requeued (preempted) / recorded pruned by the sweeper."""
    from llmsweep.training import preemption

    n = 1
    if recipe.stage == "train":
        from llmsweep.training.distributed import check, processes

        check(cfg)
        n = processes(cfg)
        if str(cfg.scale) == "full":
            from llmsweep.models.memory import check_fits

            check_fits(cfg)  # before any model is loaded or looked up
        elif n > 1:
            _build_tiny_base(cfg)
    export_distributed_env()
    try:
        if n > 1 and world_size() == 1:
            return _spawn_ranks(recipe, cfg)
        return execute(recipe, cfg, controls=controls_for(cfg, recipe.stage))
    except preemption.Preempted as e:
        if preemption.in_main_thread():
            if preemption.interrupted():
                _how_to_continue(e)
            preemption.hand_over()  # requeue and exit
        raise  # a trial in a sweep's worker thread: the sweep hands over once its trials stopped


def _how_to_continue(e: Exception) -> None:
    """Ctrl-C: one line on where the checkpoint is and the command that continues from it."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        return  # a multirun's job: the sweep says how to continue
    run_dir = Path(hc.runtime.output_dir)
    from llmsweep.tracking.secrets import redact_argv

    overrides = " ".join(redact_argv([o for o in hc.overrides.task if not o.startswith("hydra.run.dir=")]))
    app = hc.job.name if hc.job.name in ("train", "merge") else "train"
    print(
        f"interrupted: {e}; continue with: python {app}.py {overrides} hydra.run.dir={run_dir}".replace("  ", " "),
        file=sys.stderr,
    )


def _spawn_ranks(recipe: Recipe, cfg: DictConfig):
    """torchrun with one process per device on this machine; rank 0's outcome becomes this job's."""
    from llmsweep.training import preemption

    n = int(cfg.devices.per_node)
    if int(cfg.devices.nodes) > 1:
        raise UserError(
            f"devices.nodes={cfg.devices.nodes} runs one trial over several machines: that needs SLURM "
            "(hydra/launcher=slurm_local or slurm_a100, whose tasks are the processes)"
        )
    job = Job.from_hydra()
    state = job.run_dir / STATE
    state.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, state / "config.yaml", resolve=True)
    spec = {
        "recipe": f"{recipe.run.__module__}:RECIPE",
        "run_dir": str(job.run_dir),
        "name": job.name,
        "overrides": list(job.overrides),
        "group": job.group,
        "log_file": _log_file(),  # the ranks log to the job's own train.log
    }
    (state / "job.json").write_text(json.dumps(spec))
    (state / "outcome.json").unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={n}",
        "-m",
        "llmsweep.launch",
        str(job.run_dir),
    ]
    log.info("starting %d processes: %s", n, " ".join(cmd[2:]))
    signals = list(cfg.checkpoint.signals)
    # torchrun ignores SIGUSR1/2 (its ranks install their own handlers); a signal to this job reaches the ranks
    proc = subprocess.Popen(cmd, start_new_session=True, preexec_fn=_ignore_user_signals, env=_rank_env())
    preemption.listen(signals)
    preemption.forward_to(proc.pid)
    try:
        code = proc.wait()
    except BaseException:  # Ctrl-C, or the sweep stopping: the ranks stop too
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        raise
    finally:
        preemption.forward_to(None)
        if preemption.caught() is None:
            preemption.stop_listening()
    outcome_file = state / "outcome.json"
    if preemption.caught() is not None:
        raise preemption.Preempted("the ranks checkpointed")
    if not outcome_file.exists():
        raise RuntimeError(f"the {n} processes of this trial exited {code} without a result (their output is above)")
    outcome = json.loads(outcome_file.read_text())
    if outcome["state"] == "finished":
        return outcome["objective"]
    if outcome["state"] == "pruned":
        import optuna

        raise optuna.TrialPruned(outcome["message"])
    if outcome["state"] == "preempted":
        raise preemption.Preempted(outcome["message"])
    raise (UserError if outcome.get("user_error") else RuntimeError)(f"rank 0: {outcome['message']}")


def _build_tiny_base(cfg: DictConfig) -> None:
    """The tiny base of a multi-process trial is built before the ranks exist, by one plain process: built by the
    ranks it would be pretrained as a distributed job (accelerate sees WORLD_SIZE) and saved by rank 0 alone. On
    SLURM every task asks; a lock makes the first build it and the others find it."""
    import fcntl
    import tempfile

    from llmsweep.paths import cache_root

    lock_dir = cache_root(cfg) / "tiny"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f, open(lock_dir / ".build.lock", "w") as lock:
        OmegaConf.save(cfg, f.name, resolve=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
        argv = [sys.executable, "-m", "llmsweep.launch", "--tiny-base", f.name, _log_file() or ""]
        subprocess.run(argv, env=env, check=True)


def _tiny_base_main(config_file: str, log_file: str) -> int:
    from llmsweep.models.build import tiny_checkpoint

    _child_logging(log_file or None, "tiny base")
    tiny_checkpoint(OmegaConf.load(config_file))
    return 0


def _ignore_user_signals() -> None:
    for sig in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)


def _rank_env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default too; said here so it is not a warning
    return env


def _log_file() -> str | None:
    """The job's log file (train.log), which Hydra configured in this process only."""
    return next((h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)), None)


def _child_logging(log_file: str | None, who: str) -> None:
    """A process this job starts (a rank, the tiny-base build) logs as the job does: everything to the job's log
    file, and on the console its own progress and results; rank 1 and up show errors only (rank 0 says it)."""
    from llmsweep.console import route_to_log_file

    fmt = logging.Formatter(f"[%(asctime)s][{who}][%(name)s][%(levelname)s] - %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(fmt)
    console.setLevel(logging.INFO if rank() == 0 or who == "tiny base" else logging.ERROR)
    root.addHandler(console)
    if log_file:
        to_file = logging.FileHandler(log_file)  # appends, a line at a time, beside the job's own lines
        to_file.setFormatter(fmt)
        root.addHandler(to_file)
    route_to_log_file()


def rank_main(run_dir: str) -> int:
    """One rank of a torchrun launch: the job's resolved config, its recipe, the harness; rank 0 reports."""
    from llmsweep.training import preemption

    state = Path(run_dir) / STATE
    cfg = OmegaConf.load(state / "config.yaml")
    spec = json.loads((state / "job.json").read_text())
    _child_logging(spec.get("log_file"), f"rank {rank()}")
    module, attr = spec["recipe"].split(":")
    recipe = getattr(importlib.import_module(module), attr)
    job = Job(Path(spec["run_dir"]), spec["name"], tuple(spec["overrides"]), spec["group"])
    try:
        outcome = {"state": "finished", "objective": execute(recipe, cfg, job, controls_for(cfg, recipe.stage))}
    except preemption.Preempted as e:
        outcome = {"state": "preempted", "message": str(e)}
    except UserError as e:
        outcome = {"state": "failed", "message": str(e), "user_error": True}
    except Exception as e:
        if type(e).__name__ == "TrialPruned":
            outcome = {"state": "pruned", "message": str(e)}
        else:
            log.exception("rank %d failed", rank())
            outcome = {"state": "failed", "message": f"{type(e).__name__}: {e}"}
    if rank() == 0:
        (state / "outcome.json").write_text(json.dumps(outcome))
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(_tiny_base_main(*sys.argv[2:4]) if sys.argv[1] == "--tiny-base" else rank_main(sys.argv[1]))
