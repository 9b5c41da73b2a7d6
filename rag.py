"""Score a RAG pipeline on a QA set: `python rag.py [-m] rag.index=INDEX rag.qa=QA.jsonl [run_dir=RUN]`  (`--help`)."""

from llmsweep.cli import rag

if __name__ == "__main__":
    rag()
