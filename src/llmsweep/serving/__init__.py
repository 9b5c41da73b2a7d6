"""OpenAI-compatible chat API over a run dir: engine (model + generate), security (who may call), app (HTTP)."""
