"""Where llmsweep finds its own files: one place for every path the code computes.

`conf/` and `sweeps/` live at the top of the checkout (the layout users were promised); the package holds
symlinks to them, which a wheel build turns into copies, so an editable checkout and a `pip install .`
both find them next to this file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
CONF_DIR = PACKAGE_DIR / "conf"  # Hydra config groups (train.yaml, merge.yaml, serve.yaml, ...)
SWEEPS_ROOT = PACKAGE_DIR  # holds sweeps/, the `+sweeps=NAME` group
SAMPLES_DIR = PACKAGE_DIR / "data" / "samples"  # the bundled Korean Dolly and preference samples


def cache_root(cfg: Any) -> Path:
    """The config's cache_dir (tiny bases, merged adapters, judgments), with ~ expanded."""
    return Path(os.path.expanduser(str(cfg.cache_dir)))
