"""Watching a live run in a real browser: the view keeps updating, the sidebar's run table never greys out."""

import json
import os
import shutil
import threading
import time

import pytest

from imgrec import jobs, training
from imgrec.jobs import processes
from tests.e2e.conftest import app_environment
from tests.support import server
from tests.support.browser import UPDATE_COUNTER, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_ID = "20261121-203015-ab12cd"
# Records whether any element of the sidebar is ever marked stale (Streamlit greys those out).
SIDEBAR_WATCHER = """
() => {
  window.__sidebarStale = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.target.getAttribute("data-stale") === "true") window.__sidebarStale.push(change.target.innerText);
    }
  }).observe(document.querySelector("[data-testid='stSidebar']"),
             {attributes: true, subtree: true, attributeFilter: ["data-stale"]});
}
"""


def write_run(runs, run_id, status, **state):
    folder = runs / run_id
    folder.mkdir(parents=True)
    config = training.TrainConfig(architecture="cnn", dataset="digits", epochs=2).to_dict()
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(config))
    (folder / jobs.STATUS_FILE).write_text(json.dumps({
        "status": status, "reason": None, "created": time.time(), "started": time.time(), "finished": None,
        "time_limit": 3600, **state}))
    return folder


class FakeWorker:
    """Stands in for a training worker: this process is the run's worker, appending a batch event four times a second."""

    def __init__(self, folder):
        self.folder, self.step = folder, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.log, daemon=True)

    def log(self):
        while not self.stop.wait(0.25):
            self.step += 1
            event = {"event": "batch", "epoch": 1, "batch": self.step, "step": self.step, "total_steps": 100_000,
                     "loss": 2.0 / self.step ** 0.5, "accuracy": 0.5, "elapsed": self.step / 4, "time": time.time()}
            with open(self.folder / jobs.METRICS_FILE, "a") as log:
                log.write(json.dumps(event) + "\n")


@pytest.fixture(scope="module")
def live_server(chromium, tiny_registry, tmp_path_factory):
    """The app over a runs folder that this test fills by hand; yields `(url, runs folder)`."""
    scratch = tmp_path_factory.mktemp("e2e-live")
    models = shutil.copytree(tiny_registry, scratch / "models")
    runs = scratch / "runs"
    runs.mkdir()
    environment = app_environment(models, server.REPO / ".cache", runs)
    with server.streamlit_server(environment, scratch / "streamlit.log", startup_timeout=30, stop_timeout=5) as url:
        yield url, runs


def test_a_live_run_updates_without_greying_out_the_sidebar(live_server, page):
    url, runs = live_server
    identity = processes.process_identity(os.getpid())
    folder = write_run(runs, RUN_ID, jobs.RUNNING, pid=os.getpid(), pid_start=identity[0], phase="training")
    worker = FakeWorker(folder)
    worker.thread.start()
    try:
        page.goto(f"{url}/train?run={RUN_ID}")
        wait_for_app(page)
        page.get_by_text(f"Run {RUN_ID}: running").wait_for()
        page.locator("[data-testid='stPlotlyChart']").first.wait_for()
        page.get_by_test_id("stSidebar").get_by_text("1 training, 0 waiting").wait_for()
        page.evaluate(SIDEBAR_WATCHER)
        page.evaluate(UPDATE_COUNTER)
        first_step = worker.step
        page.wait_for_timeout(12_000)  # Six polls of the live view, two of the sidebar.
        updates, stale = page.evaluate("() => [window.__imgrecUpdates, window.__sidebarStale]")
        assert updates >= 3, f"the live view updated {updates} times in 12 s"
        assert stale == [], f"the sidebar greyed out: {stale}"
        progress = page.get_by_test_id("stProgress").inner_text()
        assert f"step {first_step:,} of" not in progress and "Epoch 1, step" in progress  # It moved on.
        # Someone queues another run (the one slot is taken, so it waits): the sidebar shows it within a look.
        write_run(runs, "20261121-203016-cd34ef", jobs.QUEUED, pid=None, started=None)
        page.get_by_test_id("stSidebar").get_by_text("1 training, 1 waiting").wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        worker.stop.set()
        worker.thread.join()
