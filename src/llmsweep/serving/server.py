"""serve.py's stage: check the bind, load the engine, serve the app with uvicorn."""

from __future__ import annotations

import logging
import os

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.serving.security import check_bind

log = logging.getLogger(__name__)


def load_engine(cfg: DictConfig):
    """The engine of `cfg.engine` (conf/engine/*.yaml) over the model of `cfg.run_dir`."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from llmsweep.serving.engine import model_dir_of

    model_dir = model_dir_of(cfg.run_dir)
    try:
        return instantiate(cfg.engine, model_dir=str(model_dir))
    except InstantiationException as e:
        if isinstance(e.__cause__, UserError):  # instantiate wraps what the loader raises
            raise e.__cause__ from None
        raise


def run(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "run_dir"):
        raise UserError("run_dir is required: python serve.py run_dir=outputs/DATE/TIME (a run dir, merge output or model dir)")
    token = os.environ.get(cfg.token_env) or None
    check_bind(cfg.host, token, cfg.token_env)  # before importing torch: a refused start is immediate

    import uvicorn

    from llmsweep.serving.app import create_app

    engine = load_engine(cfg)
    app = create_app(engine, model_name=str(cfg.model_name), token=token, max_tokens=cfg.max_tokens,
                     max_request_bytes=cfg.max_request_bytes, queue_size=cfg.queue_size)
    log.info("serving model '%s' at http://%s:%d/v1 (%s)", cfg.model_name, cfg.host, cfg.port,
             f"bearer token from ${cfg.token_env} required" if token else "no token: loopback only")
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level)
