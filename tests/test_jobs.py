"""Tests for imgrec.jobs: run folders, worker processes, the queue, cancel, time limits, crash recovery, the runs CLI.

Every run trains on a few hundred 8x8 digits: the point is the process plumbing, not the
model. Tests that start workers share them where they can (one TensorFlow import costs
5-15 s on the 2-core CI machine); the rest fabricate run folders and start nothing.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from imgrec import cli, jobs, paths, runtime
from imgrec.jobs import folders, processes, settings

TINY = {"architecture": "cnn", "dataset": "digits", "max_samples": 200, "epochs": 1}
# SGD at the largest rate TrainConfig allows blows an MLP up within two epochs of 200 digits
# (measured: a CNN at rate 10 or 100 stays finite on this data, so it cannot teach NaN here).
DIVERGING = {"architecture": "mlp", "dataset": "digits", "max_samples": 200, "epochs": 2, "batch_size": 16,
             "optimizer": "sgd", "learning_rate": 100.0}
# Long enough to still be training when it is cancelled: 500 epochs of 162 batches.
LONG = {"architecture": "cnn", "dataset": "digits", "epochs": 500, "batch_size": 8}
WORKER_TIMEOUT = 180  # Seconds a worker may take on a busy machine before a test gives up.


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A fresh runs folder and registry; kills any worker a failing test left behind."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")  # The machine is shared; one thread per worker.
    monkeypatch.setenv("IMGREC_MAX_RUNS", "2")
    monkeypatch.delenv("IMGREC_RUN_TIME_LIMIT", raising=False)
    yield folder
    for _ in range(3):  # A dying worker's pump may start a queued run: look again.
        # Fabricated runs may name this very process as their worker: never signal it.
        alive = [state["pid"] for _, _, state in folders.scan(folder)
                 if state["status"] == jobs.RUNNING and state["pid"] != os.getpid() and processes.worker_alive(state)]
        if not alive:
            break
        for pid in alive:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def wait_until(predicate, timeout=WORKER_TIMEOUT, interval=0.1):
    """Polls `predicate` until it returns something truthy; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def write_queued_run(root, run_id, config):
    """Writes a queued run folder by hand, bypassing submit's validation (as a stale or edited folder would)."""
    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(config))
    state = {"status": jobs.QUEUED, "reason": None, "pid": None, "created": time.time(), "started": None,
             "finished": None, "time_limit": 600}
    (folder / jobs.STATUS_FILE).write_text(json.dumps(state))
    return folder


def write_running_run(root, run_id, pid, pid_start, **extra):
    """Writes a run folder that claims to be running under a given process."""
    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(TINY))
    state = {"status": jobs.RUNNING, "reason": None, "pid": pid, "pid_start": pid_start, "created": time.time(),
             "started": time.time(), "finished": None, "time_limit": 600, **extra}
    (folder / jobs.STATUS_FILE).write_text(json.dumps(state))
    return folder


def queue_position(run_id):
    """A queued run's place in line (1 starts next), or None when it is not queued."""
    return jobs.status(run_id).get("queue_position")


def dead_pid():
    """Returns the pid and start time of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = processes.process_identity(process.pid)
    process.wait()
    return process.pid, identity[0] if identity else None


# ---------------------------------------------------------------------------------------
# Pure parts: ids, metrics polling, the stop check, failure reasons. No worker starts.


@pytest.mark.parametrize("bad", ["", "../etc", "20261121-203015-ab12cd/..", "20261121-203015-AB12CD",
                                 "20261121-203015-ab12c", "/tmp/x", "20261121-203015-ab12cd\x00", None, 7])
def test_invalid_run_ids_are_refused_before_any_path_use(runs, bad):
    with pytest.raises(jobs.JobError, match="Invalid run id"):
        jobs.status(bad)


def test_unknown_run_id_is_a_job_error(runs):
    with pytest.raises(jobs.JobError, match="There is no run"):
        jobs.status("20990101-000000-abcdef")
    assert jobs.list_runs() == []


def test_read_metrics_leaves_a_partial_last_line_for_later(runs):
    folder = write_queued_run(runs, "20261121-203015-ab12cd", TINY)
    with open(folder / jobs.METRICS_FILE, "w") as log:
        log.write('{"event": "batch", "step": 1}\n{"event": "batch", "step": 2}\nnot json\n{"event": "ep')
    events, cursor = jobs.read_metrics("20261121-203015-ab12cd")
    assert [event["step"] for event in events] == [1, 2]
    assert cursor == 3  # The damaged line is counted, so the cursor moves past it.
    with open(folder / jobs.METRICS_FILE, "a") as log:
        log.write('och", "epoch": 1}\n')
    events, cursor = jobs.read_metrics("20261121-203015-ab12cd", cursor)
    assert events == [{"event": "epoch", "epoch": 1}] and cursor == 4
    assert jobs.read_metrics("20261121-203015-ab12cd", cursor) == ([], 4)


def test_read_events_reads_from_a_byte_offset_and_leaves_a_partial_line(runs):
    run_id = "20261121-203015-ab12cd"
    folder = write_queued_run(runs, run_id, TINY)
    with open(folder / jobs.METRICS_FILE, "w") as log:
        log.write('{"event": "batch", "step": 1}\nnot json\n{"event": "ep')
    events, offset = jobs.read_events(run_id)
    assert events == [{"event": "batch", "step": 1}]
    assert offset == len('{"event": "batch", "step": 1}\nnot json\n')  # Past the damaged line, before the partial one.
    with open(folder / jobs.METRICS_FILE, "a") as log:
        log.write('och", "epoch": 1}\n')
    assert jobs.read_events(run_id, offset) == ([{"event": "epoch", "epoch": 1}],
                                                (folder / jobs.METRICS_FILE).stat().st_size)
    with pytest.raises(jobs.JobError, match="offset"):
        jobs.read_events(run_id, -1)


def test_progress_reads_each_line_once_and_shares_it_between_callers(runs, monkeypatch):
    from imgrec.jobs import events as events_module

    run_id = "20261121-203015-ab12cd"
    folder = write_queued_run(runs, run_id, TINY)
    assert jobs.progress(run_id) == jobs.Progress()  # No metrics file yet.
    with open(folder / jobs.METRICS_FILE, "w") as log:
        log.write('{"event": "batch", "step": 1, "loss": 2.0}\n{"event": "epoch", "epoch": 1}\n')
    reads = []
    original = events_module._read_from
    monkeypatch.setattr(events_module, "_read_from", lambda path, offset: reads.append(offset) or original(path, offset))
    first = jobs.progress(run_id)
    assert [event["step"] for event in first.batches] == [1] and [event["epoch"] for event in first.epochs] == [1]
    assert jobs.progress(run_id) is first and reads == [0]  # Unchanged file: no read, the same snapshot for all.
    with open(folder / jobs.METRICS_FILE, "a") as log:
        log.write('{"event": "batch", "step": 2, "loss": 1.0}\n{"event": "done", "seconds": 3.0}\n')
    second = jobs.progress(run_id)
    assert reads == [0, first.version[0]]  # Only the new lines were read.
    assert [event["step"] for event in second.batches] == [1, 2] and second.done == {"event": "done", "seconds": 3.0}
    assert second.version != first.version and first.batches == ({"event": "batch", "step": 1, "loss": 2.0},)


def test_stop_check_reads_the_cancel_file_at_most_every_interval(tmp_path):
    cancel_path = tmp_path / "cancel"
    check = jobs.StopCheck(cancel_path, deadline=time.time() + 60, interval=0.2)
    assert check() is False
    cancel_path.touch()
    assert check() is False  # Within the interval: the file is not looked at again.
    time.sleep(0.25)
    assert check() is True and check.why == "cancel"
    assert check() is True  # Once stopped, it stays stopped.
    expired = jobs.StopCheck(tmp_path / "absent", deadline=time.time() - 1)
    assert expired() is True and expired.why == "time"


def test_failure_reasons_are_one_sentence():
    from imgrec import datasets, training

    assert jobs.failure_reason(training.NonFiniteError("x")) == jobs.NAN_REASON
    assert jobs.failure_reason(training.ConfigError("epochs must be between 1 and 500, got 0.")) == (
        "epochs must be between 1 and 500, got 0.")
    assert jobs.failure_reason(MemoryError()) == jobs.MEMORY_REASON
    assert jobs.failure_reason(OSError("boom\nmore")) == "The run crashed: OSError: boom"
    assert jobs.failure_reason(RuntimeError()) == "The run crashed: RuntimeError."
    missing = datasets.DatasetUnavailable("CIFAR-10 is not available on this machine. Tried, in order: a; b. "
                                          "To get it, run `make data`.")
    assert jobs.failure_reason(missing) == "CIFAR-10 is not available on this machine. To get it, run `make data`."


def test_submit_refuses_bad_configs_and_settings(runs, monkeypatch):
    from imgrec import training

    with pytest.raises(training.ConfigError, match="epochs"):
        jobs.submit({**TINY, "epochs": 0})
    with pytest.raises(training.ConfigError, match="Unknown setting"):
        jobs.submit({**TINY, "rm -rf": True})
    monkeypatch.setenv("IMGREC_MAX_RUNS", "zero")
    with pytest.raises(jobs.JobError, match="IMGREC_MAX_RUNS"):
        jobs.submit(TINY)
    assert not any(runs.glob("2*"))  # Nothing was queued.


def test_default_concurrency_and_threads_share_the_cores(monkeypatch):
    monkeypatch.delenv("IMGREC_MAX_RUNS", raising=False)
    monkeypatch.delenv("IMGREC_RUN_THREADS", raising=False)
    monkeypatch.setattr(runtime, "cpu_count", lambda: 2)
    assert (jobs.max_runs(), jobs.threads_per_run()) == (1, 2)
    monkeypatch.setattr(runtime, "cpu_count", lambda: 8)
    assert (jobs.max_runs(), jobs.threads_per_run()) == (4, 2)
    monkeypatch.setenv("IMGREC_MAX_RUNS", "16")
    assert jobs.threads_per_run() == 1  # More runs than cores: one thread each.


# ---------------------------------------------------------------------------------------
# Crash recovery on fabricated folders: no worker starts.


def test_recover_marks_runs_of_dead_workers_and_removes_temporary_files(runs):
    pid, start = dead_pid()
    died = write_running_run(runs, "20261121-100000-000001", pid, start)
    (died / ".status.json.x1y2.tmp").write_text("{half")
    # A live pid that belongs to another process now (this one): pid reuse must not fool it.
    write_running_run(runs, "20261121-100000-000002", os.getpid(), "1")
    cancelling = write_running_run(runs, "20261121-100000-000003", pid, start)
    (cancelling / jobs.CANCEL_FILE).touch()
    (runs / ".tmp-20261121-100000-000004").mkdir()
    alive = write_running_run(runs, "20261121-100000-000005", os.getpid(), processes.process_identity(os.getpid())[0])

    summary = jobs.recover()

    assert sorted(summary["ended"]) == ["20261121-100000-000001", "20261121-100000-000002", "20261121-100000-000003"]
    assert summary["started"] == [] and summary["removed"] == 2
    for run_id in ("20261121-100000-000001", "20261121-100000-000002"):
        state = json.loads((runs / run_id / jobs.STATUS_FILE).read_text())
        assert state["status"] == jobs.FAILED and state["reason"] == jobs.DIED_REASON and state["finished"]
    assert json.loads((cancelling / jobs.STATUS_FILE).read_text())["status"] == jobs.CANCELLED
    assert json.loads((alive / jobs.STATUS_FILE).read_text())["status"] == jobs.RUNNING
    assert not list(died.glob("*.tmp")) and not (runs / ".tmp-20261121-100000-000004").exists()
    with pytest.raises(jobs.JobError, match="running; cancel it first"):
        jobs.delete_run("20261121-100000-000005")
    jobs.delete_run("20261121-100000-000001")
    assert [run["id"] for run in jobs.list_runs()][-1] == "20261121-100000-000002"
    assert "20261121-100000-000001" not in {run["id"] for run in jobs.list_runs()}


def test_cancel_requested_says_whether_a_stop_was_asked_for(runs):
    run_id = "20261121-100000-000001"
    # Claims this very process as its worker, so it stays "running" and nothing is signalled.
    write_running_run(runs, run_id, os.getpid(), processes.process_identity(os.getpid())[0])
    assert jobs.cancel_requested(run_id) is False
    assert jobs.cancel(run_id, wait=False)["status"] == jobs.RUNNING
    assert jobs.cancel_requested(run_id) is True
    with pytest.raises(jobs.JobError, match="There is no run"):
        jobs.cancel_requested("20990101-000000-abcdef")


def test_concurrent_pumps_start_the_oldest_runs_and_never_exceed_the_limit(runs, monkeypatch):
    import threading

    # Each thread opens the lock file itself, so they exclude each other exactly as processes do.
    own_start = processes.process_identity(os.getpid())[0]
    starts = []

    def fake_start(folder, state, threads):
        starts.append(folder.name)
        time.sleep(0.01)  # Widens the window a missing lock would leave open.
        state.update(status=jobs.RUNNING, pid=os.getpid(), pid_start=own_start, started=time.time(), threads=threads)
        (folder / jobs.STATUS_FILE).write_text(json.dumps(state))
        return True

    monkeypatch.setattr(processes, "start_worker", fake_start)
    ids = [f"20261121-10000{index}-00000{index}" for index in range(5)]
    for run_id in ids:
        write_queued_run(runs, run_id, TINY)
        time.sleep(0.01)  # Distinct creation times: oldest first is well defined.
    threads = [threading.Thread(target=jobs.pump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(starts) == ids[:2]
    assert [queue_position(run_id) for run_id in ids[2:]] == [1, 2, 3]
    jobs.cancel(ids[2])
    assert [queue_position(run_id) for run_id in ids[3:]] == [1, 2]


# ---------------------------------------------------------------------------------------
# Real worker processes.


@pytest.mark.slow
def test_a_tiny_run_through_the_cli_trains_evaluates_and_saves(runs, tmp_path, capsys):
    from imgrec import registry

    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps({**TINY, "epochs": 3}))
    assert cli.main(["runs", "submit", str(config_path), "--epochs", "2", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["id"]
    assert jobs.RUN_ID_PATTERN.fullmatch(run_id)
    assert cli.main(["runs", "wait", run_id, "--timeout", str(WORKER_TIMEOUT)]) == 0
    capsys.readouterr()

    assert cli.main(["runs", "show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "done" and shown["reason"] is None
    assert 0.0 <= shown["test_accuracy"] <= 1.0
    assert shown["last_metrics"]["epoch"]["epoch"] == 2 and shown["config"]["epochs"] == 2

    events, _ = jobs.read_metrics(run_id)
    kinds = [event["event"] for event in events]
    assert "batch" in kinds and kinds.count("epoch") == 2 and kinds[-1] == "done"
    outcome = jobs.result(run_id)
    assert outcome["accuracy"] == shown["test_accuracy"] and outcome["split"] == "test"
    assert len(outcome["confusion"]) == 10 and len(outcome["per_class"]) == 10
    assert 0 < len(outcome["misclassified"]) <= 32
    mistake = outcome["misclassified"][0]
    assert mistake["true"] != mistake["predicted"] and 0 <= mistake["index"] < outcome["n"]
    folder = runs / run_id
    model = jobs.load_run_model(run_id)
    assert model.output_shape == (None, 10)
    # The ROC curves travel in the result, small (corners only, 4 decimals) and the model's own.
    from imgrec import datasets, inference, metrics

    test = datasets.load(outcome["dataset"])
    expected = metrics.roc_curves(test.y_test, inference.predict_probabilities(model, test.x_test), test.class_names)
    stored = outcome["roc_curves"]
    assert [curve["class"] for curve in stored] == outcome["class_names"]
    for curve, reference in zip(stored, expected, strict=True):
        assert curve["auc"] == pytest.approx(reference["auc"], abs=1e-6)
        assert curve["fpr"] == pytest.approx(reference["fpr"], abs=6e-5)
        assert curve["tpr"] == pytest.approx(reference["tpr"], abs=6e-5)
        assert all(len(f"{value}") <= 6 for value in curve["fpr"] + curve["tpr"])  # At most 4 decimals: "0.1234".
    assert jobs.model_bytes(run_id) == (folder / jobs.MODEL_FILE).read_bytes()
    # The TensorBoard logs hold the run's epoch scalars, as TensorBoard's own reader reads them.
    epochs = [event for event in events if event["event"] == "epoch"]
    for log, tag, key in (("train", "epoch_loss", "loss"), ("validation", "epoch_accuracy", "val_accuracy")):
        steps, values = zip(*tensorboard_scalars(folder / jobs.TENSORBOARD_DIR / log, tag), strict=True)
        assert list(steps) == [event["epoch"] for event in epochs] == [1, 2]
        assert list(values) == pytest.approx([event[key] for event in epochs], rel=1e-6)  # Stored as float32.
    assert not list(folder.glob(".*.tmp"))

    assert cli.main(["runs", "save", run_id, "--name", "tiny-digits"]) == 0
    assert "saved run" in capsys.readouterr().out
    card = registry.card("tiny-digits")
    assert card.training.run_id == run_id and card.accuracy == shown["test_accuracy"]
    assert registry.load("tiny-digits").class_names == tuple(outcome["class_names"])

    assert cli.main(["runs"]) == 0
    assert run_id in capsys.readouterr().out


def tensorboard_scalars(log_dir, tag):
    """`[(step, value)]` of one scalar in a TensorBoard log folder, read with TensorBoard's own event reader."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    reader = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.TENSORS: 0})
    reader.Reload()
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in reader.Tensors(tag)]


def test_runs_tensorboard_serves_a_runs_logs_on_loopback_until_ctrl_c(runs):
    import urllib.request

    from imgrec.jobs import tensorboard

    run_id = "20261121-203015-ab12cd"
    folder = write_queued_run(runs, run_id, TINY)
    finished = subprocess.run([sys.executable, "-m", "imgrec", "runs", "tensorboard", run_id], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)})
    assert finished.returncode == 2 and "has no TensorBoard logs yet" in finished.stderr
    # The worker's own writer, with the events of a two-epoch run.
    writer = tensorboard.TensorBoardScalars(folder / jobs.TENSORBOARD_DIR)
    for epoch in (1, 2):
        writer.write({"event": "epoch", "epoch": epoch, "loss": 1.0 / epoch, "accuracy": 0.5, "val_loss": 1.5 / epoch,
                      "val_accuracy": 0.25 * epoch})
    writer.close()
    assert tensorboard_scalars(folder / jobs.TENSORBOARD_DIR / "validation", "epoch_loss") == [(1, 1.5), (2, 0.75)]
    server = subprocess.Popen([sys.executable, "-m", "imgrec", "runs", "tensorboard", run_id, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)})
    try:
        line = server.stdout.readline()
        url = re.search(r"http://\S+", line).group(0)
        assert url.startswith("http://127.0.0.1:"), line  # Loopback unless --host says otherwise.
        tags = json.loads(wait_until(lambda: urllib.request.urlopen(f"{url}data/plugin/scalars/tags", timeout=10)
                                     .read(), timeout=60))
        assert set(tags) == {"train", "validation"} and {"epoch_loss", "epoch_accuracy"} <= set(tags["validation"])
        assert urllib.request.urlopen(url, timeout=10).status == 200
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0 and out.strip().endswith("stopped") and "Traceback" not in err, err


def test_cli_user_errors_exit_2_with_one_line():
    environment = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    for argv in (["runs", "show", "../../etc/passwd"], ["runs", "show", "20990101-000000-abcdef"],
                 ["runs", "cancel"]):
        finished = subprocess.run([sys.executable, "-m", "imgrec", *argv], capture_output=True, text=True,
                                  env=environment, timeout=60)
        assert finished.returncode == 2, finished.stderr
        assert finished.stdout == "" and len(finished.stderr.strip().splitlines()) == 1, finished.stderr
        assert finished.stderr.startswith("error: "), finished.stderr
        assert "Traceback" not in finished.stderr


@pytest.mark.slow
def test_two_runs_at_once_a_nan_run_and_a_crashing_config(runs):
    nan_id = jobs.submit(DIVERGING)
    # Past validation (as an edited or stale folder would be): class 99 does not exist.
    crash_id = "20261121-000000-c0ffee"
    write_queued_run(runs, crash_id, {**TINY, "dataset": "digits:0,99"})
    assert crash_id in jobs.pump()

    nan_state = jobs.wait(nan_id, timeout=WORKER_TIMEOUT)
    crash_state = jobs.wait(crash_id, timeout=WORKER_TIMEOUT)
    # With a limit of 2 neither waited for the other.
    assert max(nan_state["started"], crash_state["started"]) < min(nan_state["finished"], crash_state["finished"])

    assert nan_state["status"] == "failed" and nan_state["reason"] == jobs.NAN_REASON
    assert not (runs / nan_id / jobs.MODEL_FILE).exists() and jobs.result(nan_id) is None
    with pytest.raises(jobs.JobError, match="only a finished"):
        jobs.save_run_as_model(nan_id, "diverged")
    with pytest.raises(jobs.JobError, match="only a finished"):
        jobs.load_run_model(nan_id)

    assert crash_state["status"] == "failed" and "99" in crash_state["reason"]
    assert not (runs / crash_id / jobs.MODEL_FILE).exists()


@pytest.mark.slow
def test_limit_one_queues_cancel_stops_a_run_and_the_time_limit_fails_the_next(runs, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_RUNS", "1")
    long_id = jobs.submit(LONG)
    monkeypatch.setenv("IMGREC_RUN_TIME_LIMIT", "1")  # Snapshotted at submit: applies to the next run only.
    limited_id = jobs.submit(TINY)
    extra_id = jobs.submit(TINY)
    assert jobs.status(long_id)["status"] == "running"
    assert queue_position(limited_id) == 1 and queue_position(extra_id) == 2
    assert queue_position(long_id) is None

    started = time.monotonic()
    assert jobs.cancel(extra_id)["status"] == "cancelled"  # Queued: at once, no worker involved.
    assert time.monotonic() - started < 1.0
    assert queue_position(limited_id) == 1

    wait_until(lambda: jobs.read_metrics(long_id)[0])  # Training, not just importing TensorFlow.
    assert jobs.status(long_id)["phase"] == "training"
    started = time.monotonic()
    cancelled = jobs.cancel(long_id)
    latency = time.monotonic() - started
    assert cancelled["status"] == "cancelled"
    assert re.fullmatch(r"Cancelled after \d+ of 500 epochs\.", cancelled["reason"])  # Stopped by itself.
    assert latency < jobs.CANCEL_GRACE, f"cooperative cancel took {latency:.1f} s"
    assert not (runs / long_id / jobs.MODEL_FILE).exists()

    limited = jobs.wait(limited_id, timeout=WORKER_TIMEOUT)  # Started by the cancelled worker's pump.
    assert limited["started"] >= cancelled["finished"]
    assert limited["status"] == "failed" and limited["reason"].startswith("Time limit of 1 s reached")
    assert jobs.status(extra_id)["status"] == "cancelled"


def running_status(run_id):
    view = jobs.status(run_id)
    return view if view["status"] == "running" else None


def test_a_worker_that_ignores_cancel_gets_sigterm_then_sigkill(runs, monkeypatch):
    monkeypatch.setattr(settings, "CANCEL_GRACE", 0.3)
    monkeypatch.setattr(settings, "KILL_GRACE", 0.5)
    run_id = jobs.submit(TINY)
    state = wait_until(lambda: running_status(run_id))
    assert state["phase"] == "starting"
    # Frozen, it can neither see the cancel file nor run a SIGTERM handler: only SIGKILL ends it.
    os.kill(state["pid"], signal.SIGSTOP)
    started = time.monotonic()
    assert jobs.cancel(run_id, wait=False)["status"] == "running"
    # A page only polls status(); that alone must escalate to SIGTERM, then SIGKILL.
    view = wait_until(lambda: (lambda view: view if view["status"] != "running" else None)(jobs.status(run_id)),
                      timeout=10)
    assert view["status"] == "cancelled" and view["reason"] == "Cancelled."
    assert time.monotonic() - started < 5
    wait_until(lambda: not processes.worker_alive(state), timeout=5)


def test_a_killed_worker_is_marked_failed(runs):
    run_id = jobs.submit(TINY)
    state = wait_until(lambda: running_status(run_id))
    os.kill(state["pid"], signal.SIGKILL)
    # Poll the file, not status(), which would settle the run itself: pump must do it here.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs.pump()
        on_disk = json.loads((runs / run_id / jobs.STATUS_FILE).read_text())
        if on_disk["status"] != "running":
            break
        time.sleep(0.1)
    assert on_disk["status"] == "failed" and on_disk["reason"] == jobs.DIED_REASON
    assert jobs.recover()["ended"] == []  # Already settled: nothing left to recover.


def test_a_deeply_nested_status_file_does_not_break_listing(runs):
    write_queued_run(runs, "20261121-100000-000001", TINY)
    bomb = runs / "20261121-100000-000002"
    bomb.mkdir()
    (bomb / jobs.STATUS_FILE).write_text("[" * 100_000 + "]" * 100_000)
    assert [run["id"] for run in jobs.list_runs()] == ["20261121-100000-000001"]
    with pytest.raises(jobs.JobError, match="unreadable"):
        jobs.status("20261121-100000-000002")


def test_an_autoencoder_run_measures_its_reconstruction_error_and_saves_as_an_autoencoder(runs):
    from imgrec import registry

    config = {"architecture": "autoencoder", "dataset": "mnist", "max_samples": 300, "epochs": 1, "latent_dim": 2}
    run_id = jobs.submit(config)
    view = jobs.wait(run_id, timeout=WORKER_TIMEOUT)
    assert view["status"] == jobs.DONE, view.get("reason")
    assert 0 < view["reconstruction_mse"] < 1 and "test_accuracy" not in view
    outcome = jobs.result(run_id)
    assert outcome["task"] == "reconstruction" and outcome["n"] == 10_000
    assert outcome["reconstruction_mse"] == view["reconstruction_mse"] and len(outcome["per_class"]) == 10
    errors = [row["mse"] for row in outcome["worst"]]
    assert len(errors) == 12 and errors == sorted(errors, reverse=True) and errors[0] > outcome["reconstruction_mse"]
    card = jobs.save_run_as_model(run_id, "run-ae")
    assert card.task == "reconstruction" and card.reconstruction_mse == pytest.approx(outcome["reconstruction_mse"])
    assert card.training.run_id == run_id and not registry.load("run-ae").is_classifier


def test_a_large_models_filters_are_pictured_by_a_background_job_and_kept(runs, tmp_path, monkeypatch):
    from imgrec import architectures, registry
    from imgrec.jobs import filters
    from tests.support.registries import tiny_card

    monkeypatch.setenv("IMGREC_CACHE_DIR", str(tmp_path / "cache"))
    # A 72 x 72 convnet is past the inline limit, so the app would picture it in the background.
    model = architectures.build("cnn", (72, 72, 3), 10, seed=0)
    card = registry.save(model, "wide-cnn", dataclasses_replace(tiny_card("wide-cnn", "cnn"), (72, 72, 3)))
    assert filters.needs_background(card) and not filters.needs_background(tiny_card("tiny", "cnn"))
    folder = filters.folder_for(card, "first", 0, 3)
    assert folder.is_relative_to(paths.cache_dir() / "filters" / f"wide-cnn-{card.sha256[:16]}")
    assert filters.status(folder) is None and filters.result(folder) is None
    started = filters.start(card, "first", 0, 3)
    assert started["status"] == filters.RUNNING and filters.start(card, "first", 0, 3)["pid"] == started["pid"]
    state = wait_until(lambda: (filters.status(folder) or {}).get("status") in (filters.DONE, filters.FAILED) and
                       filters.status(folder))
    assert state["status"] == filters.DONE, (state, (folder / filters.LOG_FILE).read_text()[-2000:])
    assert state["done"] == state["total"] == 3 and state["layer"] == "conv1"
    stored = filters.result(folder)
    assert stored["channels"].tolist() == [0, 1, 2] and stored["images"].shape == (3, 72, 72, 3)
    assert stored["strongest"].shape == (3, 4) and stored["strongest"].max() < len(stored["sample_ids"])
    # Asked again, it is served from the folder: no second worker.
    assert filters.start(card, "first", 0, 3)["status"] == filters.DONE


def test_a_filter_job_whose_worker_died_reads_as_failed(runs, tmp_path):
    from imgrec import atomic
    from imgrec.jobs import filters

    folder = tmp_path / "job"
    folder.mkdir()
    atomic.write_json(folder / filters.STATUS_FILE, {"status": filters.RUNNING, "pid": 2**22 + 12345, "done": 1})
    assert filters.status(folder) == {"status": filters.FAILED, "pid": 2**22 + 12345, "done": 1,
                                      "reason": filters.DIED_REASON}


def dataclasses_replace(card, shape):
    import dataclasses

    from imgrec import registry

    return dataclasses.replace(card, input=registry.InputSpec(shape=shape, dtype="float32", range=(0, 255),
                                                              color_mode="rgb"))
