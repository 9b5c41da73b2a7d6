"""The wheel works without the checkout: built, installed (not editable) into a fresh venv, run from elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "src", "conf", "sweeps")  # all that `pip wheel .` reads
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def _run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120, **kwargs)
    if proc.returncode != 0:
        command = " ".join(map(str, argv))
        raise AssertionError(f"{command} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    (tmp / "src").mkdir()
    # From a copy: an in-tree build leaves build/ in the checkout, and a stale build/lib puts deleted files in
    # later wheels. symlinks=True keeps src/llmsweep/conf -> ../../conf pointing inside the copy.
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(REPO / name, tmp / "src" / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(REPO / name, tmp / "src" / name)
    # no build isolation: offline and seconds faster (setuptools is in the test extra)
    _run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", tmp / "src"])
    (built,) = (tmp / "dist").glob("llmsweep-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed; the dependencies are this venv's, seen through a .pth file."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--clear", venv])  # with its own pip (~4 s): `pip --python` needs pip 22.3
    python = venv / "bin" / "python"
    _run([python, *PIP[1:], "install", "--no-deps", "--no-index", wheel], env=_clean_env())
    # Written after the install, or pip would see this venv's (editable) llmsweep as already installed. A .pth line
    # only adds the directory: the .pth files in it, such as the editable install's, are not read.
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=_clean_env()).stdout
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site.strip()) / "llmsweep-deps.pth").write_text("".join(f"{d}\n" for d in deps), encoding="utf-8")
    return venv


def _clean_env() -> dict:
    # PYTHONPATH (the worktree's src in development) would shadow the wheel
    drop = ("PYTHON", "VIRTUAL_ENV", "WANDB_", "HF_", "LLMSWEEP_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _app(venv: Path, tmp_path: Path, name: str, *args: str) -> str:
    """stdout of an installed console script, started outside the checkout."""
    return _run([venv / "bin" / name, *args], cwd=tmp_path, env=_clean_env()).stdout


def _help_groups(help_text: str) -> dict[str, list[str]]:
    listing = help_text.split("Config groups (choose with GROUP=OPTION):\n", 1)[1].split("Composed config", 1)[0]
    return {g: o.split(", ") for g, o in (line.split(": ", 1) for line in listing.strip().splitlines())}


def test_wheel_holds_the_configs_sweeps_samples_and_plugins(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"llmsweep/conf/{p.relative_to(REPO / 'conf').as_posix()}" for p in (REPO / "conf").rglob("*.yaml")}
    expected |= {f"llmsweep/sweeps/{p.name}" for p in (REPO / "sweeps").glob("*.yaml")}
    expected |= {f"llmsweep/data/samples/{p.name}" for p in (REPO / "src/llmsweep/data/samples").glob("*.jsonl")}
    expected |= {
        "llmsweep/models/chat_template.jinja",
        "hydra_plugins/llmsweep_sweeper/sweeper.py",
        "hydra_plugins/llmsweep_sweeper/search_path.py",
    }
    assert len(expected) > 40 and expected <= names, sorted(expected - names)
    # hydra_plugins stays a namespace package, shared with the other installed Hydra plugins
    assert "hydra_plugins/__init__.py" not in names
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"llmsweep", "hydra_plugins"}
    junk = [n for n in names if "__pycache__" in n or n.endswith((".pyc", "make_samples.py"))]
    assert not junk


def test_installed_wheel_is_what_runs(venv, tmp_path):
    code = (
        "import llmsweep, hydra_plugins.llmsweep_sweeper as plugin; from llmsweep import paths; print("
        "llmsweep.__file__, plugin.__file__, paths.CONF_DIR, paths.SWEEPS_ROOT, paths.SAMPLES_DIR, sep='\\n')"
    )
    files = [Path(line) for line in _app(venv, tmp_path, "python", "-c", code).splitlines()]
    assert len(files) == 5
    for f in files:
        assert f.is_relative_to(venv.resolve()) and f.exists(), f
    conf_dir = files[2]
    assert not conf_dir.is_symlink() and (conf_dir / "train.yaml").is_file()


def test_train_prints_its_config_from_another_directory(venv, tmp_path):
    out = _app(venv, tmp_path, "llmsweep-train", "--cfg", "job")
    assert "checkpoint: mistralai/Mistral-7B-v0.1" in out and "method:" in out


def test_train_finds_the_sweeps_group_and_the_sweeper(venv, tmp_path):
    groups = _help_groups(_app(venv, tmp_path, "llmsweep-train", "--help"))
    assert {"dpo_beta", "lora_rank", "joint"} <= set(groups["sweeps"])
    hydra_cfg = _app(venv, tmp_path, "llmsweep-train", "+sweeps=lora_rank", "--cfg", "hydra")
    assert "_target_: hydra_plugins.llmsweep_sweeper.sweeper.LlmsweepOptunaSweeper" in hydra_cfg
    assert "method.lora.r: choice(" in hydra_cfg


@pytest.mark.parametrize("app, group", [("llmsweep-merge", "merge"), ("llmsweep-serve", "engine")])
def test_merge_and_serve_help(venv, tmp_path, app, group):
    groups = _help_groups(_app(venv, tmp_path, app, "--help"))
    assert group in groups and groups[group]
