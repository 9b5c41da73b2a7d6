"""Build a real checkpoint or a tiny model of the same architecture, with its tokenizer."""
