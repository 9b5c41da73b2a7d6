"""Puts llmsweep's `sweeps/` folder (the checkout's top-level one, through `llmsweep.paths`) on Hydra's search
path, so `+sweeps=NAME` finds sweeps/NAME.yaml. Only that group: a plain file:// entry for the checkout root would
also expose every YAML under it (.venv included) as config groups, in `--help` and to overrides."""

# Hydra's file source is internal (hydra-core is pinned in pyproject.toml); subclassing it keeps its loading
# and listing rather than copying them
from hydra._internal.core_plugins.file_config_source import FileConfigSource
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult
from hydra.plugins.search_path_plugin import SearchPathPlugin

GROUP = "sweeps"


class SweepsConfigSource(FileConfigSource):
    """A directory seen through Hydra's file source, showing only its `sweeps` group."""

    @staticmethod
    def scheme() -> str:
        return "llmsweep-sweeps"

    @staticmethod
    def _inside(config_path: str) -> bool:
        return config_path.strip("/").split("/", 1)[0] == GROUP

    def load_config(self, config_path: str) -> ConfigResult:
        if not self._inside(config_path):
            raise ConfigLoadError(f"Config not found : {config_path}")
        return super().load_config(config_path)

    def is_group(self, config_path: str) -> bool:
        return (config_path.strip("/") == "" or self._inside(config_path)) and super().is_group(config_path)

    def is_config(self, config_path: str) -> bool:
        return self._inside(config_path) and super().is_config(config_path)

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        if config_path.strip("/") == "":
            return [GROUP] if results_filter in (None, ObjectType.GROUP) and super().is_group(GROUP) else []
        return super().list(config_path, results_filter) if self._inside(config_path) else []


class LlmsweepSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from llmsweep.paths import SWEEPS_ROOT

        if (SWEEPS_ROOT / GROUP).is_dir():
            search_path.append(provider="llmsweep", path=f"{SweepsConfigSource.scheme()}://{SWEEPS_ROOT}")
