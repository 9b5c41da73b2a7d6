"""Training recipes over trl: `sft` (full | LoRA | QLoRA) and `dpo` (LoRA | QLoRA | full)."""
