"""Puts the checkout's top level on Hydra's search path, so `+sweeps=NAME` finds sweeps/NAME.yaml."""

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

ROOT = Path(__file__).resolve().parents[3]


class LlmsweepSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if (ROOT / "sweeps").is_dir():
            search_path.append(provider="llmsweep", path=f"file://{ROOT}")
