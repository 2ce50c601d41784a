"""Faults: a save killed midway, two writers and a reader at once, a run that diverges, predicting while a run trains.

Every fault happens in a real second process, because that is where a classroom server
meets it: a killed worker, two students saving the same name, the page reading while a run
saves. TensorFlow takes 5-20 s to import on the shared 2-core machine, so the processes are
started once per module and all at once: two registry clients (driven by JSON lines on their
stdin) and two training runs.
"""

import hashlib
import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from imgrec import architectures, datasets, jobs, registry

# Every test here needs the module's processes, which take 20 s or more to start.
pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 240  # Seconds a child may take to import TensorFlow on a busy machine.
WRITE_SECONDS = 3.0  # How long two writers keep saving the same name while this process reads it.
# SGD at the largest rate TrainConfig allows blows an MLP up within two epochs (see tests/test_jobs.py).
DIVERGING = {"architecture": "mlp", "dataset": "digits", "max_samples": 200, "epochs": 2, "batch_size": 16,
             "optimizer": "sgd", "learning_rate": 100.0}
# The same architecture as the saved model below, long enough to be training while we predict.
LONG = {"architecture": "cnn", "dataset": "digits", "epochs": 500, "batch_size": 8}

# A registry client: one TensorFlow import, then one JSON request per stdin line.
CLIENT = r'''
import dataclasses, hashlib, json, os, pathlib, sys, time
from imgrec import architectures, registry

def say(**fields):
    print(json.dumps(fields), flush=True)

def fingerprint(model):
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()

say(ready=True)
for line in sys.stdin:
    request = json.loads(line)
    os.environ["IMGREC_MODELS_DIR"] = request["models"]
    model = architectures.build("mlp", (8, 8, 1), 10, seed=request["seed"])
    card = dataclasses.replace(registry.ModelCard.from_json(request["card"]), summary="writer " + request["writer"])
    name = request["name"]
    if request["do"] == "save-and-hang":
        # Hangs where a kill hurts most: both temporary files written, nothing renamed yet.
        real_replace = os.replace
        def replace(source, target):
            if pathlib.Path(source).name.startswith("." + name + "."):
                say(replacing=True)
                time.sleep(600)
            real_replace(source, target)
        os.replace = replace
        registry.save(model, name, card, overwrite=True)
    elif request["do"] == "save-repeatedly":
        say(fingerprint=fingerprint(model))
        go = pathlib.Path(request["go"])
        while not go.exists():
            time.sleep(0.002)
        deadline, saves = time.monotonic() + request["seconds"], 0
        while saves == 0 or time.monotonic() < deadline:
            registry.save(model, name, card, overwrite=True)
            saves += 1
        say(saves=saves)
'''


def fingerprint(model):
    """sha256 of a model's weights (the client computes the same)."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(weight.tobytes())
    return digest.hexdigest()


def digits_card(architecture="mlp", summary=None):
    """The card of an untrained model of 8x8 digits, with made-up metrics."""
    return registry.card_for_model(architecture, "digits", (8, 8, 1), datasets.MNIST_CLASSES, summary=summary,
                                   metrics=registry.Metrics(split="test", dataset="digits", n=10, test_accuracy=0.1))


class Client:
    """A registry client process; its stdout lines arrive on a queue (read by a thread, so waits can time out)."""

    def __init__(self, log_path):
        environment = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen([sys.executable, "-c", CLIENT], cwd=REPO, env=environment, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def expect(self, key, timeout=STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {key!r} from the client within {timeout} s; see {self.log.name}")
            if message is None:
                pytest.fail(f"the client exited before saying {key!r}; see {self.log.name}")
            if key in message:
                return message[key]

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    """Two runs started first (their workers import TensorFlow while the rest of the module sets up).

    Yields a dict: the runs folder, the registry folder the runs see, the run ids, a classifier
    loaded before either run started, its predictions then, and the registry's files then.
    """
    root = tmp_path_factory.mktemp("fault-runs")
    models = root / "models"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_MODELS_DIR", str(models))
        patch.setenv("IMGREC_RUNS_DIR", str(root / "runs"))
        patch.setenv("IMGREC_RUN_THREADS", "1")  # The machine is shared; one thread per worker.
        patch.setenv("IMGREC_MAX_RUNS", "2")
        patch.delenv("IMGREC_RUN_TIME_LIMIT", raising=False)
        registry.save(architectures.build("cnn", (8, 8, 1), 10, seed=0), "digits-cnn",
                      digits_card(architecture="cnn"))
        classifier = registry.load("digits-cnn")
        inputs = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1)).astype(np.float32)
        state = {
            "runs": root / "runs", "models": models, "classifier": classifier, "inputs": inputs,
            "before": classifier.predict_inputs(inputs), "files": registry_files(models),
            "diverging": jobs.submit(DIVERGING), "long": jobs.submit(LONG),
        }
        try:
            yield state
        finally:
            for run_id in (state["diverging"], state["long"]):
                jobs.cancel(run_id, timeout=15)


@pytest.fixture(scope="module")
def clients(training, tmp_path_factory):
    logs = tmp_path_factory.mktemp("client-logs")
    started = [Client(logs / f"client-{index}.log") for index in range(2)]
    try:
        yield started
    finally:
        for client in started:
            client.stop()


def registry_files(folder):
    """{file name: sha256} of a registry folder, without its lock file."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir()) if path.name != ".lock"}


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(folder))
    return folder


def assert_consistent(folder, name):
    """The card's sha256 matches the file, and the model loads."""
    card = json.loads((folder / f"{name}.json").read_text())
    assert card["sha256"] == hashlib.sha256((folder / f"{name}.keras").read_bytes()).hexdigest()
    return registry.load(name)


def test_two_writers_and_a_reader_never_see_a_card_that_does_not_match_its_file(clients, models, tmp_path):
    go = tmp_path / "go"
    for client, writer, seed in zip(clients, "ab", (1, 2), strict=True):
        client.send(do="save-repeatedly", models=str(models), name="shared", seed=seed, writer=writer,
                    card=digits_card().to_json(), go=str(go), seconds=WRITE_SECONDS)
    fingerprints = {writer: client.expect("fingerprint") for client, writer in zip(clients, "ab", strict=True)}
    assert fingerprints["a"] != fingerprints["b"]

    go.touch()  # Both first saves start at the same moment; then both keep saving for WRITE_SECONDS.
    loads, missing = 0, 0
    deadline = time.monotonic() + WRITE_SECONDS + 60
    while any(client.lines.empty() for client in clients) and time.monotonic() < deadline:
        try:
            classifier = registry.load("shared")
        except registry.ModelNotFound:
            assert loads == 0, "the model vanished while being replaced"
            missing += 1
            continue
        except registry.UnsafeModelError as error:
            pytest.fail(f"a reader saw a half-saved model: {error}")
        writer = classifier.card.summary.removeprefix("writer ")
        # Never a mix: the weights are those of the writer the card names.
        assert fingerprint(classifier.model) == fingerprints[writer]
        loads += 1
    saves = [client.expect("saves", timeout=60) for client in clients]
    assert min(saves) >= 1 and loads >= 2, (saves, loads)

    final = assert_consistent(models, "shared")
    assert fingerprint(final.model) == fingerprints[final.card.summary.removeprefix("writer ")]
    assert not list(models.glob(".*.tmp"))


def test_a_save_killed_midway_keeps_the_previous_model_and_leaves_only_cleanable_temp_files(clients, models):
    previous = registry.save(architectures.build("mlp", (8, 8, 1), 10, seed=0), "victim",
                             digits_card(summary="writer original"))
    original = fingerprint(registry.load("victim").model)
    client = clients[0]
    client.send(do="save-and-hang", models=str(models), name="victim", seed=3, writer="killed",
                card=digits_card().to_json())
    client.expect("replacing")
    temporary = [path.name for path in models.glob(".victim.*.tmp")]
    assert sorted(name.rsplit(".", 2)[-2] for name in temporary) == ["json", "keras"], temporary
    os.kill(client.process.pid, signal.SIGKILL)  # kill -9, holding the registry lock.
    client.process.wait(timeout=30)

    survivor = assert_consistent(models, "victim")
    assert fingerprint(survivor.model) == original
    assert survivor.card.sha256 == previous.sha256 and survivor.card.summary == "writer original"
    assert registry.clean_temporary_files() == 2
    assert not list(models.glob(".*.tmp"))
    # The dead process's lock died with it: the next save goes through at once.
    started = time.monotonic()
    registry.save(architectures.build("mlp", (8, 8, 1), 10, seed=4), "victim", digits_card(), overwrite=True)
    assert time.monotonic() - started < 30
    assert_consistent(models, "victim")


def test_a_diverging_run_fails_visibly_and_writes_nothing_to_the_registry(training):
    state = jobs.wait(training["diverging"], timeout=STARTUP_TIMEOUT, runs_dir=training["runs"])
    assert state["status"] == jobs.FAILED and state["reason"] == jobs.NAN_REASON
    assert not (training["runs"] / training["diverging"] / jobs.MODEL_FILE).exists()
    assert jobs.result(training["diverging"], runs_dir=training["runs"]) is None
    with pytest.raises(jobs.JobError, match="only a finished"):
        jobs.save_run_as_model(training["diverging"], "diverged", runs_dir=training["runs"])
    assert registry_files(training["models"]) == training["files"]


def test_predictions_use_the_saved_model_while_a_run_of_its_architecture_trains(training, monkeypatch):
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(training["models"]))
    run_id, root = training["long"], training["runs"]
    classifier, inputs, before = training["classifier"], training["inputs"], training["before"]
    logged = 0
    for _ in range(2):  # Twice while training, with the run making progress in between.
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(jobs.read_metrics(run_id, runs_dir=root)[0]) <= logged:
            assert jobs.status(run_id, runs_dir=root)["status"] == jobs.RUNNING
            assert time.monotonic() < deadline, "the run did not train"
            time.sleep(0.2)
        logged = len(jobs.read_metrics(run_id, runs_dir=root)[0])
        # The same object, and a fresh load, predict exactly as before the run started.
        np.testing.assert_array_equal(classifier.predict_inputs(inputs), before)
        np.testing.assert_array_equal(registry.load("digits-cnn").predict_inputs(inputs), before)
    assert jobs.status(run_id, runs_dir=root)["status"] == jobs.RUNNING

    assert jobs.cancel(run_id, timeout=30, runs_dir=root)["status"] == jobs.CANCELLED
    np.testing.assert_array_equal(classifier.predict_inputs(inputs), before)
    np.testing.assert_array_equal(registry.load("digits-cnn").predict_inputs(inputs), before)
    assert registry_files(training["models"]) == training["files"]
