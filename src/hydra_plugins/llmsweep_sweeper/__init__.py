"""Hydra plugins of llmsweep: the `llmsweep_optuna` sweeper and the search path holding `sweeps/`."""
