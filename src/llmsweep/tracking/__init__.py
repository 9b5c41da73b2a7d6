"""Experiment tracking: W&B run setup and the secrets guard."""
