"""serve.py's stage: check the bind, load the engine, serve the app with uvicorn."""

from __future__ import annotations

import logging
import os
import sys

from omegaconf import DictConfig, OmegaConf

from llmsweep.errors import UserError
from llmsweep.serving.naming import default_model_name, path_aliases
from llmsweep.serving.security import check_bind

log = logging.getLogger(__name__)

GRACE_S = 2


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
        raise UserError(
            "run_dir is required: python serve.py run_dir=outputs/DATE/TIME (a run dir, merge output or model dir)"
        )
    token = os.environ.get(cfg.token_env) or None
    check_bind(cfg.host, token, cfg.token_env)  # before importing torch: a refused start is immediate

    try:
        _serve(cfg, token)  # returns once a signal has shut uvicorn down
    except KeyboardInterrupt:  # Ctrl-C while loading, or a second one during the shutdown
        pass
    _exit_now("serve.py: stopped")


def _exit_now(message: str) -> None:
    """End the process once the server has stopped, skipping the interpreter's teardown: unloading torch and
    joining a generation still running on the worker thread took 5-15 s after Ctrl-C."""
    print(message, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a stop the user asked for


def _serve(cfg: DictConfig, token: str | None) -> None:
    import uvicorn

    from llmsweep.serving.rag import load_rag

    rag = load_rag(cfg.get("rag"))  # before torch and the model: a bad index is an immediate one-line error
    from llmsweep.serving.app import create_app

    engine = load_engine(cfg)
    name = default_model_name(cfg.run_dir) if cfg.model_name == "auto" else str(cfg.model_name)
    app = create_app(
        engine,
        model_name=name,
        aliases=path_aliases(cfg.run_dir),
        token=token,
        max_tokens=cfg.max_tokens,
        max_request_bytes=cfg.max_request_bytes,
        queue_size=cfg.queue_size,
        rag=rag,
    )
    log.info(
        "serving model '%s' at http://%s:%d/v1 (%s)",
        name,
        cfg.host,
        cfg.port,
        f"bearer token from ${cfg.token_env} required" if token else "no token: loopback only",
    )
    # requests still running at Ctrl-C get GRACE_S to finish, then the connections are closed
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, timeout_graceful_shutdown=GRACE_S)
