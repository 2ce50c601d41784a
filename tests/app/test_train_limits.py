"""The training page's share of a class: a session's run limit, and the run view saying where a run runs.

No worker trains here: starting a run is faked to claim a sleeping process as its worker, so
runs stay "running" for as long as the test needs (and a cancel's signals reach that process).
"""

import socket
import subprocess
import time

import pytest

from imgrec import jobs
from imgrec.jobs import folders, processes
from tests.app.test_train_page import TAB_NEW, open_train, studio, widget  # noqa: F401 - `studio` is a fixture

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def claimed_runs(monkeypatch):
    """Starting a run marks it running under a sleeping process instead of starting a worker."""
    sleeper = subprocess.Popen(["sleep", "600"])

    def claim(folder, state, threads):
        identity = processes.process_identity(sleeper.pid)  # None once the sleeper is gone (at teardown).
        state.update(status=jobs.RUNNING, pid=sleeper.pid, pid_start=identity[0] if identity else None,
                     started=time.time(), executor="local", node_id=socket.gethostname())
        folders.write_json(folder / folders.STATUS_FILE, state)
        return True

    monkeypatch.setattr(processes, "start_worker", claim)
    monkeypatch.setenv("IMGREC_MAX_RUNS", "1")
    monkeypatch.delenv("IMGREC_MAX_RUNS_PER_SESSION", raising=False)
    monkeypatch.delenv("IMGREC_RAY_ADDRESS", raising=False)
    yield
    sleeper.kill()
    sleeper.wait()


def start_from_the_form(at):
    at.session_state["train-tab"] = TAB_NEW
    at.run()
    widget(at, "button", "start-run").click().run()
    assert not at.exception, at.exception


def test_a_session_may_have_two_runs_and_is_told_why_not_a_third(studio, claimed_runs):  # noqa: F811
    at = open_train(studio)
    start_from_the_form(at)
    [first] = jobs.list_runs()
    # The run view says where it runs.
    assert any(f"On this server's machine, `{socket.gethostname()}`" in caption.value for caption in at.caption)
    start_from_the_form(at)
    assert not at.error and len(jobs.list_runs()) == 2
    [second] = [run for run in jobs.list_runs() if run["id"] != first["id"]]
    assert second["status"] == jobs.QUEUED  # One trains at a time here: the second waits, and counts.
    start_from_the_form(at)
    assert [message.value for message in at.error] == [
        "You already have 2 runs queued or training, the most one session may have; "
        "wait for one to finish or cancel one."]
    assert len(jobs.list_runs()) == 2
    # Another browser session is not held back by this one's runs.
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import REPO, TIMEOUT

    other = open_train(AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT))
    start_from_the_form(other)
    assert not other.error and len(jobs.list_runs()) == 3
    assert {run["owner"] for run in jobs.list_runs()} == {at.session_state["run-owner"],
                                                          other.session_state["run-owner"]}
    # Cancelling one frees a place.
    jobs.cancel(second["id"])
    start_from_the_form(at)
    assert not at.error and len(jobs.list_runs()) == 4
