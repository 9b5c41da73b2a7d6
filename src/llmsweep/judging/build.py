"""conf/judge/*.yaml -> a judge object (`_target_`), or None for judge=none.

Keys every judge config has: `name` (recorded with each judgment) and `judge_base` (also grade the base
model's answers); all other keys are the backend's constructor arguments.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError

STAGE_KEYS = ("name", "judge_base")
LANGUAGES = ("en", "ko")


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise UserError(f"judge.language={language}: the rubric exists in {', '.join(LANGUAGES)}")
    return language


def build_judge(judge: DictConfig):
    """The judge `judge` describes, or None when there is nothing to build (judge=none)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    if judge is None or judge.get("_target_") is None:
        return None
    name = judge.get("name", "?")
    missing = [k for k in judge if OmegaConf.is_missing(judge, k)]
    if missing:
        raise UserError(
            f"judge={name}: {', '.join('judge.' + k for k in missing)} must be set "
            f"(e.g. {' '.join(f'judge.{k}=...' for k in missing)})"
        )
    backend = OmegaConf.to_container(judge, resolve=True)
    for k in STAGE_KEYS:
        backend.pop(k, None)
    try:
        return instantiate(backend)
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise UserError(f"judge={name}: {cause or e}. Fix the judge.* keys (see conf/judge/{name}.yaml).") from e
