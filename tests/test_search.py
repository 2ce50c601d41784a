"""Hyperparameter search: plans, the ask-and-tell loop over runs (faked and real), persistence and errors."""

import json
import math

import pytest

from imgrec import jobs, search


def in_range(value, bounds):
    return bounds[0] - 1e-12 <= value <= bounds[1] + 1e-12


def test_grid_plan_visits_distinct_grid_points_in_a_seeded_order():
    space = search.SearchSpace(optimizers=("adam", "sgd"), grid_points=2)
    grid = space.grid()
    assert grid["learning_rate"] == [1e-4, 0.03] and grid["dropout"] == [0.0, 0.6]
    assert space.grid_size() == 16
    planned = search.plan("grid", space, budget=16, seed=3)
    assert len({json.dumps(point, sort_keys=True) for point in planned}) == 16  # the whole grid, once each
    assert all(point[name] in grid[name] for point in planned for name in grid)
    assert search.plan("grid", space, budget=5, seed=3) == planned[:5]
    assert search.plan("grid", space, budget=5, seed=4) != planned[:5]
    assert len(search.plan("grid", space, budget=50)) == 16  # a budget beyond the grid tries the grid once


def test_random_plan_draws_within_the_ranges_on_a_log_scale():
    space = search.SearchSpace()
    planned = search.plan("random", space, budget=40, seed=0)
    assert planned == search.plan("random", space, budget=40, seed=0)
    assert planned != search.plan("random", space, budget=40, seed=1)
    for point in planned:
        assert in_range(point["learning_rate"], space.learning_rate)
        assert in_range(point["dropout"], space.dropout)
        assert in_range(point["l2"], space.l2)
        assert point["optimizer"] in space.optimizers
    # Log-uniform: about a third of 1e-4..3e-2 (2.5 decades) lies below 1e-3; uniform would put 3% there.
    below = sum(point["learning_rate"] < 1e-3 for point in planned)
    assert below >= 6


def test_a_space_can_leave_settings_alone():
    space = search.SearchSpace(dropout=None, l2=None, optimizers=None)
    assert space.searched() == ["learning_rate"]
    assert all(set(point) == {"learning_rate"} for point in search.plan("random", space, budget=3))


@pytest.mark.parametrize(("changes", "message"), [
    ({"learning_rate": (0.01, 0.001)}, "low end below its high end"),
    ({"l2": (0.0, 0.01)}, "must start above 0"),
    ({"dropout": (0.0, 0.99)}, "within 0 to 0.95"),
    ({"optimizers": ("adam", "lion")}, "Unknown optimizer 'lion'"),
    ({"optimizers": ()}, "at least one optimizer"),
    ({"grid_points": 1}, "grid_points"),
    ({"learning_rate": None, "dropout": None, "l2": None, "optimizers": None}, "search space is empty"),
])
def test_bad_spaces_are_refused_with_a_sentence(changes, message):
    with pytest.raises(search.SearchError, match=message):
        search.SearchSpace(**changes).validate()


def test_bad_kinds_and_budgets_are_refused():
    space = search.SearchSpace()
    with pytest.raises(search.SearchError, match="Unknown search kind"):
        search.plan("hyperband", space, 4)
    with pytest.raises(search.SearchError, match="budget"):
        search.plan("random", space, 0)
    with pytest.raises(search.SearchError, match="cannot be planned"):
        search.plan("bayesian", space, 4)
    with pytest.raises(search.SearchError, match="Invalid search id"):
        search.Search.load("../../etc/passwd")


class FakeJobs:
    """Stands in for imgrec.jobs: runs finish when told to, scoring a known function of their settings."""

    def __init__(self, monkeypatch):
        self.runs = {}
        for name in ("submit", "status", "result", "cancel"):
            monkeypatch.setattr(jobs, name, getattr(self, name))

    @staticmethod
    def score(config):
        # Best at learning rate 1e-3, whatever the rest.
        return max(0.0, 1.0 - abs(math.log10(config["learning_rate"]) + 3.0) / 4.0)

    def submit(self, config, runs_dir=None):
        run_id = f"20260101-000000-{len(self.runs):06x}"
        self.runs[run_id] = {"status": jobs.QUEUED, "config": dict(config), "reason": None}
        return run_id

    def status(self, run_id, runs_dir=None):
        return {"id": run_id, **self.runs[run_id]}

    def result(self, run_id, runs_dir=None):
        score = self.score(self.runs[run_id]["config"])
        return {"accuracy": score - 0.01, "training": {"history": [{"epoch": 1, "val_accuracy": score}]}}

    def cancel(self, run_id, wait=True, runs_dir=None):
        self.runs[run_id]["status"] = jobs.CANCELLED
        return {"id": run_id, "status": jobs.CANCELLED}

    def in_flight(self):
        return [run_id for run_id, run in self.runs.items() if run["status"] in search.IN_FLIGHT]

    def finish_all(self, fail_first=False):
        for index, run_id in enumerate(self.in_flight()):
            failed = fail_first and index == 0
            self.runs[run_id].update(status=jobs.FAILED if failed else jobs.DONE,
                                     reason="The loss became NaN." if failed else None)


BASE = {"dataset": "digits", "architecture": "cnn", "max_samples": 150, "epochs": 1}


def test_a_bayesian_search_asks_only_within_its_concurrency_and_budget_and_keeps_its_state(monkeypatch, tmp_path):
    fake = FakeJobs(monkeypatch)
    space = search.SearchSpace(dropout=None, l2=None, optimizers=("adam",))
    created = search.Search.create("bayesian", space, 5, BASE, seed=0, concurrency=2, runs_dir=tmp_path)
    assert created.trials == []  # nothing is asked before the first advance
    current = created.advance()
    assert len(fake.in_flight()) == 2 and len(current.trials) == 2
    assert current.advance().trials == current.trials  # nothing finished: nothing new is asked
    for round_number in range(3):
        fake.finish_all(fail_first=round_number == 0)
        current = search.Search.load(created.id, runs_dir=tmp_path).advance()
        assert len(fake.in_flight()) <= 2
    fake.finish_all()
    current = current.advance()
    assert current.finished and current.state == "done"
    assert len(current.trials) == 5 and len(fake.runs) == 5
    statuses = [trial["status"] for trial in current.trials]
    assert statuses.count(jobs.FAILED) == 1 and statuses.count(jobs.DONE) == 4
    assert current.trials[0]["reason"] == "The loss became NaN."
    # Every run trained the base settings with the trial's values.
    for trial in current.trials:
        config = fake.runs[trial["run_id"]]["config"]
        assert config["dataset"] == "digits" and config["max_samples"] == 150
        assert config["learning_rate"] == trial["params"]["learning_rate"] and config["optimizer"] == "adam"
    best = current.best()
    assert best["value"] == max(trial["value"] for trial in current.trials if trial["value"] is not None)
    assert best["test_accuracy"] == pytest.approx(best["value"] - 0.01)
    # The file is the state: a fresh load (another session) sees the same search.
    again = search.Search.load(created.id, runs_dir=tmp_path)
    assert again.to_dict() == current.to_dict()
    assert [values["id"] for values in search.list_searches(tmp_path)] == [created.id]


def test_a_grid_search_submits_its_plan_and_can_be_cancelled(monkeypatch, tmp_path):
    fake = FakeJobs(monkeypatch)
    space = search.SearchSpace(dropout=None, l2=None, optimizers=("adam", "sgd"), grid_points=2)
    created = search.Search.create("grid", space, 10, BASE, seed=1, concurrency=1, runs_dir=tmp_path)
    assert created.budget == 4  # the grid has 2 x 2 points, fewer than the budget
    assert [trial["params"] for trial in created.trials] == search.plan("grid", space, 4, seed=1)
    created.advance()
    fake.finish_all()
    current = created.advance()
    assert [trial["status"] for trial in current.trials] == ["done", "queued", "planned", "planned"]
    current = current.cancel()
    assert current.state == "cancelled" and current.finished
    assert [trial["status"] for trial in current.trials] == ["done", "cancelled", "cancelled", "cancelled"]
    assert current.advance().trials == current.trials  # a cancelled search submits nothing more
    assert len(fake.runs) == 2


def test_a_search_needs_validation_data_and_settings_that_can_train(tmp_path):
    with pytest.raises(search.SearchError, match="validation fraction above 0"):
        search.Search.create("random", search.SearchSpace(), 2, {**BASE, "validation_fraction": 0.0},
                             runs_dir=tmp_path)
    from imgrec import training

    with pytest.raises(training.ConfigError, match="vit_dim"):
        search.Search.create("random", search.SearchSpace(), 2, {**BASE, "architecture": "vit", "vit_dim": 10,
                                                                 "vit_heads": 4}, runs_dir=tmp_path)
    assert search.list_searches(tmp_path) == []


@pytest.mark.slow
def test_a_real_random_search_trains_each_trial_as_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_RUNS", "2")
    space = search.SearchSpace(learning_rate=(1e-3, 1e-2), dropout=None, l2=None, optimizers=("adam", "rmsprop"))
    created = search.Search.create("random", space, 2, {**BASE, "max_samples": 120}, seed=0, runs_dir=tmp_path)
    assert created.concurrency == 2
    finished = created.run_until_done(timeout=240, poll=0.5)
    assert [trial["status"] for trial in finished.trials] == ["done", "done"], finished.trials
    for trial in finished.trials:
        assert 0.0 <= trial["value"] <= 1.0 and 0.0 <= trial["test_accuracy"] <= 1.0
        config = jobs.read_config(trial["run_id"], runs_dir=tmp_path)
        assert config["learning_rate"] == trial["params"]["learning_rate"]
        assert config["optimizer"] == trial["params"]["optimizer"]
        history = jobs.result(trial["run_id"], runs_dir=tmp_path)["training"]["history"]
        assert trial["value"] == pytest.approx(history[-1]["val_accuracy"])
    assert finished.best() in finished.trials


def test_a_cancelled_search_records_how_its_running_trials_end(monkeypatch, tmp_path):
    fake = FakeJobs(monkeypatch)
    # A running run takes a moment to stop: cancel() answers "running" until it has.
    monkeypatch.setattr(jobs, "cancel", lambda run_id, wait=True, runs_dir=None: {"id": run_id, "status": jobs.RUNNING})
    space = search.SearchSpace(dropout=None, l2=None, optimizers=("adam", "sgd"), grid_points=2)
    created = search.Search.create("grid", space, 4, BASE, concurrency=2, runs_dir=tmp_path)
    created.advance()
    for run_id in fake.in_flight():
        fake.runs[run_id]["status"] = jobs.RUNNING
    current = created.cancel()
    assert current.state == "cancelled" and not current.settled
    assert [trial["status"] for trial in current.trials] == ["running", "running", "cancelled", "cancelled"]
    for run_id in fake.in_flight():
        fake.runs[run_id].update(status=jobs.CANCELLED, reason="Cancelled.")
    current = current.advance()
    assert current.settled and [trial["status"] for trial in current.trials] == ["cancelled"] * 4
    assert len(fake.runs) == 2  # Nothing new was submitted after the cancel.


def test_a_reader_restarts_a_dead_driver_but_not_one_that_just_died(monkeypatch, tmp_path):
    import os
    import subprocess
    import sys
    import time
    import types

    from imgrec.jobs import processes
    from imgrec.search import driver

    FakeJobs(monkeypatch)
    started = []

    def fake_start(command, cwd, log_path):
        started.append(command)
        return types.SimpleNamespace(pid=os.getpid())  # This process stands in for the driver.

    monkeypatch.setattr(processes, "start_detached", fake_start)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    created = search.Search.create("random", search.SearchSpace(), 2, BASE, runs_dir=tmp_path)
    with created.editing():
        created.driver = {"pid": dead.pid, "pid_start": None, "started": time.time()}
    assert search.ensure_driver(created.id, runs_dir=tmp_path) is False and started == []  # It only just died.
    with created.editing():
        created.driver["started"] = time.time() - driver.RESTART_AFTER_SECONDS - 1
    assert search.ensure_driver(created.id, runs_dir=tmp_path) is True
    assert started == [driver.driver_command(created.id, tmp_path)]
    assert search.Search.load(created.id, runs_dir=tmp_path).driver["pid"] == os.getpid()
    assert search.ensure_driver(created.id, runs_dir=tmp_path) is False  # Its driver is alive: no second one.
    assert search.recover(runs_dir=tmp_path) == []


# Real driver processes, each trial a real run on the 8x8 digits.

TINY_TRIALS = {"dataset": "digits", "architecture": "cnn", "max_samples": 120, "epochs": 1}
LONG_TRIALS = {"dataset": "digits", "architecture": "cnn", "epochs": 500, "batch_size": 8}
DRIVER_TIMEOUT = 400  # Seconds for a search of two tiny trials on a busy 2-core machine.


@pytest.fixture
def runs_folder(tmp_path, monkeypatch):
    """A fresh runs folder; ends any driver or worker a failing test left behind."""
    import os
    import signal

    from imgrec.jobs import folders, processes

    folder = tmp_path / "runs"
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")
    monkeypatch.setenv("IMGREC_MAX_RUNS", "2")
    yield folder
    for values in search.list_searches(folder):
        if processes.worker_alive(values.get("driver") or {}):
            os.kill(values["driver"]["pid"], signal.SIGKILL)
    for _, _, state in folders.scan(folder):
        if state["status"] == jobs.RUNNING and processes.worker_alive(state):
            os.kill(state["pid"], signal.SIGKILL)


def run_status_on_disk(folder, run_id):
    return json.loads((folder / run_id / jobs.STATUS_FILE).read_text())["status"]


def wait_for_exit(driver, timeout=10.0):
    """Says whether a search's driver process has exited, waiting up to `timeout` seconds."""
    import time

    from imgrec.jobs import processes

    deadline = time.monotonic() + timeout
    while processes.worker_alive(driver) and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(driver.get("pid")) and not processes.worker_alive(driver)


def watch_file_until_settled(folder, search_id, timeout=DRIVER_TIMEOUT):
    """Reads the search's file (never advancing it) until it has ended; fails if a trial lags its run.

    A trial may show "queued" or "running" for at most a few driver polls after its run ended.
    """
    import time

    ended_at = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = search.Search.load(search_id, runs_dir=folder)
        if current.settled:
            return current
        for trial in current.in_flight():
            if trial["run_id"] and run_status_on_disk(folder, trial["run_id"]) in jobs.FINISHED_STATES:
                first_seen = ended_at.setdefault(trial["run_id"], time.monotonic())
                assert time.monotonic() - first_seen < 10 * search.driver.POLL_SECONDS, (
                    f"trial {trial['number']} still {trial['status']} after its run ended")
        time.sleep(0.2)
    pytest.fail(f"search {search_id} did not end within {timeout} s")


@pytest.mark.slow
def test_a_search_submitted_on_the_command_line_finishes_with_no_page_open(runs_folder, tmp_path, capsys):
    from imgrec import cli

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY_TRIALS))
    assert cli.main(["search", "submit", str(config), "--kind", "random", "--trials", "2", "--json"]) == 0
    search_id = json.loads(capsys.readouterr().out)["id"]
    # Nobody advances it here: only its driver process can.
    finished = watch_file_until_settled(runs_folder, search_id)
    assert finished.state == "done" and [trial["status"] for trial in finished.trials] == ["done", "done"]
    assert all(run_status_on_disk(runs_folder, trial["run_id"]) == jobs.DONE for trial in finished.trials)
    assert wait_for_exit(finished.driver)  # It exits once the search has ended.

    assert cli.main(["search", "show", search_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == search_id and shown["status"] == "done" and len(shown["trials"]) == 2
    for trial, run in zip(shown["trials"], finished.trials, strict=True):
        assert trial["status"] == "done" and trial["run_id"] == run["run_id"]
        assert set(trial["params"]) == set(search.PARAMETERS)
        assert 0.0 <= trial["validation_accuracy"] <= 1.0
        history = jobs.result(trial["run_id"], runs_dir=runs_folder)["training"]["history"]
        assert trial["validation_accuracy"] == pytest.approx(history[-1]["val_accuracy"])
        assert jobs.read_config(trial["run_id"], runs_dir=runs_folder)["learning_rate"] == trial["params"]["learning_rate"]
    assert cli.main(["search", "wait", search_id, "--timeout", "5"]) == 0
    assert capsys.readouterr().out.startswith(f"{search_id}  done")
    assert cli.main(["search", "list", "--json"]) == 0
    assert [row["id"] for row in json.loads(capsys.readouterr().out)] == [search_id]
    assert cli.main(["search"]) == 0 and search_id in capsys.readouterr().out


@pytest.mark.slow
def test_a_dead_driver_is_restarted_at_start_and_cancel_stops_every_trial(runs_folder):
    import os
    import signal
    import time

    from imgrec.jobs import processes

    space = search.SearchSpace(dropout=None, l2=None, optimizers=("adam",))
    search_id = search.submit("random", space, 4, LONG_TRIALS, runs_dir=runs_folder)

    def running_trials():
        current = search.Search.load(search_id, runs_dir=runs_folder)
        return [trial for trial in current.trials
                if trial["run_id"] and run_status_on_disk(runs_folder, trial["run_id"]) == jobs.RUNNING]

    deadline = time.monotonic() + DRIVER_TIMEOUT
    while len(running_trials()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(running_trials()) == 2  # Two training slots: two trials at once.
    # The server's machine restarts: the driver is gone, the app's start recovers it.
    first = search.Search.load(search_id, runs_dir=runs_folder).driver
    # A restart comes only once the dead driver is older than RESTART_AFTER_SECONDS.
    time.sleep(max(0.0, first["started"] + search.driver.RESTART_AFTER_SECONDS - time.time()))
    os.kill(first["pid"], signal.SIGKILL)
    while processes.worker_alive(first):
        time.sleep(0.05)
    assert search.recover(runs_dir=runs_folder) == [search_id]
    second = search.Search.load(search_id, runs_dir=runs_folder).driver
    assert second["pid"] != first["pid"] and processes.worker_alive(second)
    assert search.recover(runs_dir=runs_folder) == []  # One driver at a time.

    cancelled = search.cancel(search_id, runs_dir=runs_folder)
    assert cancelled.state == "cancelled" and cancelled.settled
    assert [trial["status"] for trial in cancelled.trials] == ["cancelled"] * 4
    runs = [trial["run_id"] for trial in cancelled.trials if trial["run_id"]]
    assert len(runs) == 2 and all(run_status_on_disk(runs_folder, run_id) == jobs.CANCELLED for run_id in runs)
    assert wait_for_exit(second)  # The driver ended with its search.


@pytest.mark.parametrize(("argv", "message"), [
    (["search", "submit", "--kind", "magic", "--trials", "2"], "invalid choice: 'magic'"),
    (["search", "submit", "--kind", "grid"], "the following arguments are required: --trials"),
    (["search", "submit", "--trials", "0"], "The trial budget must be a whole number from 1 to 100"),
    (["search", "submit", "--trials", "2", "--epochs", "0"], "epochs must be between 1 and 500"),
    (["search", "show", "../../etc/passwd"], "Invalid search id"),
    (["search", "show", "search-20990101-000000-abcdef"], "There is no search"),
    (["search", "cancel", "search-20990101-000000-abcdef"], "There is no search"),
    (["search", "wait", "search-20990101-000000-abcdef", "--timeout", "-1"], "--timeout must be"),
])
def test_search_cli_user_errors_exit_2_with_one_line(runs_folder, capsys, argv, message):
    from imgrec import cli

    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith("error: ") and message in captured.err
    assert search.list_searches(runs_folder) == []
