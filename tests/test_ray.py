"""Runs on a real Ray cluster started on this machine: a head with no CPUs and two worker nodes, no mocks.

The cluster starts once for the module (~5-15 s, ~0.75 GB); every run trains a few hundred
8x8 digits for an epoch, so the time goes to Ray and TensorFlow starting, which is what the
Ray executor adds. Every node has a custom resource named after it, so a test can place a run
on one (`IMGREC_RAY_RESOURCES`); nodes a test adds (one that dies, one with another imgrec) are
removed by it.
A cluster that cannot start fails the module: this is set-up, never a skip.
"""

import contextlib
import json
import os
import pathlib
import re
import shutil
import signal
import time

import numpy as np
import pytest

from imgrec import cli, jobs, registry, search
from tests.support import ray_cluster
from tests.test_jobs import wait_until

pytestmark = pytest.mark.slow

TINY = {"architecture": "cnn", "dataset": "digits", "max_samples": 200, "epochs": 1}
# Still training minutes later: 500 epochs of 162 batches of 8 digits.
LONG = {"architecture": "cnn", "dataset": "digits", "epochs": 500, "batch_size": 8}
RUN_TIMEOUT = 240  # Seconds a run may take on the busy 2-core machine (Ray, then TensorFlow, start first).


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Node A is plain; node B starts in a folder of its own with IMGREC_RUNS_DIR pointing there, so a
    shortcut through a shared path would leave the app's run folder empty for every run B trains."""
    # Ray's start timeout is 15 minutes; at 30 s the test of a run no node can hold takes seconds.
    with ray_cluster.local_cluster(workers=("node-a",), environment={"RAY_JOB_START_TIMEOUT_SECONDS": "30"}) as handle:
        handle.elsewhere = tmp_path_factory.mktemp("node-b")
        (handle.elsewhere / "runs").mkdir()
        handle.add_worker("node-b", cwd=str(handle.elsewhere),
                          environment={"IMGREC_RUNS_DIR": str(handle.elsewhere / "runs")})
        yield handle


@pytest.fixture
def runs(cluster, tmp_path, monkeypatch):
    """A fresh runs folder and registry on the app's side, with runs going to the module's cluster."""
    for name, value in cluster.app_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tmp_path / "models"))
    for name in ("IMGREC_MAX_RUNS", "IMGREC_RAY_RESOURCES", "IMGREC_RUN_TIME_LIMIT", "IMGREC_RAY_CPUS_PER_RUN"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "runs"
    yield folder
    for view in jobs.list_runs():  # A failing test must not leave jobs holding the nodes' CPUs.
        if view["status"] in (jobs.QUEUED, jobs.RUNNING):
            jobs.cancel(view["id"], timeout=20)


def worker_ids(cluster, *names):
    return {cluster.workers[name].node_id for name in names or cluster.workers}


def training(run_id):
    """The run's status once it is training and its progress has reached the app's folder, else None."""
    view = jobs.status(run_id)
    return view if view["status"] == jobs.RUNNING and jobs.read_metrics(run_id)[0] else None


def assert_delivered(run_id, folder):
    """The run's files reached the app's folder through Ray: metrics, TensorBoard events, result and a checked model."""
    events, _ = jobs.read_metrics(run_id)
    kinds = [event["event"] for event in events]
    assert "batch" in kinds and "epoch" in kinds and kinds[-1] == "done"
    assert list((folder / run_id / jobs.TENSORBOARD_DIR / "train").glob("events.out.tfevents.*"))
    outcome = jobs.result(run_id)
    assert outcome["split"] == "test" and 0.0 <= outcome["accuracy"] <= 1.0
    model = jobs.load_run_model(run_id)  # Checked against the sha256 the node recorded.
    assert model.output_shape == (None, 10)


def test_a_run_submitted_through_the_cli_trains_on_the_node_elsewhere_and_saves_a_model(cluster, runs, tmp_path,
                                                                                       capsys, monkeypatch):
    monkeypatch.setenv("IMGREC_RAY_RESOURCES", '{"node-b": 1}')
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(TINY))
    assert cli.main(["runs", "submit", str(config_path), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["id"]
    assert cli.main(["runs", "wait", run_id, "--timeout", str(RUN_TIMEOUT)]) == 0, jobs.status(run_id)
    capsys.readouterr()
    assert cli.main(["runs", "show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "done" and shown["executor"] == "ray"
    assert shown["node_id"] == cluster.workers["node-b"].node_id
    assert shown["ray_job_id"] == f"imgrec-{run_id}"
    assert_delivered(run_id, runs)
    assert not any((cluster.elsewhere / "runs").iterdir())  # Nothing went where the node's own runs folder is.
    assert "ray-worker" in (runs / run_id / jobs.LOG_FILE).read_text()  # The job's log came back too.

    assert cli.main(["runs", "save", run_id, "--name", "ray-digits"]) == 0
    classifier = registry.load("ray-digits")
    probabilities = classifier.predict_inputs(np.zeros((1, *classifier.model.input_shape[1:]), np.float32))
    assert probabilities.shape == (1, 10) and abs(float(probabilities.sum()) - 1.0) < 1e-4


def test_runs_submitted_as_the_app_does_stream_progress_are_limited_per_session_cancel_and_time_out(
        cluster, runs, monkeypatch):
    long_id = jobs.submit(LONG, owner="session-1")
    tiny_id = jobs.submit(TINY, owner="session-1")
    with pytest.raises(jobs.JobError, match="You already have 2 runs queued or training"):
        jobs.submit(TINY, owner="session-1")
    monkeypatch.setenv("IMGREC_RUN_TIME_LIMIT", "1")  # Snapshotted at submit: this run alone.
    limited_id = jobs.submit(TINY, owner="session-2")  # Another session is not held back.
    monkeypatch.delenv("IMGREC_RUN_TIME_LIMIT")
    assert jobs.status(long_id)["owner"] == "session-1"

    view = wait_until(lambda: training(long_id))  # Progress streams back while it trains.
    assert view["phase"] == "training" and view["node_id"] in worker_ids(cluster)
    started = time.monotonic()
    cancelled = jobs.cancel(long_id)
    latency = time.monotonic() - started
    assert cancelled["status"] == "cancelled", cancelled
    assert re.fullmatch(r"Cancelled after \d+ of 500 epochs\.", cancelled["reason"])  # It stopped by itself...
    assert latency < jobs.CANCEL_GRACE, f"cancel took {latency:.1f} s"  # ...within the local runs' bound.
    assert not (runs / long_id / jobs.MODEL_FILE).exists()

    finished = jobs.wait(tiny_id, timeout=RUN_TIMEOUT)
    assert finished["status"] == "done" and finished["node_id"] in worker_ids(cluster)
    assert_delivered(tiny_id, runs)
    card = jobs.save_run_as_model(tiny_id, "app-digits")
    assert card.training.run_id == tiny_id and registry.load("app-digits").class_names

    limited = jobs.wait(limited_id, timeout=RUN_TIMEOUT)  # The time limit holds on the node too.
    assert limited["status"] == "failed" and limited["reason"].startswith("Time limit of 1 s reached"), limited
    assert limited["executor"] == "ray"


def test_a_run_no_node_can_hold_goes_back_to_the_queue_with_a_sentence(cluster, runs, monkeypatch):
    monkeypatch.setenv("IMGREC_RAY_RESOURCES", '{"nowhere": 1}')
    run_id = jobs.submit(TINY)
    view = wait_until(lambda: (lambda view: view if view.get("requeued") else None)(jobs.status(run_id)), timeout=120)
    assert view["reason"] == ("No Ray node had room for it within Ray's start timeout "
                              "(RAY_JOB_START_TIMEOUT_SECONDS); it is back in the queue.")
    assert view["status"] in ("queued", "running")  # Submitted again at once: never lost.
    assert jobs.cancel(run_id, timeout=30)["status"] == "cancelled"


def test_a_worker_node_that_dies_mid_run_fails_its_run_with_a_sentence_naming_it(cluster, runs, monkeypatch):
    doomed = cluster.add_worker("doomed")
    monkeypatch.setenv("IMGREC_RAY_RESOURCES", '{"doomed": 1}')
    run_id = jobs.submit(LONG)
    worker_pid = wait_until(lambda: training(run_id))["node_pid"]
    cluster.remove_worker("doomed")
    try:
        view = jobs.wait(run_id, timeout=60)
        assert view["status"] == "failed"
        assert view["reason"] == (f"Ray node {doomed} died while it trained this run; Ray does not restart it: "
                                  "start the run again.")
        assert jobs.status(run_id)["status"] == "failed"  # Settled for good: no silent restart.
        # On one machine the job's process outlives its node's raylet (it is attached to the head's);
        # once the app has settled the run and removed its mailbox, it stops by itself.
        wait_until(lambda: not pathlib.Path(f"/proc/{worker_pid}").exists(), timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker_pid, signal.SIGKILL)


def test_a_four_trial_search_runs_its_trials_in_parallel_on_both_nodes(cluster, runs):
    space = search.SearchSpace(learning_rate=(1e-3, 1e-2), dropout=None, l2=None, optimizers=("adam",))
    created = search.Search.create("random", space, 4, {**TINY, "max_samples": 150}, seed=0)
    assert created.concurrency == 2  # The cluster's capacity: two worker nodes of one CPU each.
    finished = created.run_until_done(timeout=2 * RUN_TIMEOUT, poll=0.5)
    assert [trial["status"] for trial in finished.trials] == ["done"] * 4, finished.trials
    views = [jobs.status(trial["run_id"]) for trial in finished.trials]
    assert {view["node_id"] for view in views} == worker_ids(cluster, "node-a", "node-b")
    overlapping = [(one, other) for one in views for other in views if one is not other
                   and one["started"] < other["started"] < one["finished"]]
    assert overlapping, "no two trials trained at the same time"


def test_a_node_with_another_imgrec_refuses_the_run_naming_both_versions(cluster, runs, tmp_path, monkeypatch):
    from imgrec.jobs import identity

    other = tmp_path / "other-checkout"
    shutil.copytree(ray_cluster.REPO / "imgrec", other / "imgrec", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "imgrec" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9-'))
    cluster.add_worker("other", cwd=str(other), environment={"PYTHONPATH": str(other)})
    try:
        monkeypatch.setenv("IMGREC_RAY_RESOURCES", '{"other": 1}')
        run_id = jobs.submit(TINY)
        view = jobs.wait(run_id, timeout=RUN_TIMEOUT)
    finally:
        cluster.remove_worker("other")
    app = identity.describe(identity.imgrec_identity())
    assert view["status"] == "failed"
    assert re.fullmatch(rf"This Ray node runs imgrec 9\.9\.9-\S+ \(source [0-9a-f]{{12}}\) but the app runs "
                        rf"{re.escape(app)}; install the same imgrec checkout on every node\.", view["reason"])
    assert not (runs / run_id / jobs.MODEL_FILE).exists()
