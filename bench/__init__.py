"""Benchmarks that print figures and ratios against a baseline run in the same process (not timed tests)."""
