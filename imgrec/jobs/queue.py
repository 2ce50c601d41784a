"""The queue of runs: submit, start when a slot is free, settle dead or overdue workers, report, cancel, wait, delete.

The web server never trains: it writes a run folder and starts a worker (a process here, or
a job on a Ray cluster: `executors`), then polls the folder. Every state change happens under
the runs folder's lock (`folders.locked`); a worker calls `pump()` when it ends, so the queue
advances with no page open. Nothing here depends on where runs execute.

Importing this module is cheap (no TensorFlow): listing and polling runs must stay fast in
the web server and on the command line.
"""

import math
import os
import shutil
import time

from imgrec import atomic, texts
from imgrec.jobs import errors, executors, folders, processes, quota, settings

DIED_REASON = processes.DIED_REASON
CONFIG_SUMMARY_KEYS = ("architecture", "dataset", "epochs", "max_samples", "batch_size", "optimizer", "learning_rate")


def _cancel_requested_at(folder):
    """Returns when a stop was asked for (the cancel file's mtime), or None."""
    try:
        return (folder / folders.CANCEL_FILE).stat().st_mtime
    except FileNotFoundError:
        return None


def _settle_running(folder, state, now):
    """Ends a running run that reported its end or whose worker died, or escalates a stop it ignored (call under the lock).

    Returns:
        True when the run is no longer running (finished, or back in the queue).
    """
    executor = executors.for_state(state)
    if not executor.reachable:
        return False
    executor.refresh(folder, state)
    if state["status"] != folders.RUNNING:
        if state["status"] in folders.FINISHED_STATES:
            executor.release(folder, state)
        return True
    cancel_requested = _cancel_requested_at(folder)
    limit = state.get("time_limit") or settings.DEFAULT_TIME_LIMIT
    past_limit = state.get("started") is not None and now > state["started"] + limit
    died = executor.death(folder, state)
    if died is not None:
        if cancel_requested is not None:
            folders.finish(folder, state, folders.CANCELLED, "Cancelled.")
        elif past_limit:
            folders.finish(folder, state, folders.FAILED, settings.time_limit_reason(limit))
        else:
            folders.finish(folder, state, folders.FAILED, died)
        executor.release(folder, state)
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
        executor.stop(state, force=False)
        return False
    executor.stop(state, force=True)
    folders.finish(folder, state, status_name, reason)
    executor.release(folder, state)
    return True


def _pump_locked(root):
    """Settles finished, dead or overdue runs, then starts queued runs (call under the lock).

    Returns:
        `(ended, started)`: ids of runs this call ended and started.
    """
    now = time.time()
    # Read before anything starts: a bad setting must not leave a worker half-registered.
    executor = executors.current()
    limit, threads = executor.capacity(), executor.threads()
    runs = folders.scan(root)
    ended, running = [], 0
    for run_id, folder, state in runs:
        if state["status"] != folders.RUNNING:
            continue
        if _settle_running(folder, state, now):
            if state["status"] in folders.FINISHED_STATES:
                ended.append(run_id)
        elif executors.for_state(state).name == executor.name:
            running += 1
    started = []
    # After settling: a run Ray gave back to the queue may start again at once.
    for run_id, folder, state in folders.oldest_first([run for run in runs if run[2]["status"] == folders.QUEUED]):
        if running >= limit:
            break
        outcome = executor.start(folder, state, threads)
        if outcome is None:  # The executor cannot be reached now: the rest wait too.
            break
        if outcome:
            running += 1
            started.append(run_id)
    return ended, started


def check_config(config):
    """Checks a run's settings as `submit` does, and that its data is on this machine; returns them as a dict.

    The one check for the app's form, the command line and searches, so none of them accepts a
    run that would only fail in its worker (CIFAR-10 offline, say).

    Args:
        config: a `training.TrainConfig` or a dict of its settings.

    Returns:
        The settings as a `TrainConfig` dict: exactly what the worker will read back.

    Raises:
        training.ConfigError: for an invalid setting.
        datasets.DatasetUnavailable: when the dataset is not here; its message says which files
            to get and where they go.
        JobError: for something that is not a config at all.
    """
    from imgrec import datasets, training

    if isinstance(config, training.TrainConfig):
        config = config.to_dict()
    if not isinstance(config, dict):
        raise errors.JobError("A run needs a TrainConfig or a dict of training settings.")
    checked = training.TrainConfig.from_dict(config).to_dict()
    datasets.check_present(checked["dataset"])
    return checked


def submit(config, *, runs_dir=None, owner=None):
    """Queues a training run and starts it when a slot is free.

    Args:
        config: a `training.TrainConfig` or a dict of its settings (validated here).
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.
        owner: who asks, e.g. the app's session id: an owner may have at most
            `IMGREC_MAX_RUNS_PER_SESSION` runs queued or running (2 by default), so one student
            cannot fill a class's queue. Defaults to `None` (no limit: the command line, scripts).

    Returns:
        The new run's id, e.g. `"20261121-203015-ab12cd"`.

    Raises:
        training.ConfigError: for an invalid config.
        datasets.DatasetUnavailable: when its dataset is not on this machine (see `check_config`).
        JobError: when the queue is full, the owner has too many runs, or a setting in the
            environment is invalid.
    """
    # A round trip through from_dict validates every setting and guarantees the file the
    # worker reads back is exactly what was checked here.
    checked = check_config(config)
    limit_seconds = settings.time_limit()
    executors.current().threads()  # A bad IMGREC_MAX_RUNS or IMGREC_RUN_THREADS fails here, in front of the user.
    per_owner = settings.max_runs_per_session() if owner is not None else None
    root = folders.root_of(runs_dir)
    with folders.locked(root):
        runs = folders.scan(root)
        waiting = sum(1 for _, _, state in runs if state["status"] == folders.QUEUED)
        if waiting >= settings.MAX_QUEUED:
            raise texts.said(errors.JobError, "errors_jobs.queue_full", waiting=waiting)
        if per_owner is not None:
            mine = sum(1 for _, _, state in runs
                       if state.get("owner") == owner and state["status"] in (folders.QUEUED, folders.RUNNING))
            if mine >= per_owner:
                raise texts.said(errors.JobError, "errors_jobs.session_runs", count=mine)
        quota.make_room(root)  # Prunes the oldest finished runs, or refuses when only unfinished ones fill it.
        run_id = folders.new_run_id(root)
        # Built under a hidden name and renamed whole, so nobody ever sees half a run folder.
        staging = root / f".tmp-{run_id}"
        staging.mkdir()
        try:
            folders.write_json(staging / folders.CONFIG_FILE, checked)
            folders.write_json(staging / folders.STATUS_FILE, {
                "status": folders.QUEUED, "reason": None, "pid": None, "created": time.time(), "started": None,
                "finished": None, "time_limit": limit_seconds, "owner": owner,
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
    or crashed).", or cancelled when a cancel was pending) and runs whose status file is
    damaged as failed (`folders.DAMAGED_REASON`), removes temporary files and half-built or
    half-deleted run folders, prunes the oldest finished runs when the folder is over its
    quota (`quota.make_room`), then starts queued runs.

    Args:
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        `{"ended": [ids], "started": [ids], "removed": count of temporary files and folders,
        "damaged": [ids], "pruned": [ids]}`.
    """
    root = folders.root_of(runs_dir)
    if not root.is_dir():
        return {"ended": [], "started": [], "removed": 0, "damaged": [], "pruned": []}
    removed = 0
    with folders.locked(root):
        damaged = folders.mark_damaged(root)
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
        pruned = quota.make_room(root, refuse=False)
    return {"ended": ended, "started": started, "removed": removed, "damaged": damaged, "pruned": pruned}


def _public_status(run_id, state, queued):
    """Adds what readers want beside the file: the id, where it runs and, for a queued run, its place in line."""
    view = dict(state)
    view["id"] = run_id
    view.setdefault("executor", None)
    view.setdefault("node_id", None)
    if view["executor"] == "ray":
        view.setdefault("ray_job_id", None)
    if state["status"] == folders.QUEUED:
        order = [other_id for other_id, _, _ in folders.oldest_first(queued)]
        view["queue_position"] = order.index(run_id) + 1 if run_id in order else None
    else:
        view.pop("queue_position", None)
    return view


def _needs_settling(folder, state):
    """Says whether a run needs `pump`: it has news to collect, its worker died or ignores a stop, or its start is due again."""
    if state["status"] == folders.QUEUED:
        return time.time() >= (state.get("retry_at") or math.inf)  # Its executor could not be reached before.
    if state["status"] != folders.RUNNING:
        return False
    executor = executors.for_state(state)
    if not executor.reachable:
        return False
    if executor.needs_refresh(state) or executor.death(folder, state) is not None:
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
        raise texts.said(errors.JobError, "errors_jobs.status_unreadable", run_id=run_id)
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
        done (`reconstruction_mse` for an autoencoder); while running, `phase` ("starting"
        while TensorFlow loads, "training", "evaluating"); where it runs, once started: `executor` ("local" or "ray"), `node_id`
        (this machine's host name, or the Ray node's id) and on Ray `ray_job_id` (the job's
        submission id) and `node_host`; `owner` (the app session that asked, or None); plus
        `id` and, for a queued run, `queue_position` (1 starts next; computed when read, so it
        is never stale).

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
            raise texts.said(errors.JobError, "errors_jobs.running", run_id=run_id)
        # Renamed away under the lock first: nobody can start or read a half-deleted run.
        doomed = root / f".deleting-{run_id}"
        os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
