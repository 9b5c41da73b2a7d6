"""Model merging as runs: inputs (run dirs, LoRA adapters, model dirs) -> mergekit -> evaluate -> track."""
