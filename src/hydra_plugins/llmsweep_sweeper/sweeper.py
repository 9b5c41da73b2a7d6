"""Hydra's side of the sweeper: parse the overrides, hand the loop to llmsweep.sweeping.driver."""

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.llmsweep_sweeper.config import LlmsweepOptunaConf  # noqa: F401  (registers the config)


class LlmsweepOptunaSweeper(Sweeper):
    def __init__(self, **conf: Any) -> None:
        self.conf = OmegaConf.create(conf)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from llmsweep.sweeping.driver import run_sweep

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = parser.parse_overrides([f"{k}={v}" for k, v in self.conf.params.items()])
        cli = parser.parse_overrides(arguments)
        return run_sweep(self.conf, self.config, self.launcher, params + cli)
