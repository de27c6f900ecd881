"""The plugin is tested from the outside, with pytest's own pytester, as a user's suite."""

pytest_plugins = ["pytester"]
