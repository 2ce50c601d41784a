"""The real app as a subprocess: `streamlit run streamlit_app.py` on a free loopback port.

One implementation for the end-to-end tests and the benchmarks that drive the real app
(bench/load.py, bench/studio.py, bench/serving.py, bench/capacity.py, bench/live_view.py). It lives with the tests because it is test machinery,
and the benchmarks run from the same checkout; the tests never import `bench`.
"""

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(environment, log_path, **options):
    """Runs `streamlit run streamlit_app.py` on a free loopback port; yields its URL once healthy.

    Takes the arguments of `streamlit_process`.
    """
    with streamlit_process(environment, log_path, **options) as (url, _):
        yield url


@contextlib.contextmanager
def streamlit_process(environment, log_path, *, python=None, script="streamlit_app.py", options=(), own_group=False,
                      repo=REPO, startup_timeout=60, stop_timeout=10):
    """Runs the app (`serve.py`, or `streamlit run SCRIPT`) on a free loopback port; yields `(url, process)` once healthy.

    The process is there for benchmarks that read the server's own CPU time (`cpu_seconds`) and
    for tests that kill the server themselves: a server killed inside the block is left as it is
    on the way out (it is reaped, not signalled).

    Args:
        environment: the server's environment variables (e.g. IMGREC_MODELS_DIR).
        log_path: file that receives the server's output, quoted when it fails to start.
        python: interpreter to run Streamlit with. Defaults to this one.
        script: the entry script, relative to the repository. Defaults to the app's.
        options: extra command-line options, e.g. `("--runner.postScriptGC", "false")`. Defaults to none.
        own_group: start the server as the leader of a new process group (its pid is the
            group's id), so a benchmark counts everything it starts (its inference workers)
            with it, and a Ctrl-C in the benchmark's terminal does not reach it. Defaults to False.
        repo: the checkout whose app runs (another one for a side-by-side benchmark). Defaults
            to this one.
        startup_timeout: seconds to wait for `/_stcore/health`. Defaults to `60`.
        stop_timeout: seconds between terminate and kill on the way out. Defaults to `10`.

    Raises:
        RuntimeError: when the server exits or is not healthy within `startup_timeout`.
    """
    port = free_port()
    # The app starts through its launcher (serve.py: the inference workers start with the server), as
    # `make run` does; another script, or a checkout from before the launcher, through `streamlit run`.
    launcher = ["serve.py"] if script == "streamlit_app.py" and (pathlib.Path(repo) / "serve.py").exists() \
        else ["-m", "streamlit", "run", script]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [python or sys.executable, *launcher, "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             *options],
            cwd=repo, env=environment, stdout=log, stderr=subprocess.STDOUT, process_group=0 if own_group else None,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log_path, startup_timeout)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(url, process, log_path, timeout):
    """Polls `/_stcore/health` until it answers 200.

    Raises:
        RuntimeError: when the server exits, or is not healthy within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            if response.status == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"The app server did not start:\n{pathlib.Path(log_path).read_text()[-3000:]}")
        time.sleep(0.2)


def cpu_seconds(pid):
    """Returns the CPU seconds (user + system, every thread) a live process has used so far, from /proc."""
    text = pathlib.Path(f"/proc/{int(pid)}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
