"""Fixtures of tests/offtheshelf: the off-the-shelf backends (see offtheshelf_apps)."""

from offtheshelf_apps import datasette, kinto, started

__all__ = ["datasette", "kinto", "started"]
