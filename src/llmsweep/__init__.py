"""llmsweep: experiment-tracked sweep runner for LLM fine-tuning and model merging."""

__version__ = "0.1.0"
