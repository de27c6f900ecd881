"""Benchmarks: each module writes its own figures into docs/benchmarks/ (never typed by hand)."""
