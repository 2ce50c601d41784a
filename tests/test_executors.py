"""The executor interface without a cluster: the folder mirror, the version check, settings, the per-session limit.

The Ray executor itself is tested on a real cluster in tests/test_ray.py; what is here needs
no Ray at all, and one test proves the local executor never imports it.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from imgrec import cli, jobs, paths
from imgrec.jobs import executors, folders, identity, mailbox, mirror, processes

TINY = {"architecture": "cnn", "dataset": "digits", "max_samples": 200, "epochs": 1}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")
    for name in ("IMGREC_RAY_ADDRESS", "IMGREC_MAX_RUNS_PER_SESSION", "IMGREC_RAY_RESOURCES"):
        monkeypatch.delenv(name, raising=False)
    return folder


def scratch_run(folder):
    """A run folder as a worker node's scratch copy looks mid-run: metrics, a TensorBoard file, a phase."""
    (folder / "tb" / "train").mkdir(parents=True)
    (folder / folders.METRICS_FILE).write_bytes(b'{"event": "batch", "step": 1}\n')
    (folder / "tb" / "train" / "events.out.tfevents.1.node.2.v2").write_bytes(b"\x00first")
    folders.write_json(folder / folders.STATUS_FILE, {"status": "running", "phase": "training", "pid": 7})


def test_a_mirrored_run_folder_arrives_whole_and_a_repeated_drain_writes_nothing_twice(tmp_path):
    node, app = tmp_path / "node", tmp_path / "app"
    node.mkdir()
    app.mkdir()
    scratch_run(node)
    box = mailbox.Mailbox({"run_id": "x"})
    sender = mirror.FolderMirror(node)
    box.post(sender.collect())
    assert sender.collect() == []  # Nothing new: nothing sent.
    with open(node / folders.METRICS_FILE, "ab") as log:
        log.write(b'{"event": "epoch", "epoch": 1}\n')
    (node / folders.RESULT_FILE).write_text('{"accuracy": 0.5}')
    (node / folders.MODEL_FILE).write_bytes(b"model bytes")
    folders.write_json(node / folders.STATUS_FILE, {"status": "done", "reason": None, "test_accuracy": 0.5, "pid": 7})
    box.post(sender.collect())

    state = {"status": "running"}
    reply = box.read(0)
    final = mirror.apply(app, state, reply["messages"])
    # A drainer that crashed before saving its cursor reads and applies the same messages again.
    again = mirror.apply(app, state, box.read(0)["messages"])
    assert final == again == ("done", None, {"test_accuracy": 0.5})
    assert (app / folders.METRICS_FILE).read_bytes() == (node / folders.METRICS_FILE).read_bytes()
    assert (app / "tb/train/events.out.tfevents.1.node.2.v2").read_bytes() == b"\x00first"
    assert (app / folders.MODEL_FILE).read_bytes() == b"model bytes"
    assert state["phase"] == "training" and "pid" not in state  # The node's pid means nothing here.
    cursor = reply["first"] + len(reply["messages"])
    assert box.read(cursor)["messages"] == [] and box.read(cursor)["first"] == cursor  # Acknowledged: forgotten.


def test_messages_cannot_write_outside_the_run_files(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    hostile = [{"kind": "append", "path": "../escape", "offset": 0, "data": b"x"},
               {"kind": "append", "path": "tb/../../escape", "offset": 0, "data": b"x"},
               {"kind": "append", "path": "metrics.jsonl", "offset": -5, "data": b"x"},
               {"kind": "put", "path": "status.json", "data": b"{}"},
               {"kind": "put", "path": "/tmp/escape", "data": b"x"},
               {"kind": "status", "status": {"status": "nonsense"}}]
    assert mirror.apply(app, {"status": "running"}, hostile) is None
    assert list(app.iterdir()) == [] and not (tmp_path / "escape").exists()


def test_a_read_holds_back_big_files_for_the_next_read():
    box = mailbox.Mailbox({})
    box.post([{"kind": "put", "path": "model.keras", "data": b"a" * 10}, {"kind": "put", "path": "x", "data": b"b" * 10}])
    first = box.read(0, max_bytes=15)
    assert len(first["messages"]) == 1 and first["more"]
    second = box.read(1, max_bytes=15)
    assert second["first"] == 1 and len(second["messages"]) == 1 and not second["more"]


def test_the_version_check_names_both_versions():
    mine = identity.imgrec_identity()
    assert mine["version"] and len(mine["source"]) == 12 and identity.imgrec_identity() is mine
    assert identity.mismatch_reason(mine, dict(mine)) is None
    other = {"version": "0.0.9", "source": "0123456789ab"}
    assert identity.mismatch_reason(other, mine) == (
        f"This Ray node runs imgrec 0.0.9 (source 0123456789ab) but the app runs imgrec {mine['version']} "
        f"(source {mine['source']}); install the same imgrec checkout on every node.")


def test_ray_settings_are_read_and_checked(monkeypatch):
    from imgrec.jobs import settings

    monkeypatch.setenv("IMGREC_RAY_ADDRESS", "http://head.example:8265/")
    assert settings.ray_address() == "http://head.example:8265"
    assert settings.ray_client_address(settings.ray_address()) == "ray://head.example:10001"
    monkeypatch.setenv("IMGREC_RAY_CLIENT_ADDRESS", "10.0.0.1:9999")
    assert settings.ray_client_address("http://head:8265") == "ray://10.0.0.1:9999"
    monkeypatch.setenv("IMGREC_RAY_RESOURCES", '{"imgrec": 1}')
    assert settings.ray_resources() == {"imgrec": 1.0}
    for bad in ('["imgrec"]', '{"imgrec": -1}', "not json", '{"imgrec": true}'):
        monkeypatch.setenv("IMGREC_RAY_RESOURCES", bad)
        with pytest.raises(jobs.JobError, match="IMGREC_RAY_RESOURCES must be a JSON object"):
            settings.ray_resources()
    monkeypatch.setenv("IMGREC_MAX_RUNS_PER_SESSION", "0")
    with pytest.raises(jobs.JobError, match="IMGREC_MAX_RUNS_PER_SESSION"):
        settings.max_runs_per_session()


def test_the_per_session_limit_refuses_with_a_sentence_and_the_command_line_is_not_limited(runs, monkeypatch):
    started = []

    def fake_start(folder, state, threads):
        started.append(folder.name)  # Claims this process as the worker: it stays running, nothing trains.
        state.update(status=jobs.RUNNING, pid=os.getpid(), pid_start=processes.process_identity(os.getpid())[0],
                     started=time.time(), executor="local", node_id=socket.gethostname())
        folders.write_json(folder / folders.STATUS_FILE, state)
        return True

    monkeypatch.setattr(processes, "start_worker", fake_start)
    monkeypatch.setenv("IMGREC_MAX_RUNS", "1")
    first = jobs.submit(TINY, owner="student-a")
    second = jobs.submit(TINY, owner="student-a")  # Queued behind the first: still counts.
    with pytest.raises(jobs.JobError) as refused:
        jobs.submit(TINY, owner="student-a")
    assert str(refused.value) == ("You already have 2 runs queued or training, the most one session may have; "
                                  "wait for one to finish or cancel one.")
    jobs.submit(TINY, owner="student-b")
    for _ in range(3):
        jobs.submit(TINY)  # The command line and scripts have no owner and no limit.
    jobs.cancel(second)
    jobs.submit(TINY, owner="student-a")  # A cancelled run frees its place.
    assert started == [first] and jobs.status(first)["owner"] == "student-a"
    monkeypatch.setenv("IMGREC_MAX_RUNS_PER_SESSION", "1")
    with pytest.raises(jobs.JobError, match="You already have 2 runs"):
        jobs.submit(TINY, owner="student-a")


def test_a_local_run_says_where_it_runs_and_nothing_of_ray_is_imported(runs, capsys):
    assert executors.current() is executors.LOCAL
    run_id = jobs.submit(TINY)
    assert cli.main(["runs", "show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["executor"] == "local" and shown["node_id"] == socket.gethostname() and "ray_job_id" not in shown
    jobs.cancel(run_id)
    # A fresh process that submits, lists and polls runs never imports Ray.
    script = ("import sys; from imgrec import jobs; jobs.list_runs(); jobs.max_runs(); jobs.pump(); "
              "print('ray' in sys.modules)")
    environment = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                              timeout=60)
    assert finished.stdout.strip() == "False", finished.stderr


def test_runs_this_process_cannot_reach_are_left_alone(runs):
    from tests.test_jobs import dead_pid, write_running_run

    pid, start = dead_pid()
    # A worker on another machine that shares the runs folder: its pid means nothing here.
    elsewhere = write_running_run(runs, "20261121-100000-000001", pid, start, executor="local", node_id="another-host")
    # A run on a Ray cluster, seen by a process with no IMGREC_RAY_ADDRESS.
    on_ray = write_running_run(runs, "20261121-100000-000002", None, None, executor="ray", ray_job_id="imgrec-x")
    here = write_running_run(runs, "20261121-100000-000003", pid, start, executor="local",
                             node_id=socket.gethostname())
    assert jobs.recover()["ended"] == ["20261121-100000-000003"]  # Only the one whose worker it can check.
    for folder in (elsewhere, on_ray):
        assert json.loads((folder / jobs.STATUS_FILE).read_text())["status"] == jobs.RUNNING
        assert jobs.status(folder.name)["status"] == jobs.RUNNING
    assert jobs.status(here.name)["reason"] == jobs.DIED_REASON
