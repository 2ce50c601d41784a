"""classroom_load: browser sessions predicting through the real app, idle and while two runs train.

Starts `streamlit run streamlit_app.py` on a free loopback port over a copy of the shipped
models, opens SESSIONS pages of /predict in one headless Chromium (one browser context each,
like separate students), and has every page upload a never-seen digit PNG in a loop, timing
each upload until its top-k chart is on screen and the script run is over (the page computes
the explanation in the same run). First with nothing else running (idle), then while two
training runs submitted through `imgrec.jobs` train on the same machine.

Usage: python -m bench.load [--sessions N] [--seconds S]
"""

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from bench.common import result
from tests.support import server
from tests.support.browser import CHROMIUM_ARGS, IDLE, chromium_path

REPO = pathlib.Path(__file__).resolve().parent.parent

SESSIONS = 20  # A class's worth of students on one server.
PHASE_SECONDS = 60  # How long each phase keeps every session predicting.
MODEL = "mnist-cnn"  # The shipped model a first visit to /predict would use.
PREDICTION_TIMEOUT = 90  # Seconds one upload may take before it counts as an error.
PAGE_TIMEOUT = 240  # Seconds to open a page; the first one imports TensorFlow in the server.
# Two runs big enough to keep both cores busy for the whole training phase (cancelled after it).
TRAINING_RUN = {"architecture": "cnn", "dataset": "mnist", "max_samples": 20000, "epochs": 50, "batch_size": 64}
RUNS_TRAINING_TIMEOUT = 240  # Seconds for both runs to start training (a worker imports TensorFlow).


def server_python():
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def copy_models(target):
    """Copies the shipped models (card and file pairs only) into `target`."""
    target.mkdir(parents=True)
    for card in sorted((REPO / "models").glob("*.json")):
        model = card.with_suffix(".keras")
        if model.is_file():
            shutil.copy2(card, target / card.name)
            shutil.copy2(model, target / model.name)
    return target


@contextlib.contextmanager
def app_server(models, runs, log_path):
    """Runs the real app on a free loopback port; yields its URL once /_stcore/health answers."""
    environment = {**os.environ, "IMGREC_MODELS_DIR": str(models), "IMGREC_RUNS_DIR": str(runs),
                   "IMGREC_MAX_RUNS": "2", "PYTHONPATH": str(REPO)}
    with server.streamlit_server(environment, log_path, python=server_python(), stop_timeout=15) as url:
        yield url


class DigitImages:
    """Never-seen digit PNGs (a shipped sample with a little noise), each with the key of its top-k chart.

    The page keys its chart `topk-<digest of the model input>`, so waiting for that key waits
    for this very image's prediction; a fresh image each time keeps the app's caches honest.
    """

    def __init__(self, card, seed=0):
        from imgrec import datasets

        self.shape = card.input.shape
        self.preprocessing = card.preprocessing.to_json()
        self.bases = [datasets.load_sample(f"mnist-{index:02d}") for index in range(10)]
        self.random = np.random.default_rng(seed)
        self.seen = set()
        self.count = 0

    def next(self):
        from imgrec import images, preprocess

        while True:
            base = self.bases[self.count % len(self.bases)].astype(np.int16)
            noisy = np.clip(base + self.random.integers(-12, 13, size=base.shape), 0, 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(noisy).save(buffer, format="PNG")
            png = buffer.getvalue()
            # The page's own path: decode, preprocess, digest (pages/_ui.py: decode, model_input, digest).
            model_input = preprocess.prepare(images.decode_image(png), self.shape, self.preprocessing)
            digest = hashlib.sha256(np.ascontiguousarray(model_input).tobytes()).hexdigest()[:16]
            if digest not in self.seen:
                self.seen.add(digest)
                self.count += 1
                return f"digit-{self.count}.png", png, digest


class Session:
    """One student: a browser context on /predict in upload mode, predicting in a loop."""

    def __init__(self, browser, url, digits):
        self.browser, self.url, self.digits = browser, url, digits
        self.page = None

    async def open(self):
        if self.page is None:
            context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
            self.page = await context.new_page()
        await self.page.goto(f"{self.url}/predict?model={MODEL}", timeout=PAGE_TIMEOUT * 1000)
        await self.settle(PAGE_TIMEOUT)
        upload = self.page.get_by_role("radio", name="Upload").or_(self.page.get_by_text("Upload", exact=True))
        await upload.first.click(timeout=PAGE_TIMEOUT * 1000)
        await self.settle(PAGE_TIMEOUT)
        await self.page.locator("input[type=file]").wait_for(state="attached", timeout=PAGE_TIMEOUT * 1000)

    async def settle(self, timeout):
        """Waits for the script run that an action started to end (it starts a moment after the action)."""
        await self.page.wait_for_timeout(300)
        await self.page.wait_for_selector(IDLE, timeout=timeout * 1000)

    async def predict(self):
        """Uploads one new digit; returns (seconds, error) where error is None or a short reason."""
        page = self.page
        chips = page.locator("[data-testid='stFileChipDeleteBtn'] button, [data-testid='stFileChipDeleteBtn']")
        try:
            if await chips.count():
                # Removes the last upload (a new one would be added beside it), then waits for the
                # run that removal starts to end: its end removes the last chart (a fixed pause is
                # not enough on a busy machine, where the run may start seconds later).
                await chips.first.click(timeout=PREDICTION_TIMEOUT * 1000)
                await page.wait_for_selector("[class*='st-key-topk-']", state="detached",
                                             timeout=PREDICTION_TIMEOUT * 1000)
                await page.wait_for_selector(IDLE, timeout=PREDICTION_TIMEOUT * 1000)
        except Exception as error:
            return 0.0, f"removing the last upload failed: {str(error).splitlines()[0][:120]}"
        name, png, digest = self.digits.next()
        started = time.perf_counter()
        try:
            await page.locator("input[type=file]").set_input_files(
                files=[{"name": name, "mimeType": "image/png", "buffer": png}], timeout=PREDICTION_TIMEOUT * 1000)
            chart = f".st-key-topk-{digest} [data-testid='stPlotlyChart']"
            await page.wait_for_selector(chart, timeout=PREDICTION_TIMEOUT * 1000)
            await page.wait_for_selector(IDLE, timeout=PREDICTION_TIMEOUT * 1000)
        except Exception as error:  # Playwright's TimeoutError, or a page that died.
            return time.perf_counter() - started, f"timeout or page error: {str(error).splitlines()[0][:120]}"
        seconds = time.perf_counter() - started
        if await page.locator("[data-testid='stException']").count():
            return seconds, "the page showed an exception"
        return seconds, None

    async def run_until(self, deadline, samples, errors):
        while time.monotonic() < deadline:
            seconds, error = await self.predict()
            if error is None:
                samples.append(seconds)
                continue
            errors.append(error)
            with contextlib.suppress(Exception):  # Start over on a fresh page, as a student would.
                await self.open()


async def measure_phase(sessions, seconds):
    """Every session predicts in a loop for `seconds`; returns (latencies in s, error reasons, a CPU summary)."""
    samples, errors = [], []
    load = os.getloadavg()[0]
    before, started = cpu_seconds_by_role(), time.monotonic()
    await asyncio.gather(*(session.run_until(started + seconds, samples, errors) for session in sessions))
    after, wall = cpu_seconds_by_role(), time.monotonic() - started
    cpu = ", ".join(f"{role} {after[role] - before[role]:.0f} s" for role in after)
    return samples, errors, f"{wall:.0f} s wall, CPU: {cpu}, machine load average {load:.1f} at the start"


def cpu_seconds_by_role():
    """CPU seconds used so far by this process's descendants: the app server, Chromium, training workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents, usage, roles = {}, {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            command = pathlib.Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        parents[pid], usage[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks
        roles[pid] = ("runs" if "imgrec.jobs worker" in command else "server" if "streamlit run" in command
                      else "browser" if "chrom" in command else None)
    totals = {"server": 0.0, "browser": 0.0, "runs": 0.0}
    for pid, role in roles.items():
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, os.getpid()):
            ancestor = parents.get(ancestor)
        if role and ancestor == os.getpid():
            totals[role] += usage[pid]
    return totals


def percentile(samples, fraction):
    return float(np.percentile(samples, fraction * 100)) if samples else float("nan")


def start_training_runs(runs_dir, models_dir):
    """Submits two runs through imgrec.jobs and waits until both are training; returns (ids, note)."""
    from imgrec import jobs

    with server.environment(IMGREC_RUNS_DIR=str(runs_dir), IMGREC_MODELS_DIR=str(models_dir), IMGREC_MAX_RUNS="2"):
        ids = [jobs.submit(dict(TRAINING_RUN, seed=seed), runs_dir=runs_dir) for seed in (1, 2)]
    deadline = time.monotonic() + RUNS_TRAINING_TIMEOUT
    while time.monotonic() < deadline:
        states = [jobs.status(run_id, runs_dir=runs_dir) for run_id in ids]
        if all(state.get("phase") == "training" for state in states):
            return ids, None
        if any(state["status"] != jobs.RUNNING and state["status"] != jobs.QUEUED for state in states):
            break
        time.sleep(0.5)
    return ids, "the two runs were not both training when the phase started: " + ", ".join(
        f"{state['status']} ({state.get('phase') or state.get('reason')})" for state in states)


def runs_still_training(runs_dir, ids):
    from imgrec import jobs

    return all(jobs.status(run_id, runs_dir=runs_dir)["status"] == jobs.RUNNING for run_id in ids)


def stop_runs(runs_dir, ids):
    from imgrec import jobs

    for run_id in ids:
        with contextlib.suppress(jobs.JobError):
            jobs.cancel(run_id, timeout=20, runs_dir=runs_dir)


async def classroom_load(sessions_count, seconds, workdir):
    from playwright.async_api import async_playwright

    models = copy_models(workdir / "models")
    runs = workdir / "runs"
    from imgrec import registry

    card = registry.ModelCard.from_json(json.loads((models / f"{MODEL}.json").read_text()), saved_as=MODEL)
    digits = DigitImages(card)
    log_path = workdir / "streamlit.log"
    phases, notes, run_ids = {}, [], []
    with app_server(models, runs, log_path) as url:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
            try:
                warm = Session(browser, url, digits)
                started = time.perf_counter()
                await warm.open()  # The first visit imports TensorFlow and loads the model in the server.
                _, error = await warm.predict()
                if error:
                    raise RuntimeError(f"The first prediction failed ({error}); see {log_path}.")
                notes.append(f"first visit + first prediction {time.perf_counter() - started:.0f} s")
                sessions = [warm] + [Session(browser, url, digits) for _ in range(sessions_count - 1)]
                started = time.perf_counter()
                opened = await asyncio.gather(*(session.open() for session in sessions[1:]), return_exceptions=True)
                failed = [item for item in opened if isinstance(item, Exception)]
                sessions = [warm] + [session for session, item in zip(sessions[1:], opened, strict=True)
                                     if not isinstance(item, Exception)]
                notes.append(f"{len(sessions)} pages open in {time.perf_counter() - started:.0f} s"
                             + (f", {len(failed)} failed to open" if failed else ""))
                # One untimed upload per page first, so neither phase pays for a session's first upload.
                warmed = await asyncio.gather(*(session.predict() for session in sessions[1:]))
                if any(error for _, error in warmed):
                    notes.append(f"{sum(1 for _, error in warmed if error)} warm-up uploads failed")

                phases["idle"] = await measure_phase(sessions, seconds)
                run_ids, problem = start_training_runs(runs, models)
                if problem:
                    notes.append(problem)
                phases["training"] = await measure_phase(sessions, seconds)
                if not runs_still_training(runs, run_ids):
                    notes.append("a training run ended before the training phase did")
            finally:
                stop_runs(runs, run_ids)
                await browser.close()
    return phases, notes, len(sessions)


def run(sessions=SESSIONS, seconds=PHASE_SECONDS):
    """Returns the classroom_load rows: requests, errors, p50 and p95 for the idle and training phases."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="imgrec-load-"))
    try:
        phases, notes, opened = asyncio.run(classroom_load(sessions, seconds, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    (idle, idle_errors, idle_cpu), (busy, busy_errors, busy_cpu) = phases["idle"], phases["training"]
    summary = (f"{opened} Chromium pages in one browser on {os.cpu_count()} cores (the browser shares them with "
               f"the server), {seconds:g} s per phase; idle: {len(idle)} ok, {len(idle_errors)} errors, {idle_cpu}; "
               f"training (2 runs): {len(busy)} ok, {len(busy_errors)} errors, {busy_cpu}; " + "; ".join(notes))
    first_errors = sorted(set(idle_errors + busy_errors))[:3]
    rows = [
        result("classroom_load_p95_training_vs_idle", percentile(busy, 0.95) * 1000, "ms",
               percentile(idle, 0.95) * 1000, note=f"upload to top-k chart and idle page; target ratio <= 2; {summary}"),
        result("classroom_load_p50_training_vs_idle", percentile(busy, 0.50) * 1000, "ms",
               percentile(idle, 0.50) * 1000, note="median of the same predictions"),
        result("classroom_load_requests_idle", len(idle) + len(idle_errors), "requests", None,
               note=f"{len(idle_errors)} errors"),
        result("classroom_load_requests_training", len(busy) + len(busy_errors), "requests", None,
               note=f"{len(busy_errors)} errors"),
        result("classroom_load_errors", len(idle_errors) + len(busy_errors), "errors", None,
               note="target 0; exceptions shown on the page, or predictions over "
                    f"{PREDICTION_TIMEOUT} s" + (f"; first: {'; '.join(first_errors)}" if first_errors else "")),
    ]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--seconds", type=float, default=PHASE_SECONDS)
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 40 or not 5 <= args.seconds <= 600:
        parser.error("--sessions must be 1-40 and --seconds 5-600 (the load stays bounded)")
    rows = run(args.sessions, args.seconds)
    for row in rows:
        baseline = f"{row['baseline']:.0f}" if row["baseline"] else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(f"{row['name']:<38} {row['value']:>10.0f} {row['unit']:<9} {baseline:>10} {ratio:>6}  {row['note']}")
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
