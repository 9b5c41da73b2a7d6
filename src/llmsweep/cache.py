"""The cache of built things (tiny bases, tokenizers, merged adapters): built once, shared by concurrent runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def build_once(build: Callable[[Path], None], target: Path) -> Path:
    """Build into a temp dir beside `target`, then rename: concurrent runs never see half a cache entry."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build(tmp)
        os.rename(tmp, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
