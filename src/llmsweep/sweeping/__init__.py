"""Optuna sweeps: search spaces from Hydra overrides, the asynchronous driver, pruning inside training."""
