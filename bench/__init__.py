"""Benchmarks that measure imgrec against a baseline run side by side in the same process."""
