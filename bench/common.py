"""Timing helpers shared by the benchmarks."""

import contextlib
import os
import statistics
import time


def result(name, value, unit, baseline, note=""):
    """One benchmark row; `ratio` is value / baseline (None when there is no baseline)."""
    ratio = None if not baseline else value / baseline
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio, "note": note}


def median_ms(function, repeats=30, warmup=3):
    """Median wall time of `function()` in milliseconds after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


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
def streamlit_server(environment, log_path, *, python=None, startup_timeout=60, stop_timeout=10):
    """Runs `streamlit run streamlit_app.py` on a free loopback port; yields its URL once healthy.

    One implementation for the end-to-end tests and the benchmarks that drive the real app.

    Args:
        environment: the server's environment variables (e.g. IMGREC_MODELS_DIR).
        log_path: file that receives the server's output, quoted when it fails to start.
        python: interpreter to run Streamlit with. Defaults to this one.
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
            [python or sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=repo, env=environment, stdout=log, stderr=subprocess.STDOUT,
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def environment(**values):
    """Sets environment variables (a string) or removes them (None) for the block, then restores them."""

    def apply(settings):
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    saved = {name: os.environ.get(name) for name in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)
