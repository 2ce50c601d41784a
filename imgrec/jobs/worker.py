"""The worker: trains and evaluates one run in its own process, and always leaves the run with a final status.

Started by the queue as `python -m imgrec.jobs worker RUN_DIR`. It stops at the next batch
when the run's `cancel` file appears or its time limit passes, and a watchdog ends it when
it is stuck outside the batch loop; when it ends, it calls `pump()` so the next queued run
starts.
"""

import contextlib
import hashlib
import json
import math
import os
import pathlib
import signal
import sys
import threading
import time

from imgrec import atomic
from imgrec.jobs import folders, queue, results, settings, tensorboard

NAN_REASON = "The loss became NaN or infinite; try a smaller learning rate."
MEMORY_REASON = "The run ran out of memory; try a smaller batch_size, max_samples or model."


class _Terminated(BaseException):
    """Raised inside a worker by SIGTERM; a BaseException so no `except Exception` swallows it."""


class StopCheck:
    """The `should_stop` callable of a worker: a cancel file or the time limit ends the run.

    Checked by the training loop after every batch, so it stats the file at most every
    `interval` seconds; once it has said stop, it keeps saying so.

    Args:
        cancel_path: the run's `cancel` file.
        deadline: Unix time at which the run's time limit is reached.
        interval: seconds between looks. Defaults to `0.2`.
    """

    def __init__(self, cancel_path, deadline, interval=settings.CANCEL_POLL_SECONDS):
        self.cancel_path = pathlib.Path(cancel_path)
        self.deadline = deadline
        self.interval = interval
        self.why = None  # "cancel" or "time" once stopped.
        self._last_look = -math.inf

    def __call__(self):
        if self.why is not None:
            return True
        now = time.monotonic()
        if now - self._last_look < self.interval:
            return False
        self._last_look = now
        if self.cancel_path.exists():
            self.why = "cancel"
        elif time.time() >= self.deadline:
            self.why = "time"
        return self.why is not None


def failure_reason(error):
    """Returns the one-sentence reason a run failed with, for an exception raised while training.

    Example:
        >>> failure_reason(ValueError("bad\\nthings"))
        'The run crashed: ValueError: bad'
    """
    # Only modules already imported can have raised their errors; importing them here would
    # pull in TensorFlow just to name a failure.
    training = sys.modules.get("imgrec.training")
    loop = sys.modules.get("imgrec.training.loop")
    datasets = sys.modules.get("imgrec.datasets")
    if loop is not None and isinstance(error, loop.NonFiniteError):
        return NAN_REASON
    if training is not None and isinstance(error, training.ConfigError):
        return _first_line(str(error))
    if datasets is not None and isinstance(error, datasets.DatasetUnavailable):
        # Its message lists every source tried; the first sentence and the how-to are what a person needs.
        sentences = str(error).split(". ")
        kept = [sentences[0]] + [sentence for sentence in sentences[1:] if sentence.startswith("To get it")]
        return _first_line(". ".join(kept))
    if isinstance(error, MemoryError):
        return MEMORY_REASON
    detail = _first_line(str(error))
    return f"The run crashed: {type(error).__name__}: {detail}" if detail else f"The run crashed: {type(error).__name__}."


def _first_line(text):
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""


def _configure_process():
    """Lowers the worker's priority and sets TensorFlow's thread pools before TF starts."""
    with contextlib.suppress(OSError):
        # A little lower than the web server, so pages stay responsive while runs train.
        os.nice(5)
    threads = settings.threads_per_run()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))


def _on_sigterm(signal_number, frame):
    # Only the first SIGTERM interrupts: a second one must not break the final status write.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated()


def _watchdog(folder, root, deadline):
    """Ends the worker when it is still alive past its time limit plus grace (stuck outside the batch loop)."""

    def expire():
        with contextlib.suppress(Exception), folders.locked(root):
            state = atomic.read_json(folder / folders.STATUS_FILE) or {}
            if state.get("status") == folders.RUNNING and state.get("pid") == os.getpid():
                limit = state.get("time_limit") or settings.DEFAULT_TIME_LIMIT
                folders.finish(folder, state, folders.FAILED, settings.time_limit_reason(limit))
        os._exit(1)

    timer = threading.Timer(max(0.0, deadline + settings.TIME_LIMIT_GRACE - time.time()), expire)
    timer.daemon = True
    timer.start()
    return timer


def run_worker(run_dir):
    """Trains one run in this process; the body of `python -m imgrec.jobs worker RUN_DIR`.

    Does nothing unless the run's status names this process as its worker, so a stray or
    duplicate start is harmless. Always leaves the run done, failed or cancelled, then calls
    `pump()` so the next queued run starts.

    Args:
        run_dir: the run's folder (its name must be a valid run id).

    Returns:
        The process exit status: 0.
    """
    folder = pathlib.Path(run_dir).absolute()
    folders.validate_run_id(folder.name)
    root = folder.parent
    with folders.locked(root):
        state = atomic.read_json(folder / folders.STATUS_FILE) or {}
    if state.get("status") != folders.RUNNING or state.get("pid") != os.getpid():
        return 0
    train_run(folder, state)
    with contextlib.suppress(Exception):
        queue.pump(runs_dir=root)
    return 0


def train_run(folder, state):
    """Trains the run of a folder whose status names this process as its worker, and writes its final status.

    The part of a worker that does not care where it runs: a local worker calls it on the run
    folder itself, a Ray worker node on its scratch copy (`ray_worker`). A cancel file or the
    time limit stops it at the next batch, SIGTERM at once, a watchdog when it is stuck.

    Args:
        folder: the run folder (`config.json` and a running `status.json` naming this process).
        state: its status dict as read.
    """
    root = folder.parent
    signal.signal(signal.SIGTERM, _on_sigterm)
    limit_seconds = state.get("time_limit") or settings.DEFAULT_TIME_LIMIT
    deadline = (state.get("started") or time.time()) + limit_seconds
    timer = _watchdog(folder, root, deadline)
    try:
        _configure_process()
        outcome = _train_and_evaluate(folder, StopCheck(folder / folders.CANCEL_FILE, deadline), limit_seconds)
    except _Terminated:
        outcome = (folders.CANCELLED, "Cancelled.", {}) if (folder / folders.CANCEL_FILE).exists() else (
            folders.FAILED, "The worker process was stopped by a signal (SIGTERM).", {})
    except BaseException as error:  # noqa: B036 - every way out must leave a final status.
        outcome = (folders.FAILED, failure_reason(error), {})
    finally:
        timer.cancel()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # Nothing may interrupt the final status write.
    with folders.locked(root):
        state = atomic.read_json(folder / folders.STATUS_FILE) or state
        if state.get("status") == folders.RUNNING and state.get("pid") == os.getpid():
            status_name, reason, extra = outcome
            folders.finish(folder, state, status_name, reason, **extra)


def _set_phase(folder, phase):
    """Records what a running worker is doing, for the page to show (starting, training, evaluating)."""
    with folders.locked(folder.parent):
        state = atomic.read_json(folder / folders.STATUS_FILE) or {}
        if state.get("status") == folders.RUNNING and state.get("pid") == os.getpid():
            state["phase"] = phase
            folders.write_json(folder / folders.STATUS_FILE, state)


def _train_and_evaluate(folder, should_stop, limit_seconds):
    """Trains, evaluates and writes the model and results.

    Returns:
        `(status, reason, extra_status_fields)` for the final status.
    """
    from imgrec import registry, training

    if (folder / folders.CANCEL_FILE).exists():
        return folders.CANCELLED, "Cancelled before training started.", {}
    config_values = atomic.read_json(folder / folders.CONFIG_FILE)
    if config_values is None:
        return folders.FAILED, "The run's config.json is missing or is not a JSON object.", {}
    config = training.TrainConfig.from_dict(config_values)
    scalars = tensorboard.TensorBoardScalars(folder / folders.TENSORBOARD_DIR)
    first_event = [True]
    with open(folder / folders.METRICS_FILE, "a", encoding="utf-8") as log:

        def on_progress(event):
            if first_event[0]:
                first_event[0] = False
                _set_phase(folder, "training")
            line = json.dumps(atomic.json_ready({**event, "time": round(time.time(), 3)}), allow_nan=False)
            log.write(line + "\n")
            log.flush()  # Readers poll the file: each event must be visible as soon as it exists.
            scalars.write(event)

        try:
            trained = training.train(config, on_progress=on_progress, should_stop=should_stop)
        finally:
            scalars.close()
    if trained.cancelled and should_stop.why == "time":
        return folders.FAILED, settings.time_limit_reason(limit_seconds), {}
    if trained.cancelled:
        return folders.CANCELLED, f"Cancelled after {len(trained.history)} of {config.epochs} epoch{'s' * (config.epochs != 1)}.", {}
    _set_phase(folder, "evaluating")
    report = results.evaluate(trained)
    if (folder / folders.CANCEL_FILE).exists():
        return folders.CANCELLED, "Cancelled while evaluating.", {}
    data = registry.model_bytes(trained.model)
    atomic.write_bytes(folder / folders.MODEL_FILE, data)
    report["model"] = {"file": folders.MODEL_FILE, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data)}
    folders.write_json(folder / folders.RESULT_FILE, report)
    measured = {"test_accuracy": report["accuracy"]} if "accuracy" in report else {
        "reconstruction_mse": report["reconstruction_mse"]}
    return folders.DONE, None, {**measured, "train_seconds": round(trained.seconds, 3)}
