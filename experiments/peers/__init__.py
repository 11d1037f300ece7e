"""Whole tools as peers, each run as its own process in its own environment (.venv-peers/<env>),
the way ann-benchmarks runs each algorithm in its own container: a peer takes a folder and answers
with groups (or scored pairs) as JSON; dupbench times it, reads its peak memory and scores it."""
