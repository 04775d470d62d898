"""Benchmarks (`python -m bench`): the real server against a fake Slack, measured; see bench/RESULTS.md.
Importing this package starts nothing."""
