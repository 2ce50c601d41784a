"""The inference pool: answers like the model in this process, refuses unknown operations, contains crashes and hangs, leaves no processes behind."""

import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from imgrec import registry, serving
from imgrec.serving import operations
from tests.support.registries import registry_at

pytestmark = pytest.mark.slow
REPO = pathlib.Path(__file__).resolve().parent.parent
EXIT_SECONDS = 15  # How long a stopped worker may take to be gone on a busy machine.


@pytest.fixture(scope="module")
def tiny_models(tiny_registry):
    with registry_at(tiny_registry) as folder:
        yield folder


@pytest.fixture(scope="module")
def pool(tiny_models):
    pool = serving.Pool(workers=1, threads=1)
    assert pool.wait_ready() == 1
    yield pool
    pool.shutdown()


def reference(name="tiny-cnn"):
    card = registry.card(name)
    return serving.registry_model(name, f"{name}@{card.sha256[:16]}")


def digits(count=2):
    return np.random.default_rng(0).uniform(0, 255, (count, 28, 28, 1)).astype(np.float32)


def gone(pid):
    """Whether a process has exited (no /proc entry, or a zombie nobody has reaped yet)."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return text[text.rindex(")") + 2] in "ZX"


def wait_gone(pids, seconds=EXIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(gone(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if not gone(pid)]


def test_unknown_operations_and_references_are_refused_before_any_worker_runs(pool):
    pids = pool.pids()
    with pytest.raises(ValueError, match="Unknown inference operation 'system'"):
        pool.call("system", reference(), "rm -rf /")
    with pytest.raises(ValueError, match="model reference"):
        pool.call("predict", ("file", "/etc/passwd", "x"), digits())
    assert pool.pids() == pids
    assert set(serving.OPERATIONS) >= {"predict", "explanation", "feature_maps", "attention_maps", "trust_report",
                                       "localisation_scores", "import_model", "prediction_report", "run_report"}


def test_answers_match_the_model_run_in_this_process(pool):
    from imgrec import explain, inference

    model = registry.load("tiny-cnn").model
    batch = digits()
    np.testing.assert_allclose(pool.call("predict", reference(), batch),
                               inference.predict_probabilities(model, batch), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pool.call("explanation", reference(), batch[0], "gradcam", 3),
                               explain.explain(model, batch[0], "gradcam", 3), rtol=1e-4, atol=1e-5)
    names = [name for name, _, _ in pool.call("explainers", reference())]
    assert names == [record.name for record in explain.applicable(model)]
    assert pool.call("attention", reference()) is None
    assert pool.call("attention", reference("tiny-vit"))[:2] == explain.patch_grid(registry.load("tiny-vit").model)[:2]


def test_the_trust_checks_run_in_the_worker_as_they_would_here(pool):
    from imgrec import explain, trust

    model = registry.load("tiny-cnn").model
    image = digits(1)[0]
    heatmap = pool.call("explanation", reference(), image, "gradcam", 3)
    random_maps = pool.call("random_reference", reference(), image, 3)
    report = pool.call("trust_report", reference(), image, "gradcam", 3, heatmap, random_maps)
    here = trust.check(model, image, "gradcam", 3, heatmap=explain.explain(model, image, "gradcam", 3),
                       reference=trust.random_reference(model, image, 3))
    assert isinstance(report, trust.TrustReport)
    assert (report.level, report.verdict) == (here.level, here.verdict)
    np.testing.assert_allclose(report.deletion.probabilities, here.deletion.probabilities, rtol=1e-4, atol=1e-5)
    assert [step.layer for step in report.randomization] == [step.layer for step in here.randomization]


def test_a_prediction_report_is_made_by_the_worker(pool):
    rgb = np.random.default_rng(1).integers(0, 255, (40, 30, 3), dtype=np.uint8)
    html = pool.call("prediction_report", reference(), rgb, "<b>digit</b>.png", "gradcam", 3, 0.5, None)
    assert html.lstrip().lower().startswith("<!doctype html") and "&lt;b&gt;digit&lt;/b&gt;.png" in html
    with pytest.raises(ValueError):
        pool.call("prediction_report", reference(), rgb, "x.png", "gradcam", 99, 0.5, None)


def test_the_workers_write_reports_in_the_language_asked_for(pool):
    rgb = np.random.default_rng(1).integers(0, 255, (40, 30, 3), dtype=np.uint8)
    html = pool.call("prediction_report", reference(), rgb, "x.png", "gradcam", 3, 0.5, None, language="zh-CN",
                     layer="conv1")
    assert '<html lang="zh-CN">' in html and "<h2>预测结果</h2>" in html and "加权的特征图：conv1。" in html
    assert '<html lang="en">' in pool.call("prediction_report", reference(), rgb, "x.png", "gradcam", 3, 0.5, None)


@pytest.mark.slow
def test_a_worker_writes_an_autoencoder_run_s_report(pool, tmp_path, monkeypatch):
    from imgrec import jobs
    from tests.support import reports

    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")
    run_id = reports.finished_run(reports.TINY_AUTOENCODER_RUN)
    html = pool.call("run_report", None, run_id, None, language="zh-CN")
    assert '<html lang="zh-CN">' in html and reports.outside_references(html) == []
    assert re.findall(r'<section id="([^"]+)"', html) == ["run", "curves", "reconstruction", "rebuilt"]
    assert f"{jobs.result(run_id)['reconstruction_mse']:.4f}" in html and html.count("<img") == 12


def test_an_import_is_checked_and_saved_by_the_worker_into_the_registry_the_caller_sees(pool, tiny_models, tmp_path):
    data = (tiny_models / "tiny-cnn.keras").read_bytes()
    with registry_at(tmp_path):
        card = pool.call("import_model", None, data, "mine.keras", "imported", None, tuple("0123456789"), None, 0)
        assert card.name == "imported"
        assert registry.card("imported").sha256 == card.sha256
        with pytest.raises(registry.RegistryError):
            pool.call("import_model", None, b"not a keras file", "bad.keras", "bad", None, ("a", "b"), None, 0)
    assert not (tiny_models / "imported.keras").exists()


def test_an_operations_own_error_comes_back_as_itself_and_the_worker_stays(pool):
    pids = pool.pids()
    with pytest.raises(registry.ModelNotFound, match="no-such-model"):
        pool.call("load", serving.registry_model("no-such-model", "x"))
    with pytest.raises(ValueError, match="Unknown explainer"):
        pool.call("explanation", reference(), digits()[0], "no-such-method", 0)
    assert pool.pids() == pids
    assert pool.call("predict", reference(), digits(1)).shape == (1, 10)


def test_a_worker_that_crashes_during_a_request_is_replaced_and_the_next_request_succeeds(pool):
    pool.call("load", reference())
    (victim,) = pool.pids()
    os.kill(victim, signal.SIGSTOP)  # Holds the request in flight until the worker is killed.
    outcome = {}

    def ask():
        try:
            outcome["value"] = pool.call("predict", reference(), digits(1))
        except Exception as error:
            outcome["error"] = error

    asking = threading.Thread(target=ask)
    asking.start()
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    asking.join(timeout=30)
    assert isinstance(outcome.get("error"), serving.ServingError)
    assert "stopped while answering" in str(outcome["error"])
    assert pool.call("predict", reference(), digits(1)).shape == (1, 10)
    assert victim not in pool.pids() and gone(victim)


def test_a_stuck_request_times_out_and_its_worker_is_replaced(pool):
    pool.call("load", reference())
    (stuck,) = pool.pids()
    os.kill(stuck, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(serving.ServingError, match="longer than 1 s"):
        pool.call("predict", reference(), digits(1), timeout=1)
    assert time.monotonic() - started < 10
    assert wait_gone([stuck]) == []
    assert pool.call("predict", reference(), digits(1)).shape == (1, 10)


def test_a_worker_that_died_while_idle_is_replaced_without_failing_a_request(pool):
    pool.call("load", reference())
    (victim,) = pool.pids()
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.5)
    assert pool.call("predict", reference(), digits(1)).shape == (1, 10)
    assert victim not in pool.pids()


def test_shutdown_stops_every_worker_and_the_pool_refuses_requests(tiny_models):
    pool = serving.Pool(workers=2, threads=1)
    assert pool.wait_ready() == 2
    pids = pool.pids()
    pool.shutdown()
    assert wait_gone(pids) == []
    assert pool.pids() == []
    with pytest.raises(serving.ServingError, match="shut down"):
        pool.call("predict", reference(), digits(1))


SERVER = """
import sys, time
import numpy as np
from imgrec import serving
pool = serving.Pool(workers=1, threads=1)
assert pool.wait_ready() == 1
answer = pool.call("predict", serving.registry_model(sys.argv[1], sys.argv[2]), np.zeros((1, 28, 28, 1), np.float32))
assert answer.shape == (1, 10)
print(" ".join(str(pid) for pid in pool.pids()), "tensorflow" in sys.modules, "keras" in sys.modules, flush=True)
time.sleep(120)
"""


def test_the_caller_never_imports_tensorflow_and_a_killed_caller_leaves_no_worker(tiny_models):
    environment = {**os.environ, "PYTHONPATH": str(REPO), "IMGREC_MODELS_DIR": str(tiny_models)}
    card = registry.card("tiny-cnn")
    caller = subprocess.Popen([sys.executable, "-c", SERVER, "tiny-cnn", f"tiny-cnn@{card.sha256[:16]}"],
                              env=environment, stdout=subprocess.PIPE, text=True)
    try:
        line = caller.stdout.readline().split()
        assert len(line) == 3, f"the caller said {line!r}"
        pid, tensorflow, keras = int(line[0]), line[1], line[2]
        assert (tensorflow, keras) == ("False", "False")
        assert not gone(pid)
    finally:
        caller.kill()  # As a server killed with SIGKILL: no shutdown, no atexit.
        caller.wait()
    assert wait_gone([pid]) == []


def test_the_folders_the_caller_sees_are_the_ones_the_worker_loads_from(pool, tmp_path):
    empty = tmp_path / "empty-registry"
    empty.mkdir()
    loaded = reference()
    pool.call("load", loaded)
    with registry_at(empty), pytest.raises(registry.ModelNotFound):
        pool.call("load", loaded)  # Loaded from the other folder already: the same reference is another model here.
    assert pool.call("predict", loaded, digits(1)).shape == (1, 10)


def test_model_references_name_a_source_a_model_and_its_key():
    assert operations.registry_model("tiny-cnn", "tiny-cnn@abc") == ("registry", "tiny-cnn", "tiny-cnn@abc")
    assert operations.run_model("run-1", "f00") == ("run", "run-1", "f00")
    with pytest.raises(ValueError):
        operations.check_reference(["registry", "tiny-cnn", "x"])


PAGE_MODULES = """
import importlib, pkgutil, sys
import pages._ui
for module in pkgutil.iter_modules(pages._ui.__path__):
    importlib.import_module("pages._ui." + module.name)
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


def test_every_page_helper_imports_without_tensorflow():
    # The trust panel, edit and compare, imports and links call compute.py, which asks the workers;
    # a helper that imported TensorFlow itself would bring back its garbage-collection cost per click.
    answer = subprocess.run([sys.executable, "-c", PAGE_MODULES], env={**os.environ, "PYTHONPATH": str(REPO)},
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.split() == ["False", "False"]
