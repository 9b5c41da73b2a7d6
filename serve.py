"""Serve a run over the OpenAI chat API: `python serve.py run_dir=RUN [port=8000]`  (see README, `--help`)."""

from llmsweep.cli import serve

if __name__ == "__main__":
    serve()
