"""Timing helpers shared by the benchmarks."""

import statistics
import time


def result(name, value, unit, baseline, note=""):
    """One benchmark row; `ratio` is value / baseline (None when there is no baseline)."""
    ratio = None if not baseline else value / baseline
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio, "note": note}


def interleaved_ms(functions, repeats=30, warmup=3):
    """Median ms of several functions timed in alternation, so machine noise hits all alike."""
    for function in functions:
        for _ in range(warmup):
            function()
    samples = [[] for _ in functions]
    for _ in range(repeats):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            samples[index].append((time.perf_counter() - started) * 1000)
    return [statistics.median(values) for values in samples]
