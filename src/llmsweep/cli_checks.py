"""Checks of a command line and a composed config that run before any heavy import, each failing in one line.

- `checked(schema)` wraps an app's Hydra entry: before Hydra composes anything, every KEY=VALUE override is looked up
  in the app's schema (its dataclasses) and, where a mapping is passed through to a library class (`trainer.*`,
  `method.args.*` -> trl's SFTConfig / DPOConfig, `method.lora.*` -> peft.LoraConfig), in that class's fields. A
  key that is not there gets the nearest valid keys (difflib), not Hydra's `+key` hint, which would add a key that
  nothing reads; a value of the wrong type (`trainer.max_steps=abc`) is named. Exit 2.
- `check_config(cfg, stage)` checks the composed config's pass-through mappings against the exact class its recipe
  builds (values from YAML, `${per_scale:...}`, a `+key`), so a bad one fails in a second, not after the imports.

The library classes' fields are read from their source (`llmsweep.library_fields`): no torch import. Only the
types a value can be checked against without the class are checked (int, float, bool, optional); strings, enums
and lists are left to the class itself when the run builds it.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from llmsweep import paths
from llmsweep.errors import UserError
from llmsweep.library_fields import fields_of

SFT, DPO = "trl.SFTConfig", "trl.DPOConfig"
# config path -> the library classes a mapping there is passed to, per app (the recipe picks one at run time)
PASS_THROUGH = {
    "train": {
        "trainer": (SFT, DPO),
        "method.args": (SFT, DPO),
        "method.lora": ("peft.LoraConfig",),
        "distributed.trainer": ("transformers.TrainingArguments",),
    },
    "merge": {"trainer": (SFT,), "eval.args": (SFT,)},
}
_KIND_NAMES = {"int": "an integer", "float": "a number", "bool": "true or false", "None": "null"}


# ---- the composed config -------------------------------------------------------------------------------------


def check_config(cfg: DictConfig, stage: str) -> None:
    """Every key of the pass-through mappings is a field of the class the recipe builds, of a fitting type."""
    for path, classes in PASS_THROUGH.get(stage, {}).items():
        note = ""
        if stage == "train" and classes == (SFT, DPO):
            classes = (DPO if str(cfg.method.recipe) == "dpo" else SFT,)
            note = f", which method={cfg.method.name} builds"
        node = OmegaConf.select(cfg, path)
        if not isinstance(node, DictConfig):
            continue
        for key, value in OmegaConf.to_container(node, resolve=True).items():
            _check_field(f"{path}.{key}", classes, [value], given=False, note=note)


def _check_field(key: str, classes: tuple[str, ...], values: list, given: bool, note: str = "") -> None:
    path, _, name = key.rpartition(".")
    known = [f for f in (fields_of(c) for c in classes) if f is not None]
    with_name = [f for f in known if name in f.types]
    if not with_name:
        if known and len(known) == len(classes) and all(f.complete for f in known):
            names = sorted(set().union(*(f.types for f in known)))
            owner = " or ".join(classes)
            hint = _suggest(path, name, names, f"the fields of {owner}")
            raise UserError(f"{key}: not a field of {owner}{note}{hint}")
        return  # a class's source was not found or read in full: building the class at run time still checks
    kinds = with_name[0].checkable(name)
    for v in values:
        if kinds is not None and not _fits(v, kinds):
            where = "" if given else "; it is the composed config's value (`--cfg job` shows it)"
            raise UserError(
                f"{key}={_show(v)}: expected {_kinds_text(kinds)}, as {name} is a field of {with_name[0].owner}{where}"
            )


def _kinds_text(kinds: frozenset[str]) -> str:
    names = [_KIND_NAMES[k] for k in ("bool", "float" if "float" in kinds else "int") if k in kinds]
    return " or ".join(names) + (" (or null)" if "None" in kinds else "")


def _fits(v: Any, kinds: frozenset[str]) -> bool:
    if isinstance(v, str) and "${" in v:
        return True  # an interpolation: checked once resolved (check_config)
    if v is None:
        return "None" in kinds
    if isinstance(v, bool):
        return "bool" in kinds
    if isinstance(v, int):
        return bool(kinds & {"int", "float"})
    if isinstance(v, float):
        return "float" in kinds
    return False


# ---- the command line, before Hydra --------------------------------------------------------------------------


def checked(schema: Callable[[], type], stage: str):
    """Decorate a `@hydra.main` function: its command line's overrides are checked against `schema()` first."""

    def wrap(main):
        @functools.wraps(main)
        def entry(*args, **kwargs):
            if not args and not kwargs:  # Hydra reads sys.argv (a passed-through config skips the check)
                try:
                    check_argv(sys.argv[1:], schema(), stage)
                except UserError as e:
                    print(f"error: {e}", file=sys.stderr)
                    sys.exit(2)
            return main(*args, **kwargs)

        return entry

    return wrap


def check_argv(argv: list[str], schema: type, stage: str) -> None:
    """Each KEY=VALUE override names a key of `schema` (or a field of a pass-through class) with a fitting value.
    Group choices (`model=solar`), `hydra.*` and `~key` are Hydra's; a command line Hydra cannot parse is too."""
    from hydra._internal.utils import get_args_parser  # the parser hydra.main itself uses
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        args, _ = get_args_parser().parse_known_args(argv)
        if args.help or args.hydra_help or args.shell_completion or args.info:
            return
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except (SystemExit, HydraException):
        return  # Hydra says what is wrong with it
    groups = _groups()
    for o in overrides:
        key = o.key_or_group
        if o.is_delete() or o.package is not None or o.is_hydra_override() or "/" in key:
            continue
        if "." not in key and key in groups:
            continue  # a group choice: Hydra lists the options of an unknown one
        _check_key(key, _values(o), schema, PASS_THROUGH.get(stage, {}), groups, adding=o.is_add() or o.is_force_add())


def _values(o) -> list:
    from hydra.core.override_parser.types import ChoiceSweep, RangeSweep

    v = o.value()
    if isinstance(v, ChoiceSweep):
        return list(v.list)
    if isinstance(v, RangeSweep):
        return [v.start, v.stop]
    if o.is_sweep_override():
        return []  # interval(...): the sweeper's
    return [v]


def _check_key(key: str, values: list, schema: type, pass_through: dict, groups: frozenset[str], adding: bool) -> None:
    parts = key.split(".")
    cls: Any = schema
    for i, part in enumerate(parts):
        here, path = ".".join(parts[:i]), ".".join(parts[: i + 1])
        hints = _hints(cls)
        if part not in hints:
            if adding:
                return  # `+key=VALUE` on purpose (e.g. for an interpolation): Hydra adds it
            names = sorted(set(hints) | (groups if i == 0 else set()))
            section = f"{here} ({cls.__name__})" if here else "the config"
            hint = _suggest(here, part, names, "`--cfg job` shows the keys")
            raise UserError(f"{key}: no such key in {section}{hint}")
        if path in pass_through:
            if i + 2 == len(parts):
                _check_field(key, pass_through[path], values, given=True)
            return
        t = _unwrap(hints[part])
        if dataclasses.is_dataclass(t):
            cls = t
            continue
        if i == len(parts) - 1 and _is_scalar(t) and not adding:
            for v in values:
                if not _fits_schema(v, t):
                    raise UserError(f"{key}={_show(v)}: expected {_type_name(t)}")
        return  # a mapping or list of the schema's own (judge, merge.parameters, ...), or a leaf


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return {f.name: t for f in dataclasses.fields(cls) if (t := typing.get_type_hints(cls).get(f.name)) is not None}


def _unwrap(t: Any) -> Any:
    args = [a for a in typing.get_args(t) if a is not type(None)]
    return args[0] if typing.get_origin(t) is typing.Union and len(args) == 1 else t


def _is_scalar(t: Any) -> bool:
    return t in (int, float, bool, str) or isinstance(t, type) and issubclass(t, enum.Enum)


def _fits_schema(v: Any, t: type) -> bool:
    """What OmegaConf would accept for a field of type `t` (its own nodes validate)."""
    from omegaconf import BooleanNode, EnumNode, FloatNode, IntegerNode, StringNode
    from omegaconf.errors import ValidationError

    node = {int: IntegerNode, float: FloatNode, bool: BooleanNode, str: StringNode}.get(t)
    try:
        (node(v, is_optional=True) if node else EnumNode(t, v, is_optional=True))
    except ValidationError:
        return False
    return True


def _type_name(t: type) -> str:
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return "one of " + ", ".join(m.name for m in t)
    return _KIND_NAMES.get(t.__name__, t.__name__)


def _suggest(path: str, name: str, names: list[str], elsewhere: str) -> str:
    prefix = f"{path}." if path else ""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(prefix + c for c in close) + "?"
    return f"; valid keys: {', '.join(names)}" if len(names) <= 20 else f"; see {elsewhere}"


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


@functools.cache
def _groups() -> frozenset[str]:
    """Top-level config groups: conf/'s folders, the `+sweeps=NAME` group and hydra's."""
    conf = Path(paths.CONF_DIR)
    return frozenset({p.name for p in conf.iterdir() if p.is_dir()} | {"sweeps", "hydra"})


# ---- a run that failed before any work -----------------------------------------------------------------------


def discard_unused_run_dir(run_dir: Path) -> bool:
    """Remove a run dir that holds only what Hydra wrote before the run (`.hydra/`, the job's log), and the
    parents it leaves empty below the working directory (`outputs/DATE/`). A run dir with anything else (a
    checkpoint, a model, wandb/: work done or resumable) is kept."""
    import shutil

    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir() or any(p.name != ".hydra" and p.suffix != ".log" for p in run_dir.iterdir()):
        return False
    shutil.rmtree(run_dir)
    cwd, parent = Path.cwd().resolve(), run_dir.parent
    while cwd in parent.parents and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
    return True
