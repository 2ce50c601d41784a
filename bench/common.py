"""Timing helpers shared by the benchmarks."""

import contextlib
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


def free_port():
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def streamlit_process(environment, log_path, *, python=None, script="streamlit_app.py", options=(),
                      startup_timeout=60, stop_timeout=10):
    """Runs `streamlit run SCRIPT` on a free loopback port in its own process group; yields `(url, process)` once healthy.

    One implementation for the end-to-end tests and the benchmarks that drive the real app.
    The server leads a new process group (its pid is the group's id), so everything it
    starts and does not move elsewhere (inference workers) can be counted with it, and a
    Ctrl-C in the benchmark's terminal reaches the server only through this function.

    Args:
        environment: the server's environment variables (e.g. IMGREC_MODELS_DIR).
        log_path: file that receives the server's output, quoted when it fails to start.
        python: interpreter to run Streamlit with. Defaults to this one.
        script: the app's entry script, relative to the repository. Defaults to the app's.
        options: extra command-line options, e.g. `("--runner.postScriptGC", "false")`.
        startup_timeout: seconds to wait for `/_stcore/health`. Defaults to `60`.
        stop_timeout: seconds between terminate and kill on the way out. Defaults to `10`.
    """
    import pathlib
    import subprocess
    import sys
    import urllib.request

    repo = pathlib.Path(__file__).resolve().parent.parent
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [python or sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             *options],
            cwd=repo, env=environment, stdout=log, stderr=subprocess.STDOUT, process_group=0,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The app server did not start:\n{pathlib.Path(log_path).read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def streamlit_server(environment, log_path, **options):
    """Like `streamlit_process`, yielding only the URL."""
    with streamlit_process(environment, log_path, **options) as (url, _):
        yield url


def _group_processes(group):
    """Yields `(pid, fields after the command name)` of every live process in a process group, from /proc."""
    import pathlib

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
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    return sum(sum(int(value) for value in fields[11:15]) for pid, fields in _group_processes(group)
               if not leader_only or pid == group) / ticks


def group_resident_mb(group):
    """Resident memory of a process group's live processes in MB (shared pages counted in each, as `ps` does)."""
    import os

    page = os.sysconf("SC_PAGE_SIZE")
    return sum(int(fields[21]) for _, fields in _group_processes(group)) * page / 2**20


def group_pids(group):
    """The live processes of a process group."""
    return sorted(pid for pid, _ in _group_processes(group))


def load_note():
    """The machine's load average in words, for benchmark notes (other work on the machine shows here)."""
    import os

    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
