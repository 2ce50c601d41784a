"""The runs folder's disk quota: the oldest finished runs are pruned and logged, unfinished ones never; damaged runs.

No worker starts here: the runs are fabricated folders, and a fabricated running run that
names this very process as its worker holds the one slot (IMGREC_MAX_RUNS=1), so a submitted
run stays queued.
"""

import hashlib
import json
import os
import re
import threading
import time

import pytest

from imgrec import architectures, jobs, registry
from imgrec.jobs import folders, processes, quota, results

TINY = {"architecture": "mlp", "dataset": "digits", "max_samples": 200, "epochs": 1}
MB = 10**6


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """An empty runs folder and registry; one run at a time; a 1 MB quota."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IMGREC_MAX_RUNS", "1")
    monkeypatch.setenv("IMGREC_RUNS_MAX_MB", "1")
    return folder


def fabricate(root, run_id, status, *, size=0, finished=None, **extra):
    """Writes a run folder in a given state holding `size` bytes of logs; a running one names this process."""
    folder = root / run_id
    folder.mkdir()
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(TINY))
    (folder / jobs.LOG_FILE).write_bytes(b"x" * size)
    state = {"status": status, "reason": None if status in (jobs.DONE, jobs.RUNNING) else "Cancelled.",
             "pid": None, "created": finished or time.time(), "started": None, "finished": finished,
             "time_limit": 600, **extra}
    if status == jobs.RUNNING:
        state.update(pid=os.getpid(), pid_start=processes.process_identity(os.getpid())[0], finished=None)
    (folder / jobs.STATUS_FILE).write_text(json.dumps(state))
    return folder


def run_ids(root):
    return sorted(run_id for run_id, _, _ in folders.scan(root))


def test_submit_prunes_the_oldest_finished_runs_first_and_logs_each(runs):
    fabricate(runs, "20260101-000000-00000a", jobs.DONE, size=400_000, finished=300.0)
    fabricate(runs, "20260101-000000-00000b", jobs.FAILED, size=400_000, finished=100.0)
    fabricate(runs, "20260101-000000-00000c", jobs.CANCELLED, size=400_000, finished=200.0)
    fabricate(runs, "20260101-000000-00000d", jobs.RUNNING, size=400_000)
    fabricate(runs, "20260101-000000-00000e", jobs.QUEUED, size=100_000)
    new = jobs.submit(TINY)
    # 1.7 MB against a 1 MB limit: the two that finished first go, then it is under.
    assert run_ids(runs) == sorted(["20260101-000000-00000a", "20260101-000000-00000d", "20260101-000000-00000e", new])
    assert jobs.status(new)["status"] == jobs.QUEUED
    log = jobs.pruned_log(runs)
    assert [entry["run"] for entry in log] == ["20260101-000000-00000b", "20260101-000000-00000c"]
    assert [entry["status"] for entry in log] == ["failed", "cancelled"]
    assert all(entry["bytes"] > 400_000 and entry["limit_bytes"] == MB for entry in log)
    assert log[-1]["folder_bytes_after"] < MB <= log[0]["folder_bytes_after"]
    assert not list(runs.glob(".deleting-*"))


def test_a_folder_full_of_unfinished_runs_refuses_a_new_run_in_one_sentence(runs):
    fabricate(runs, "20260101-000000-00000d", jobs.RUNNING, size=700_000)
    fabricate(runs, "20260101-000000-00000e", jobs.QUEUED, size=400_000)
    with pytest.raises(jobs.JobError) as caught:
        jobs.submit(TINY)
    message = str(caught.value)
    assert re.fullmatch(r"The runs folder holds 1\.1 MB, at its limit of 1 MB \(IMGREC_RUNS_MAX_MB\), all in runs not "
                        r"finished yet; wait for one to finish or cancel one, then start this run again\.", message)
    assert run_ids(runs) == ["20260101-000000-00000d", "20260101-000000-00000e"]
    assert jobs.pruned_log(runs) == []


def test_the_quota_setting(runs, monkeypatch):
    monkeypatch.setenv("IMGREC_RUNS_MAX_MB", "0")
    assert quota.max_bytes() is None
    fabricate(runs, "20260101-000000-00000a", jobs.DONE, size=2 * MB, finished=1.0)
    assert quota.make_room(runs) == []  # No limit: nothing is pruned.
    monkeypatch.delenv("IMGREC_RUNS_MAX_MB")
    assert quota.max_bytes() == quota.DEFAULT_MAX_MB * MB
    monkeypatch.setenv("IMGREC_RUNS_MAX_MB", "lots")
    with pytest.raises(jobs.JobError, match=r"IMGREC_RUNS_MAX_MB must be a whole number of at least 0, got 'lots'\."):
        jobs.submit(TINY)


def test_recover_marks_damaged_runs_failed_and_prunes_without_refusing(runs):
    fabricate(runs, "20260101-000000-00000a", jobs.DONE, size=900_000, finished=1.0)
    running = fabricate(runs, "20260101-000000-00000d", jobs.RUNNING, size=300_000)
    garbled = fabricate(runs, "20260101-000000-00000f", jobs.DONE, finished=2.0)
    (garbled / jobs.STATUS_FILE).write_bytes(b'{"status": "do')  # A write cut short by a full disk, say.
    missing = fabricate(runs, "20260101-000000-000010", jobs.DONE, finished=3.0)
    (missing / jobs.STATUS_FILE).unlink()
    outcome = jobs.recover()
    assert sorted(outcome["damaged"]) == ["20260101-000000-00000f", "20260101-000000-000010"]
    for run_id in outcome["damaged"]:
        state = jobs.status(run_id)
        assert state["status"] == jobs.FAILED and state["reason"] == jobs.DAMAGED_REASON
    assert (garbled / "status.json.damaged").read_bytes() == b'{"status": "do'
    assert outcome["pruned"] == ["20260101-000000-00000a"]  # The oldest finished run; then it is under.
    # A running run alone over the limit: recover prunes every finished run and refuses nothing.
    (running / jobs.LOG_FILE).write_bytes(b"x" * 1_200_000)
    assert sorted(jobs.recover()["pruned"]) == ["20260101-000000-00000f", "20260101-000000-000010"]
    assert run_ids(runs) == ["20260101-000000-00000d"]
    assert jobs.status("20260101-000000-00000d")["status"] == jobs.RUNNING


def done_run(root, run_id, finished):
    """A finished run with a real (tiny, untrained) model and the result files saving it needs."""
    folder = fabricate(root, run_id, jobs.DONE, size=0, finished=finished)
    data = registry.model_bytes(architectures.build("mlp", (8, 8, 1), 10, seed=0))
    (folder / jobs.MODEL_FILE).write_bytes(data)
    (folder / jobs.LOG_FILE).write_bytes(b"x" * 1_100_000)  # Over the quota on its own.
    per_class = [{"class": str(digit), "precision": 0.1, "recall": 0.1, "f1": 0.1, "support": 36} for digit in range(10)]
    result = {"split": "test", "dataset": "digits", "n": 360, "accuracy": 0.1, "macro_f1": 0.1, "roc_auc": 0.5,
              "per_class": per_class, "model": {"sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data)},
              "training": {"history": [], "seconds": 1.0, "samples_per_second": 100.0, "train_samples": 160,
                           "validation_samples": 40, "dataset_source": "made up", "class_names": list("0123456789"),
                           "input_shape": [8, 8, 1]}}
    (folder / jobs.RESULT_FILE).write_text(json.dumps(result))
    return folder


def test_a_run_being_saved_as_a_model_is_not_pruned_until_its_files_are_read(runs, monkeypatch):
    done_run(runs, "20260101-000000-00000a", finished=1.0)
    reading, original = threading.Event(), results._checked_model_bytes

    def slow_read(*args):
        reading.set()
        time.sleep(1.0)  # Reading a large model file, while a submit wants to prune.
        return original(*args)

    monkeypatch.setattr(results, "_checked_model_bytes", slow_read)
    saved = []
    saver = threading.Thread(target=lambda: saved.append(jobs.save_run_as_model("20260101-000000-00000a", "kept")))
    saver.start()
    assert reading.wait(60)
    started = time.monotonic()
    new = jobs.submit(TINY)  # Needs the room the saved run takes: it waits for the save's read.
    waited = time.monotonic() - started
    saver.join(60)
    assert saved and saved[0].name == "kept" and registry.load("kept").card.training.run_id == "20260101-000000-00000a"
    assert waited > 0.5, waited
    assert [entry["run"] for entry in jobs.pruned_log(runs)] == ["20260101-000000-00000a"]
    assert run_ids(runs) == [new]
