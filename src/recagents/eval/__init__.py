"""Evaluation: the peer tool-use replay (more benchmarks live here as they are added)."""
