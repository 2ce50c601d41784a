"""Timing helpers shared by the benchmarks."""

import os
import pathlib
import statistics
import time


def result(name, value, unit, baseline, note=""):
    """One benchmark row; `ratio` is value / baseline (None when there is no baseline)."""
    ratio = None if not baseline else value / baseline
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio, "note": note}


def stop_on_sigterm():
    """Makes SIGTERM (e.g. from `timeout`) end this process through its `finally` blocks, so servers it started stop."""
    import signal
    import sys

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def print_rows(rows):
    """Prints benchmark rows as a table (name, value, unit, baseline, ratio, note), then as JSON."""
    import json

    for row in rows:
        baseline = f"{row['baseline']:.1f}" if row["baseline"] else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(f"{row['name']:<38} {row['value']:>10.1f} {row['unit']:<9} {baseline:>10} {ratio:>6}  {row['note']}")
    print(json.dumps(rows, indent=2))


def command_line(prog, description, run, bounds, argv=None):
    """A benchmark's command line: bounded `--NAME` options passed to `run(**options)`, its rows printed.

    Args:
        prog: the program name, e.g. "python -m bench.load".
        description: one line for `--help`.
        run: the benchmark's `run` function; its rows are printed.
        bounds: `{name: (type, default, minimum, maximum)}` (the load a run makes stays bounded).
        argv: the arguments. Defaults to `sys.argv[1:]`.

    Returns:
        0, the exit status.
    """
    import argparse

    stop_on_sigterm()
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for name, (kind, default, minimum, maximum) in bounds.items():
        parser.add_argument(f"--{name}", type=kind, default=default, help=f"{minimum}-{maximum} (default %(default)s)")
    options = vars(parser.parse_args(argv))
    for name, (_, _, minimum, maximum) in bounds.items():
        if not minimum <= options[name] <= maximum:
            parser.error(f"--{name} must be {minimum}-{maximum}")
    print_rows(run(**options))
    return 0


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


def _group_processes(group):
    """Yields `(pid, fields after the command name)` of every live process in a process group, from /proc."""

    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == group:
            yield int(entry.name), fields


def group_cpu_seconds(group, *, leader_only=False):
    """CPU seconds (user + system) used so far by a process group: its live processes and the children they reaped.

    With `leader_only`, only the group's leader (the process whose pid is the group's id, e.g.
    the app server without its inference workers).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(sum(int(value) for value in fields[11:15]) for pid, fields in _group_processes(group)
               if not leader_only or pid == group) / ticks


def group_resident_mb(group):
    """Resident memory of a process group's live processes in MB (shared pages counted in each, as `ps` does)."""
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(int(fields[21]) for _, fields in _group_processes(group)) * page / 2**20


def group_pids(group):
    """The live processes of a process group."""
    return sorted(pid for pid, _ in _group_processes(group))


def load_note():
    """The machine's load average in words, for benchmark notes (other work on the machine shows here)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
