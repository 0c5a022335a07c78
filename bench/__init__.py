"""Benchmarks for indexing and query speed: ``python -m bench`` (see bench/README.md)."""
