"""A bounded fault campaign against a real app server: kills, a full runs folder, damaged files; then it must serve again.

One module fixture runs the campaign, in the order a bad day in a classroom might bring it:

1. A real `streamlit run` server starts two long runs (its Train page recovers the queue).
2. A visitor imports a model on /models; the server is killed (SIGKILL) in the middle of
   saving it (both temporary files written, nothing renamed: tests/support/hang_on_save) while
   both runs train in their own worker processes.
3. One worker is killed (SIGKILL). The runs folder, capped at a few MB, is filled with old
   finished runs; a new run prunes the oldest; a runaway run's logs then fill it with
   unfinished runs only, and the next run is refused. A finished run's status file and a
   model's card are damaged.
4. The server is started again, polled on /_stcore/health and driven through the Train page
   (which recovers the runs; the surviving run is cancelled from its page) and /models.

The tests then check what must hold after all of it: every model in the registry loads, every
run is in a terminal state with a reason, nothing half-written is visible, the quota pruned the
oldest finished runs and refused with a sentence, and the app served again.
"""

import json
import os
import shutil
import signal
import time
import urllib.request

import pytest

from imgrec import jobs, registry, training
from imgrec.jobs import folders, processes
from tests.support import hostile, notebook_models, registries, server
from tests.support.browser import wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HANG_HOOK = server.REPO / "tests" / "support" / "hang_on_save"
RUNS_MAX_MB = 3
LONG = training.TrainConfig(architecture="cnn", dataset="digits", epochs=500, batch_size=8).to_dict()
QUICK = {"architecture": "mlp", "dataset": "digits", "max_samples": 200, "epochs": 1}
WAIT = 240  # Seconds a step may take on a busy 2-core machine (every worker and server imports TensorFlow).
HALF_SAVED = "half-saved"


def wait_for(predicate, what, timeout=WAIT, tab=None):
    """Waits for `predicate`; fails naming `what` and, given the `tab`, what its page said (its alerts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    said = tab.locator("[data-testid='stAlert']").all_inner_texts() if tab is not None else []
    pytest.fail(f"{what} did not happen within {timeout} s" + (f"; the page said: {said}" if said else ""))


def state_of(runs, run_id):
    return json.loads((runs / run_id / jobs.STATUS_FILE).read_text())


def queue_by_hand(runs, run_id, config, created):
    """A queued run folder, as submit writes it, for the server to start."""
    folder = runs / run_id
    folder.mkdir(parents=True)
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(config))
    (folder / jobs.STATUS_FILE).write_text(json.dumps({
        "status": jobs.QUEUED, "reason": None, "pid": None, "created": created, "started": None, "finished": None,
        "time_limit": 1800}))


def finished_filler(runs, run_id, finished, size):
    """An old finished run holding `size` bytes of logs."""
    folder = runs / run_id
    folder.mkdir()
    (folder / jobs.CONFIG_FILE).write_text(json.dumps(QUICK))
    (folder / jobs.LOG_FILE).write_bytes(b"x" * size)
    (folder / jobs.STATUS_FILE).write_text(json.dumps({
        "status": jobs.DONE, "reason": None, "pid": None, "created": finished - 60, "started": finished - 50,
        "finished": finished, "time_limit": 1800}))


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def kill_live_workers(runs):
    for _, _, state in folders.scan(runs):
        if state["status"] == jobs.RUNNING and processes.worker_alive(state):
            os.kill(state["pid"], signal.SIGKILL)


@pytest.fixture(scope="module")
def campaign(chromium_browser, trained_registry, tmp_path_factory):
    """Runs the campaign; returns what it saw on the way (the tests check the end state)."""
    root = tmp_path_factory.mktemp("fault-campaign")
    models, runs = shutil.copytree(trained_registry, root / "models"), root / "runs"
    with registries.registry_at(models):  # A second model, whose card will be damaged.
        registry.save(registry.load("tiny-cnn").model, "spare", registry.card("tiny-cnn"))
    upload = root / "strided.keras"
    upload.write_bytes(notebook_models.keras_file_bytes(notebook_models.no_pooling()))
    settings = {"IMGREC_MODELS_DIR": str(models), "IMGREC_RUNS_DIR": str(runs), "IMGREC_CACHE_DIR": str(root / "cache"),
                "IMGREC_RUNS_MAX_MB": str(RUNS_MAX_MB), "IMGREC_MAX_RUNS": "2", "IMGREC_RUN_THREADS": "1"}
    base = {**os.environ, **settings, "TF_CPP_MIN_LOG_LEVEL": "2"}
    hanging = {**base, "PYTHONPATH": os.pathsep.join([str(server.REPO), str(HANG_HOOK)]),
               "IMGREC_HANG_SAVE": HALF_SAVED, "IMGREC_HANG_MARKER": str(root / "hanging")}
    seen = {}
    victim, survivor = "20260101-000000-0000a1", "20260101-000000-0000a2"
    queue_by_hand(runs, victim, LONG, time.time() - 2)
    queue_by_hand(runs, survivor, LONG, time.time() - 1)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(WAIT * 1000)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for variable, value in settings.items():
                patch.setenv(variable, value)
            # 1-2. The server starts both runs, then is killed in the middle of saving an import.
            with server.streamlit_process(hanging, root / "server-1.log") as (url, process):
                tab.goto(url + "/train")
                wait_for_app(tab)
                for run_id in (victim, survivor):
                    wait_for(lambda run_id=run_id: state_of(runs, run_id).get("phase") == "training",
                             f"run {run_id} training")
                tab.goto(url + "/models")
                wait_for_app(tab)
                tab.get_by_text("Import a model").click()
                tab.locator("input[type=file]").set_input_files(str(upload))
                tab.get_by_text("strided.keras").wait_for()
                wait_for_app(tab)  # The file has reached the server before the form is sent (a busy box is slow).
                tab.get_by_role("textbox", name="Model name").fill(HALF_SAVED)
                tab.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
                wait_for(lambda: (root / "hanging").exists(), "the import reaching its save", tab=tab)
                seen["temporary files while hanging"] = sorted(path.name for path in models.glob(f".{HALF_SAVED}.*.tmp"))
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            # 3. A worker killed; a full runs folder; damaged files.
            os.kill(state_of(runs, victim)["pid"], signal.SIGKILL)
            wait_for(lambda: jobs.status(victim)["status"] != jobs.RUNNING, "the killed run settling")
            seen["victim status"] = jobs.status(victim)
            seen["survivor after the server died"] = jobs.status(survivor)
            for index in range(3):
                finished_filler(runs, f"20250101-000000-0000f{index}", finished=1000.0 + index, size=1_100_000)
            quick = jobs.submit(QUICK)
            seen["pruned by the first submit"] = [entry["run"] for entry in jobs.pruned_log(runs)]
            seen["quick status"] = jobs.wait(quick, timeout=WAIT)
            (runs / survivor / "runaway.log").write_bytes(b"x" * (RUNS_MAX_MB + 1) * 10**6)
            with pytest.raises(jobs.JobError) as refused:
                jobs.submit(QUICK)
            seen["refusal"] = str(refused.value)
            seen["runs after the refusal"] = sorted(run_id for run_id, _, _ in folders.scan(runs))
            (runs / survivor / "runaway.log").unlink()
            damaged_run = jobs.submit(QUICK)
            seen["damaged run before"] = jobs.wait(damaged_run, timeout=WAIT)
            (runs / damaged_run / jobs.STATUS_FILE).write_bytes(b'{"status": "do')
            (models / "spare.json").write_bytes(b'{"name": "spare", "architec')
            seen["damaged run"] = damaged_run
            # 4. A restart: healthy, then the Train page (recover, cancel the survivor) and /models.
            with server.streamlit_process(base, root / "server-2.log") as (url, process):
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
                    seen["health after restart"] = response.status
                tab.goto(f"{url}/train?run={survivor}")
                wait_for_app(tab)
                no_exception(tab)
                tab.get_by_role("button", name="Cancel run").click()
                wait_for(lambda: state_of(runs, survivor)["status"] != jobs.RUNNING, "the survivor stopping")
                wait_for_app(tab)
                no_exception(tab)
                tab.goto(url + "/models")
                wait_for_app(tab)
                tab.get_by_text("Every model this server knows").wait_for()
                no_exception(tab)
                seen["server alive at the end"] = process.poll() is None
    finally:
        context.close()
        kill_live_workers(runs)
    seen.update(root=root, models=models, runs=runs, victim=victim, survivor=survivor, quick=quick)
    return seen


def test_the_save_was_killed_between_its_temporary_files_and_their_renames(campaign):
    assert sorted(name.rsplit(".", 2)[-2] for name in campaign["temporary files while hanging"]) == ["json", "keras"]


def test_every_model_in_the_registry_still_loads(campaign, monkeypatch):
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(campaign["models"]))
    monkeypatch.setenv("IMGREC_CACHE_DIR", str(campaign["root"] / "cache"))
    listed = [card for card in registry.list_models() if card.built is not False]
    assert [card.name for card in listed] == ["tiny-cnn"]  # Not the damaged card's model, not the half-saved one.
    for card in listed:
        hostile.assert_registry_healthy(card.name)
    with pytest.raises(registry.UnsafeModelError, match="not valid JSON"):
        registry.load("spare")


def test_every_run_is_in_a_terminal_state_with_a_reason(campaign, monkeypatch):
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(campaign["runs"]))
    victim = campaign["victim status"]
    assert victim["status"] == jobs.FAILED and victim["reason"] == jobs.DIED_REASON
    assert campaign["survivor after the server died"]["status"] == jobs.RUNNING  # Its worker outlived the server.
    assert campaign["quick status"]["status"] == jobs.DONE and campaign["damaged run before"]["status"] == jobs.DONE
    listed = {run["id"]: run for run in jobs.list_runs()}
    assert campaign["survivor"] in listed and campaign["damaged run"] in listed
    for run in listed.values():
        assert run["status"] in jobs.FINISHED_STATES, run
        assert run["status"] == jobs.DONE or run["reason"], run
    assert listed[campaign["survivor"]]["status"] == jobs.CANCELLED
    assert listed[campaign["damaged run"]]["status"] == jobs.FAILED
    assert listed[campaign["damaged run"]]["reason"] == jobs.DAMAGED_REASON


def test_nothing_half_written_is_visible(campaign, monkeypatch):
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(campaign["models"]))
    assert not list(campaign["models"].glob(".*.tmp"))  # /models cleaned what the killed save left.
    assert not (campaign["models"] / f"{HALF_SAVED}.json").exists()
    with pytest.raises(registry.ModelNotFound):
        registry.load(HALF_SAVED)
    assert not [path.name for path in campaign["runs"].iterdir() if path.name.startswith((".tmp-", ".deleting-"))]


def test_the_full_runs_folder_pruned_the_oldest_finished_runs_then_refused_with_a_sentence(campaign):
    pruned = campaign["pruned by the first submit"]
    assert pruned and pruned == sorted(pruned) and all(run_id.startswith("20250101") for run_id in pruned)
    refusal = campaign["refusal"]
    assert "IMGREC_RUNS_MAX_MB" in refusal and "all in runs not finished yet" in refusal
    hostile.assert_one_sentence(refusal)
    # What the refusal left: the unfinished runs only (every finished run was pruned first).
    assert campaign["survivor"] in campaign["runs after the refusal"]
    log = jobs.pruned_log(campaign["runs"])
    assert {entry["run"] for entry in log} >= {campaign["victim"], campaign["quick"], *pruned}


def test_the_app_served_again_after_the_restart(campaign):
    assert campaign["health after restart"] == 200 and campaign["server alive at the end"]
