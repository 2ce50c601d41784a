"""live_view_cpu_per_viewer: what watching a live training run costs the app server, per headless browser.

Starts the real app (`streamlit run` on a free loopback port, with the repository's
`.streamlit/config.toml`), submits one long training run on the 8x8 digits through
`imgrec.jobs` (it trains in its own worker process, which is not counted), and reads the
server process's own CPU time (user + system, every thread) from /proc over WINDOW seconds:
first with no browser open (the idle server, the baseline), then with one headless Chromium
on /train?run=ID, then with ten (one browser context each, like ten students). Values are
percent of one core. Targets: one viewer <= 5%, ten viewers <= 25%.

Each note also gives the page updates the browsers received in the window (finished script
or fragment runs; a starved server serves fewer, so a low CPU figure with few updates would
be no success), the median time /_stcore/health took meanwhile, and the machine's load.

Usage: python -m bench.live_view [--seconds S] [--viewers 1,10] [--option NAME=VALUE ...]
"""

import argparse
import contextlib
import os
import pathlib
import statistics
import sys
import tempfile
import time
import urllib.request

from bench.common import result
from tests.support import server
from tests.support.browser import CHROMIUM_ARGS, IDLE, UPDATE_COUNTER, chromium_path, missing_chromium

REPO = pathlib.Path(__file__).resolve().parent.parent
WINDOW_SECONDS = 30.0  # Each measurement; /proc counts in 10 ms ticks, so 0.03% of a core is the resolution.
VIEWERS = (1, 10)
# Long enough to outlast every phase (hours; it is cancelled at the end): 500 epochs of 8-image batches.
LIVE_RUN = {"architecture": "cnn", "dataset": "mnist-5k", "epochs": 500, "batch_size": 8}
OPEN_TIMEOUT_MS = 600_000  # Opening the page under load; the first visit imports the app's modules.
TRAINING_TIMEOUT = 240.0  # Seconds for the run's worker to load TensorFlow and start training.


def load_note():
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def health_seconds(url):
    started = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def measure(process, url, seconds):
    """The server's CPU over `seconds` as percent of a core, and the median health-check time meanwhile."""
    health = []
    cpu_before, started = server.cpu_seconds(process.pid), time.monotonic()
    while time.monotonic() - started < seconds:
        health.append(health_seconds(url))
        time.sleep(max(0.0, 1.0 - health[-1]))
    cpu = server.cpu_seconds(process.pid) - cpu_before
    return 100.0 * cpu / (time.monotonic() - started), statistics.median(health)


def wait_training(run_id, runs):
    from imgrec import jobs

    deadline = time.monotonic() + TRAINING_TIMEOUT
    while time.monotonic() < deadline:
        view = jobs.status(run_id, runs_dir=runs)
        if view["status"] == jobs.RUNNING and view.get("phase") == "training":
            return
        if view["status"] in jobs.FINISHED_STATES:
            raise RuntimeError(f"The live run ended before the measurement: {view.get('reason')}")
        time.sleep(0.5)
    raise RuntimeError("The live run did not start training in time.")


def open_viewer(browser, url, run_id):
    """One more browser watching the run, as a student opening the link would; returns its page and seconds to open."""
    started = time.perf_counter()
    tab = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    tab.set_default_timeout(OPEN_TIMEOUT_MS)
    tab.goto(f"{url}/train?run={run_id}", wait_until="commit")
    tab.wait_for_selector(IDLE)
    tab.get_by_text(f"Run {run_id}").first.wait_for()
    tab.evaluate(UPDATE_COUNTER)
    seconds = time.perf_counter() - started
    print(f"viewer {len(tab.context.browser.contexts)} watching after {seconds:.1f} s", file=sys.stderr, flush=True)
    return tab, seconds


def updates(tabs):
    return sum(tab.evaluate("() => window.__imgrecUpdates") for tab in tabs)


def requested_updates_per_second():
    """The updates one viewer's page asks the server for: the live view's polls and the sidebar's looks."""
    from pages._ui import train_runs

    # Before the sidebar stopped redrawing on every look, it was polled every three live-view polls.
    sidebar = getattr(train_runs, "SIDEBAR_POLL_SECONDS", 3 * train_runs.POLL_SECONDS)
    return 1 / train_runs.POLL_SECONDS + 1 / sidebar


def run(seconds=WINDOW_SECONDS, viewer_counts=VIEWERS, options=()):
    from playwright.sync_api import sync_playwright

    from imgrec import jobs

    if missing_chromium():
        return [result("live_view_cpu_per_viewer", float("nan"), "% of a core", None,
                       note=f"skipped: Debian's chromium is not installed at {chromium_path()}")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="imgrec-bench-live-") as scratch:
        scratch = pathlib.Path(scratch)
        runs, models = scratch / "runs", scratch / "models"
        runs.mkdir()
        models.mkdir()
        environment = {**os.environ, "IMGREC_RUNS_DIR": str(runs), "IMGREC_MODELS_DIR": str(models),
                       "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
        # The worker's threads and time limit, read when it is submitted and starts, below: on a busy
        # machine ten browsers take long to open, and the run must still be training when they have.
        previous = {name: os.environ.get(name) for name in ("IMGREC_RUN_THREADS", "IMGREC_RUN_TIME_LIMIT")}
        os.environ.update(IMGREC_RUN_THREADS="1", IMGREC_RUN_TIME_LIMIT=str(6 * 3600))
        run_id = None
        try:
            with server.streamlit_process(environment, scratch / "streamlit.log", options=options) as (url, process), \
                    sync_playwright() as playwright:
                run_id = jobs.submit(LIVE_RUN, runs_dir=runs)
                wait_training(run_id, runs)
                idle, idle_health = measure(process, url, seconds)
                idle_note = load_note()
                print(f"idle server: {idle:.1f}% of a core; {idle_note}", file=sys.stderr, flush=True)
                browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
                tabs, open_seconds = [], []
                try:
                    for count in viewer_counts:
                        while len(tabs) < count:
                            tab, opened = open_viewer(browser, url, run_id)
                            tabs.append(tab)
                            open_seconds.append(opened)
                        time.sleep(3.0)  # Past the page loads: only the polling is measured.
                        before = updates(tabs)
                        busy, busy_health = measure(process, url, seconds)
                        received = updates(tabs) - before
                        # A starved server serves fewer updates than the page asks for, which lowers its
                        # CPU share; the CPU per update, at the rate the page polls, does not hide that.
                        per_update = (busy - idle) / 100 * seconds / max(1, received)
                        asked = count * requested_updates_per_second()
                        view = jobs.status(run_id, runs_dir=runs)
                        name = "live_view_cpu_per_viewer" if count == 1 else f"live_view_cpu_{count}_viewers"
                        rows.append(result(name, busy, "% of a core", idle, note=(
                            f"server process CPU with {count} viewer(s) of one live run over {seconds:.0f} s "
                            f"({busy / count:.1f}% per viewer), idle server {idle:.1f}%; {received} page updates "
                            f"received ({received / count / seconds:.2f} per viewer per second), "
                            f"{per_update * 1000:.0f} ms of server CPU each above idle, so "
                            f"{idle + 100 * per_update * asked:.1f}% of a core at the {asked:.1f} updates a "
                            f"second the pages ask for; health check "
                            f"median {busy_health * 1000:.0f} ms (idle {idle_health * 1000:.0f} ms); the viewers' "
                            f"pages opened in {', '.join(f'{value:.0f}' for value in open_seconds)} s; run "
                            f"{view['status']}; {load_note()} (idle phase: {idle_note}); target "
                            f"{'<= 5%' if count == 1 else '<= 25%'}; server options: "
                            f"{' '.join(options) or 'the repository config'}")))
                        print(f"{name}: {busy:.1f}% of a core", file=sys.stderr, flush=True)
                finally:
                    browser.close()
        finally:
            if run_id is not None:
                with contextlib.suppress(jobs.JobError):
                    jobs.cancel(run_id, wait=True, timeout=20, runs_dir=runs)
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.live_view", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=WINDOW_SECONDS)
    parser.add_argument("--viewers", default=",".join(map(str, VIEWERS)), help="viewer counts, e.g. 1,10")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a Streamlit option for the server, e.g. runner.postScriptGC=false")
    args = parser.parse_args(argv)
    options = [part for option in args.option for part in (f"--{option.split('=', 1)[0]}", option.split("=", 1)[1])]
    for row in run(args.seconds, tuple(int(count) for count in args.viewers.split(",")), options):
        print(f"{row['name']:<32} {row['value']:7.1f} {row['unit']}  (idle {row['baseline'] or 0:.1f})  {row['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
