"""Training studio: how fast the quickstart preset reaches 98%, and how responsive the app stays while runs train.

quickstart_seconds_to_98: wall seconds from submitting the "quickstart" preset as a background
run (`jobs.submit`) to its finished result with test accuracy, as the training page does it;
baseline 60 s.

server_responsive_during_training: the real app (`streamlit run` on a free loopback port) and
headless Chromium. One request is one prediction as a visitor makes it: an image uploaded on
/predict, until the app has finished the rerun that decodes it, predicts its classes and
computes its Grad-CAM (each image is new, so no cache answers). Timed with no run training,
then while two runs train (IMGREC_MAX_RUNS=2 for the bench's runs), in the same server; the
value is the p95 (and, in a second row, the median) while training, the baseline the same
with none (half measured before the runs start, half after they end); target p95 ratio <= 2.
"""

import contextlib
import io
import os
import pathlib
import statistics
import tempfile
import time

import numpy as np

from bench.common import result
from tests.support import server
from tests.support.browser import CHROMIUM_ARGS, IDLE, UPDATE_COUNTER, chromium_path, missing_chromium

REPO = pathlib.Path(__file__).resolve().parent.parent
QUICKSTART_BASELINE_SECONDS = 60.0
QUICKSTART_TARGET_ACCURACY = 0.98
QUICKSTART_TIMEOUT = 600.0  # The bench gives up on a run this slow; it would miss its target by 10x.
REQUESTS = 12  # Timed uploads per condition: enough for a p95 that is not just the maximum of 3.
# The idle condition is measured half before the runs start and half after they are cancelled, so
# load from outside the bench that rises or falls meanwhile weighs on both conditions alike.
WARMUP_REQUESTS = 2
REQUEST_TIMEOUT_MS = 60_000
TRAINING_RUNS = 2
# Each background run: the full MNIST CNN for enough epochs to outlast the measurement.
TRAINING_CONFIG = {"architecture": "cnn", "dataset": "mnist", "epochs": 6, "batch_size": 128}
SERVER_MODEL = "bench-cnn"


def _load_note():
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def quickstart_rows():
    """Submits the quickstart preset as a run and times it to its finished result."""
    from imgrec import jobs, training

    load = _load_note()
    with tempfile.TemporaryDirectory(prefix="imgrec-bench-runs-") as runs:
        started = time.perf_counter()
        run_id = jobs.submit(training.preset("quickstart"), runs_dir=runs)
        view = jobs.wait(run_id, timeout=QUICKSTART_TIMEOUT, poll=0.1, runs_dir=runs)
        seconds = time.perf_counter() - started
        outcome = jobs.result(run_id, runs_dir=runs) or {}
    accuracy = float(outcome.get("accuracy", 0.0))
    train_seconds = (outcome.get("training") or {}).get("seconds", float("nan"))
    met = view["status"] == jobs.DONE and accuracy >= QUICKSTART_TARGET_ACCURACY
    note = (f"{view['status']}, test accuracy {accuracy:.2%} on {outcome.get('n', 0):,} MNIST test images; "
            f"fit {train_seconds:.1f} s of {seconds:.1f} s (worker start, data, evaluation and saving the rest); "
            f"{'meets' if met and seconds <= QUICKSTART_BASELINE_SECONDS else 'misses'} >= 98% in <= 60 s; {load}")
    return [
        result("quickstart_seconds_to_98", seconds, "s", QUICKSTART_BASELINE_SECONDS, note=note),
        result("quickstart_test_accuracy", accuracy, "fraction", QUICKSTART_TARGET_ACCURACY,
               note="target ratio >= 1 (the quickstart's promise: >= 98% MNIST test accuracy)"),
    ]


# ---------------------------------------------------------------------------------------
# The responsiveness benchmark.


def _save_server_model(folder):
    """An untrained CNN in a fresh registry: prediction and Grad-CAM cost the same as a trained one's."""
    from imgrec import architectures, datasets, registry

    previous = os.environ.get("IMGREC_MODELS_DIR")
    os.environ["IMGREC_MODELS_DIR"] = str(folder)
    try:
        model = architectures.build("cnn", (28, 28, 1), 10, seed=0)
        card = registry.card_for_model("cnn", "mnist", (28, 28, 1), datasets.MNIST_CLASSES, title="Bench CNN",
                                       summary="An untrained CNN for timing.")
        registry.save(model, SERVER_MODEL, card, overwrite=True)
    finally:
        if previous is None:
            os.environ.pop("IMGREC_MODELS_DIR", None)
        else:
            os.environ["IMGREC_MODELS_DIR"] = previous


@contextlib.contextmanager
def _app_server(models, runs, log_path):
    env = {**os.environ, "IMGREC_MODELS_DIR": str(models), "IMGREC_RUNS_DIR": str(runs), "PYTHONPATH": str(REPO),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    with server.streamlit_server(env, log_path) as url:
        yield url


def _digit_png(seed):
    """A new 64x64 drawing of a bar with noise each time, so no cache of the app can answer for it."""
    from PIL import Image

    generator = np.random.default_rng(seed)
    rgb = np.full((64, 64, 3), 255, np.uint8)
    left = int(generator.integers(16, 40))
    rgb[10:54, left:left + 8] = 0
    rgb = np.clip(rgb.astype(np.int16) + generator.integers(-20, 20, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _wait_idle(tab):
    tab.wait_for_timeout(300)
    tab.wait_for_selector(IDLE, timeout=REQUEST_TIMEOUT_MS)


def _timed_request(tab, url, seed):
    """One visitor's prediction in a fresh session: `(page_load_seconds, upload_seconds)`.

    The page load runs /predict with its default sample (a full script run); the upload is
    the time from choosing a new image to the end of the rerun that predicts and explains it.
    A fresh session each time, because the upload box keeps earlier files and would turn
    later requests into a table of cached results.
    """
    started = time.perf_counter()
    tab.goto(f"{url}/predict?model={SERVER_MODEL}")
    _wait_idle(tab)
    tab.get_by_text("Grad-CAM for").first.wait_for(timeout=REQUEST_TIMEOUT_MS)
    page_load = time.perf_counter() - started
    tab.get_by_test_id("stButtonGroup").locator("button").filter(has_text="Upload").click()
    tab.locator("input[type=file]").wait_for(state="attached", timeout=REQUEST_TIMEOUT_MS)
    _wait_idle(tab)
    tab.evaluate(UPDATE_COUNTER)
    png = _digit_png(seed)
    started = time.perf_counter()
    tab.locator("input[type=file]").set_input_files({"name": f"digit-{seed}.png", "mimeType": "image/png",
                                                     "buffer": png})
    tab.wait_for_function("() => window.__imgrecUpdates > 0", polling=10, timeout=REQUEST_TIMEOUT_MS)
    upload = time.perf_counter() - started
    tab.get_by_text(f"digit-{seed}.png").first.wait_for(timeout=REQUEST_TIMEOUT_MS)
    return page_load, upload


def _measure(tab, url, first_seed, count=REQUESTS):
    for index in range(WARMUP_REQUESTS):
        _timed_request(tab, url, first_seed + 1000 + index)
    return [_timed_request(tab, url, first_seed + index) for index in range(count)]


def _p95(values):
    return float(np.percentile(values, 95))


def _wait_training(run_ids, runs, timeout=240.0):
    """Waits until every run has started training (TensorFlow loaded, batches flowing)."""
    from imgrec import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = [jobs.status(run_id, runs_dir=runs) for run_id in run_ids]
        if all(view["status"] == jobs.RUNNING and view.get("phase") == "training" for view in views):
            return True
        if any(view["status"] in jobs.FINISHED_STATES for view in views):
            return False
        time.sleep(0.5)
    return False


def responsiveness_rows():
    from playwright.sync_api import sync_playwright

    from imgrec import jobs

    if missing_chromium():
        return [result("server_responsive_during_training", float("nan"), "ms", None,
                       note=f"skipped: Debian's chromium is not installed at {chromium_path()}")]
    with tempfile.TemporaryDirectory(prefix="imgrec-bench-app-") as scratch:
        scratch = pathlib.Path(scratch)
        models, runs = scratch / "models", scratch / "runs"
        models.mkdir()
        runs.mkdir()
        _save_server_model(models)
        run_ids = []
        with _app_server(models, runs, scratch / "streamlit.log") as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
            try:
                tab = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                tab.set_default_timeout(REQUEST_TIMEOUT_MS)
                idle = _measure(tab, url, first_seed=0, count=REQUESTS // 2)
                loads = [_load_note()]
                previous = os.environ.get("IMGREC_MAX_RUNS")
                os.environ["IMGREC_MAX_RUNS"] = str(TRAINING_RUNS)
                try:
                    run_ids = [jobs.submit({**TRAINING_CONFIG, "seed": index}, runs_dir=runs)
                               for index in range(TRAINING_RUNS)]
                finally:
                    if previous is None:
                        os.environ.pop("IMGREC_MAX_RUNS", None)
                    else:
                        os.environ["IMGREC_MAX_RUNS"] = previous
                if not _wait_training(run_ids, runs):
                    raise RuntimeError("The background runs did not start training in time.")
                busy = _measure(tab, url, first_seed=100)
                loads.append(_load_note())
                still_training = all(jobs.status(run_id, runs_dir=runs)["status"] == jobs.RUNNING
                                     for run_id in run_ids)
                for run_id in run_ids:
                    jobs.cancel(run_id, wait=True, timeout=20, runs_dir=runs)
                idle += _measure(tab, url, first_seed=200, count=REQUESTS - REQUESTS // 2)
                loads.append(_load_note())
            finally:
                for run_id in run_ids:
                    with contextlib.suppress(jobs.JobError):
                        jobs.cancel(run_id, wait=True, timeout=20, runs_dir=runs)
                browser.close()
    idle_load, idle_upload = (np.asarray(values) * 1000 for values in zip(*idle, strict=True))
    busy_load, busy_upload = (np.asarray(values) * 1000 for values in zip(*busy, strict=True))
    note = (f"{REQUESTS} fresh sessions per condition, each loading /predict and uploading a new image "
            f"(decode, predict, Grad-CAM); upload idle median {statistics.median(idle_upload):.0f} ms, "
            f"p95 {_p95(idle_upload):.0f} ms; with {TRAINING_RUNS} runs training median "
            f"{statistics.median(busy_upload):.0f} ms, p95 {_p95(busy_upload):.0f} ms"
            f"{'' if still_training else ' (a run ended before the last request)'}; "
            f"load before / during / after: {' / '.join(loads)}")
    return [
        result("server_responsive_during_training", _p95(busy_upload), "ms p95", _p95(idle_upload),
               note=note + "; target ratio <= 2"),
        result("server_responsive_during_training_median", float(statistics.median(busy_upload)), "ms median",
               float(statistics.median(idle_upload)), note="the same uploads' medians"),
        result("server_page_load_during_training", float(statistics.median(busy_load)), "ms median",
               float(statistics.median(idle_load)),
               note=f"the same sessions' page loads (/predict with its default sample); p95 "
                    f"{_p95(busy_load):.0f} ms training, {_p95(idle_load):.0f} ms idle"),
    ]


def run():
    return quickstart_rows() + responsiveness_rows()


if __name__ == "__main__":
    for row in run():
        print(row)
