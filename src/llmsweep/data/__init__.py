"""Dolly instruction records and preference pairs: schema, loading, chat formatting."""
