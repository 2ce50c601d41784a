"""The queue of runs: submit, start when a slot is free, settle dead or overdue workers, report, cancel, wait, delete.

The web server never trains: it writes a run folder and starts a worker process, then polls
the folder. Every state change happens under the runs folder's lock (`folders.locked`); a
worker calls `pump()` when it ends, so the queue advances with no page open.

Importing this module is cheap (no TensorFlow): listing and polling runs must stay fast in
the web server and on the command line.
"""

import json
import math
import os
import shutil
import signal
import time

from imgrec import atomic
from imgrec.jobs import errors, folders, processes, settings

DIED_REASON = "The worker process died (killed or crashed)."
CONFIG_SUMMARY_KEYS = ("architecture", "dataset", "epochs", "max_samples", "batch_size", "optimizer", "learning_rate")


def _cancel_requested_at(folder):
    """Returns when a stop was asked for (the cancel file's mtime), or None."""
    try:
        return (folder / folders.CANCEL_FILE).stat().st_mtime
    except FileNotFoundError:
        return None


def _settle_running(folder, state, now):
    """Ends a running run whose worker died, or escalates a stop it ignored (call under the lock).

    Returns:
        True when the run is no longer running.
    """
    cancel_requested = _cancel_requested_at(folder)
    limit = state.get("time_limit") or settings.DEFAULT_TIME_LIMIT
    past_limit = state.get("started") is not None and now > state["started"] + limit
    if not processes.worker_alive(state):
        if cancel_requested is not None:
            folders.finish(folder, state, folders.CANCELLED, "Cancelled.")
        elif past_limit:
            folders.finish(folder, state, folders.FAILED, settings.time_limit_reason(limit))
        else:
            folders.finish(folder, state, folders.FAILED, DIED_REASON)
        return True
    # The worker is alive: a cooperative stop it has not honoured in time becomes a signal.
    if cancel_requested is not None:
        overdue, status_name, reason = now - cancel_requested - settings.CANCEL_GRACE, folders.CANCELLED, "Cancelled."
    elif past_limit:
        overdue = now - state["started"] - limit - settings.TIME_LIMIT_GRACE
        status_name, reason = folders.FAILED, settings.time_limit_reason(limit)
    else:
        return False
    if overdue <= 0:
        return False
    if overdue <= settings.KILL_GRACE:
        processes.signal_worker(state, signal.SIGTERM)
        return False
    processes.signal_worker(state, signal.SIGKILL)
    folders.finish(folder, state, status_name, reason)
    return True


def _pump_locked(root):
    """Settles dead or overdue runs, then starts queued runs (call under the lock).

    Returns:
        `(ended, started)`: ids of runs this call ended and started.
    """
    now = time.time()
    # Read before anything starts: a bad setting must not leave a worker half-registered.
    limit, threads = settings.max_runs(), settings.threads_per_run()
    runs = folders.scan(root)
    ended, running = [], 0
    for run_id, folder, state in runs:
        if state["status"] != folders.RUNNING:
            continue
        if _settle_running(folder, state, now):
            ended.append(run_id)
        else:
            running += 1
    started = []
    for run_id, folder, state in folders.oldest_first([run for run in runs if run[2]["status"] == folders.QUEUED]):
        if running >= limit:
            break
        if processes.start_worker(folder, state, threads):
            running += 1
            started.append(run_id)
    return ended, started


def submit(config, *, runs_dir=None):
    """Queues a training run and starts it when a slot is free.

    Args:
        config: a `training.TrainConfig` or a dict of its settings (validated here).
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The new run's id, e.g. `"20261121-203015-ab12cd"`.

    Raises:
        training.ConfigError: for an invalid config.
        JobError: when the queue is full or a setting in the environment is invalid.
    """
    from imgrec import training

    if isinstance(config, training.TrainConfig):
        config = config.to_dict()
    if not isinstance(config, dict):
        raise errors.JobError("A run needs a TrainConfig or a dict of training settings.")
    # A round trip through from_dict validates every setting and guarantees the file the
    # worker reads back is exactly what was checked here.
    checked = training.TrainConfig.from_dict(config).to_dict()
    limit_seconds = settings.time_limit()
    settings.threads_per_run()  # A bad IMGREC_MAX_RUNS or IMGREC_RUN_THREADS fails here, in front of the user.
    root = folders.root_of(runs_dir)
    with folders.locked(root):
        waiting = sum(1 for _, _, state in folders.scan(root) if state["status"] == folders.QUEUED)
        if waiting >= settings.MAX_QUEUED:
            raise errors.JobError(f"The queue is full ({waiting} runs waiting); try again when some have finished.")
        run_id = folders.new_run_id(root)
        # Built under a hidden name and renamed whole, so nobody ever sees half a run folder.
        staging = root / f".tmp-{run_id}"
        staging.mkdir()
        try:
            folders.write_json(staging / folders.CONFIG_FILE, checked)
            folders.write_json(staging / folders.STATUS_FILE, {
                "status": folders.QUEUED, "reason": None, "pid": None, "created": time.time(), "started": None,
                "finished": None, "time_limit": limit_seconds,
            })
            os.rename(staging, root / run_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _pump_locked(root)
    return run_id


def pump(*, runs_dir=None):
    """Advances the queue: ends runs whose worker died, escalates ignored stops, starts queued runs.

    Safe to call from any number of processes at once (it works under the folder lock) and
    cheap enough to call on every poll. Queued runs start oldest first while fewer than
    `max_runs()` are running.

    Args:
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The ids of the runs it started.
    """
    root = folders.root_of(runs_dir)
    processes.reap_children()
    if not root.is_dir():
        return []
    with folders.locked(root):
        return _pump_locked(root)[1]


def recover(*, runs_dir=None):
    """Cleans up after a crash or restart; call once when the app or a service starts.

    Marks runs left "running" by a dead process as failed ("The worker process died (killed
    or crashed).", or cancelled when a cancel was pending), removes temporary files and
    half-built or half-deleted run folders, then starts queued runs.

    Args:
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        `{"ended": [ids], "started": [ids], "removed": count of temporary files and folders}`.
    """
    root = folders.root_of(runs_dir)
    if not root.is_dir():
        return {"ended": [], "started": [], "removed": 0}
    removed = 0
    with folders.locked(root):
        ended, started = _pump_locked(root)
        for entry in os.scandir(root):
            if entry.name.startswith((".tmp-", ".deleting-")) and not entry.is_symlink():
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        for _, folder, state in folders.scan(root):
            # A live worker may be between writing a temporary file and renaming it.
            if state["status"] == folders.RUNNING:
                continue
            for temp in folder.glob(".*.tmp"):
                temp.unlink(missing_ok=True)
                removed += 1
    return {"ended": ended, "started": started, "removed": removed}


def _public_status(run_id, state, queued):
    """Adds what readers want beside the file: the id and, for a queued run, its place in line."""
    view = dict(state)
    view["id"] = run_id
    if state["status"] == folders.QUEUED:
        order = [other_id for other_id, _, _ in folders.oldest_first(queued)]
        view["queue_position"] = order.index(run_id) + 1 if run_id in order else None
    else:
        view.pop("queue_position", None)
    return view


def _needs_settling(folder, state):
    """Says whether a running run needs `pump`: its worker died, or ignores a stop past its grace."""
    if state["status"] != folders.RUNNING:
        return False
    if not processes.worker_alive(state):
        return True
    cancel_requested = _cancel_requested_at(folder)
    if cancel_requested is not None and time.time() - cancel_requested > settings.CANCEL_GRACE:
        return True
    limit = state.get("time_limit") or settings.DEFAULT_TIME_LIMIT
    return time.time() > (state.get("started") or math.inf) + limit + settings.TIME_LIMIT_GRACE


def read_state(run_id, root):
    """Returns `(folder, status dict)` of a run, settling it first when its worker died or is overdue.

    Raises:
        JobError: for an invalid or unknown id, or an unreadable status file.
    """
    folder = folders.find(run_id, root)
    state = atomic.read_json(folder / folders.STATUS_FILE)
    if state is None or state.get("status") not in folders.STATES:
        raise errors.JobError(f"The status file of run {run_id} is unreadable; delete the run.")
    if _needs_settling(folder, state):
        # Whoever looks settles it, so a page that only polls still ends dead or stuck workers.
        pump(runs_dir=root)
        state = atomic.read_json(folder / folders.STATUS_FILE) or state
    return folder, state


def status(run_id, *, runs_dir=None):
    """Returns the status of one run.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The dict of `status.json`: `status` (queued, running, done, failed or cancelled),
        `reason` (a sentence, or None), `pid`, `created`, `started`, `finished` (Unix
        seconds), `time_limit`, `threads`, `seconds` once finished, `test_accuracy` when
        done (`reconstruction_mse` for an autoencoder); while running, `phase` ("starting" while TensorFlow loads, "training",
        "evaluating"); plus `id` and, for a queued run, `queue_position` (1 starts next;
        computed when read, so it is never stale).

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = folders.root_of(runs_dir)
    _, state = read_state(run_id, root)
    queued = ([run for run in folders.scan(root) if run[2]["status"] == folders.QUEUED]
              if state["status"] == folders.QUEUED else [])
    return _public_status(run_id, state, queued)


def list_runs(runs_dir=None):
    """Lists every run, newest first.

    Args:
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        A list of `status()` dicts, each with a `config` summary (architecture, dataset,
        epochs, max_samples, batch_size, optimizer, learning_rate).
    """
    root = folders.root_of(runs_dir)
    runs = folders.scan(root)
    if any(_needs_settling(folder, state) for _, folder, state in runs):
        pump(runs_dir=root)
        runs = folders.scan(root)
    queued = [run for run in runs if run[2]["status"] == folders.QUEUED]
    listed = []
    for run_id, folder, state in sorted(runs, key=lambda run: (run[2].get("created") or 0.0, run[0]), reverse=True):
        view = _public_status(run_id, state, queued)
        config = atomic.read_json(folder / folders.CONFIG_FILE) or {}
        view["config"] = {key: config.get(key) for key in CONFIG_SUMMARY_KEYS}
        listed.append(view)
    return listed


def read_config(run_id, *, runs_dir=None):
    """Returns a run's config as a dict of settings.

    Raises:
        JobError: for an invalid or unknown id.
    """
    folder = folders.find(run_id, folders.root_of(runs_dir))
    return atomic.read_json(folder / folders.CONFIG_FILE) or {}


def read_metrics(run_id, since_line=0, *, runs_dir=None):
    """Returns the progress events a run logged since a line, for incremental polling.

    A line still being written (no newline yet) is left for the next call; a damaged line
    is skipped but counted, so `next_line` always moves past it.

    Args:
        run_id: the run's id.
        since_line: how many lines the caller has already read. Defaults to `0`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        `(events, next_line)`: a list of event dicts (`{"event": "batch" | "epoch" | "done",
        ...}`, see `training.train`, each with a Unix `time`), and the `since_line` to pass
        next time.

    Raises:
        JobError: for an invalid or unknown id.
    """
    folder = folders.find(run_id, folders.root_of(runs_dir))
    if isinstance(since_line, bool) or not isinstance(since_line, int) or since_line < 0:
        raise errors.JobError(f"since_line must be a whole number of at least 0, got {since_line!r}.")
    try:
        data = (folder / folders.METRICS_FILE).read_bytes()
    except FileNotFoundError:
        return [], since_line
    complete = data.split(b"\n")[:-1]  # The last piece is empty or a line still being written.
    events = []
    for raw in complete[since_line:]:
        try:
            event = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, max(since_line, len(complete))


def result(run_id, *, runs_dir=None):
    """Returns a finished run's test results, or None when the run is not done.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The dict of `metrics.from_probabilities` on the test split (`accuracy`, `macro_f1`,
        `per_class`, `confusion`, `roc_auc`, `roc_auc_per_class`, `class_names`, `n`) plus
        `dataset`, `split`, `source`; `roc_curves` (one-vs-rest, `metrics.roc_curves`, rates
        to 4 decimals; absent from runs finished before they were recorded); `misclassified`
        (up to 32 of the most confident mistakes: `index` into the test split of
        `datasets.load(dataset)`, `true`, `predicted`, their labels and `confidence`) and
        `misclassified_count`; `training`
        (history, seconds, samples, source...) and `model` (`sha256`, `file_size`).
        See `results.evaluate`.

    Raises:
        JobError: for an invalid or unknown id.
    """
    folder, state = read_state(run_id, folders.root_of(runs_dir))
    if state["status"] != folders.DONE:
        return None
    return atomic.read_json(folder / folders.RESULT_FILE)


def cancel_requested(run_id, *, runs_dir=None):
    """Says whether someone asked a run to stop (it may still be stopping).

    Raises:
        JobError: for an invalid or unknown id.
    """
    return _cancel_requested_at(folders.find(run_id, folders.root_of(runs_dir))) is not None


def cancel(run_id, *, wait=True, timeout=15.0, runs_dir=None):
    """Stops a run: a queued run at once, a running one within a few seconds.

    A running worker sees the `cancel` file at its next batch (it checks every 0.2 s) and
    stops cleanly; one that does not stop within 5 s (stuck loading data, say) gets SIGTERM,
    then SIGKILL 3 s later. A finished run is left as it is.

    Args:
        run_id: the run's id.
        wait: block until the run has stopped (or `timeout`). Defaults to `True`.
        timeout: seconds to wait at most. Defaults to `15.0`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The run's status after the request.

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = folders.root_of(runs_dir)
    folder = folders.find(run_id, root)
    with folders.locked(root):
        state = atomic.read_json(folder / folders.STATUS_FILE) or {}
        if state.get("status") == folders.QUEUED:
            folders.finish(folder, state, folders.CANCELLED, "Cancelled before it started.")
        elif state.get("status") == folders.RUNNING and not (folder / folders.CANCEL_FILE).exists():
            atomic.write_bytes(folder / folders.CANCEL_FILE, f"{time.time()}\n".encode())
    deadline = time.monotonic() + timeout
    next_pump = time.monotonic() + 0.5
    while True:
        view = status(run_id, runs_dir=root)
        if not wait or view["status"] != folders.RUNNING or time.monotonic() >= deadline:
            return view
        if time.monotonic() >= next_pump:
            pump(runs_dir=root)  # Escalates to SIGTERM / SIGKILL once the grace has passed.
            next_pump = time.monotonic() + 0.5
        time.sleep(0.05)


def wait(run_id, *, timeout=None, poll=0.25, runs_dir=None):
    """Blocks until a run has finished and returns its status.

    Args:
        run_id: the run's id.
        timeout: seconds to wait at most, or None to wait for ever. Defaults to `None`.
        poll: seconds between looks. Defaults to `0.25`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The run's final status.

    Raises:
        JobError: for an invalid or unknown id, or when `timeout` passes first.
    """
    root = folders.root_of(runs_dir)
    deadline = None if timeout is None else time.monotonic() + timeout
    next_pump = 0.0
    while True:
        view = status(run_id, runs_dir=root)
        if view["status"] in folders.FINISHED_STATES:
            return view
        if deadline is not None and time.monotonic() >= deadline:
            raise errors.JobError(f"Run {run_id} is still {view['status']} after {timeout:g} s.")
        if time.monotonic() >= next_pump:
            pump(runs_dir=root)  # Keeps the queue moving and time limits enforced from outside.
            next_pump = time.monotonic() + 2.0
        time.sleep(poll)


def delete_run(run_id, *, runs_dir=None):
    """Deletes a run folder (a queued or finished run; not one that is running).

    Raises:
        JobError: for an invalid or unknown id, or a running run.
    """
    root = folders.root_of(runs_dir)
    folder = folders.find(run_id, root)
    with folders.locked(root):
        state = atomic.read_json(folder / folders.STATUS_FILE) or {}
        if state.get("status") == folders.RUNNING:
            raise errors.JobError(f"Run {run_id} is running; cancel it first.")
        # Renamed away under the lock first: nobody can start or read a half-deleted run.
        doomed = root / f".deleting-{run_id}"
        os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
