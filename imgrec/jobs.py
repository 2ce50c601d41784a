"""Background training runs: a folder per run, a worker process per run, a queue, cancel and a time limit.

The web server never trains: it writes a run folder and starts a worker process, then polls
the folder. A run is `runs/<id>/`:

```
config.json     the TrainConfig, as submitted
status.json     {"status": queued|running|done|failed|cancelled, "reason", "pid", "created", ...}
metrics.jsonl   one JSON line per progress event of `training.train` (batch, epoch, done)
tb/             TensorBoard logs
model.keras     the trained model (done runs only; never for a non-finite run)
result.json     test-split metrics, the most confident mistakes and what a model card needs
cancel          present once someone asked the run to stop
worker.log      the worker's stdout and stderr, for post-mortems
```

Every JSON file is written atomically (temporary file, fsync, `os.replace`), so a reader
polling from another process never sees half a file. State transitions happen under an
`fcntl` lock on the runs folder, so any number of web-server sessions, CLI processes and
workers can submit, start, cancel and recover runs at the same time. A worker calls `pump()`
when it ends, so the queue advances with no page open.

Importing this module is cheap (no TensorFlow): listing and polling runs must stay fast in
the web server and on the command line.
"""

import argparse
import contextlib
import fcntl
import hashlib
import json
import math
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

from imgrec import atomic

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED_STATES = (DONE, FAILED, CANCELLED)

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
RESULT_FILE = "result.json"
MODEL_FILE = "model.keras"
CANCEL_FILE = "cancel"
LOG_FILE = "worker.log"
TENSORBOARD_DIR = "tb"

# Settings, each overridable from the environment (read when used, so tests and admins can
# change them without restarting anything).
DEFAULT_TIME_LIMIT = 30 * 60  # IMGREC_RUN_TIME_LIMIT: a class period is longer than any sane demo run.
MAX_QUEUED = 100  # More waiting runs than a class of students could want; caps disk use by a runaway script.
CANCEL_POLL_SECONDS = 0.2  # should_stop stats the cancel file at most this often.
CANCEL_GRACE = 5.0  # Seconds a cooperative cancel may take before the worker gets SIGTERM...
KILL_GRACE = 3.0  # ...and then SIGKILL.
TIME_LIMIT_GRACE = 30.0  # Past the time limit plus this, the run is killed even if it never checks.
MAX_JSON_BYTES = 16 * 1024 * 1024  # A status or result file is kilobytes; refuse to parse anything huge.
MISCLASSIFIED_KEPT = 32  # The most confident mistakes kept for the results page.

NAN_REASON = "The loss became NaN or infinite; try a smaller learning rate."
DIED_REASON = "The worker process died (killed or crashed)."
MEMORY_REASON = "The run ran out of memory; try a smaller batch_size, max_samples or model."

# Workers started by this process, so they are reaped (no zombies) as soon as they end.
_CHILDREN = {}
_CHILDREN_LOCK = threading.Lock()
# How deep this thread is inside the runs-folder lock: flock is per open file, so taking it
# twice in one thread would deadlock; nested sections reuse the outer hold instead.
_LOCK_DEPTH = threading.local()


class JobError(ValueError):
    """A run request that cannot be honoured; `str(e)` is one sentence saying why and what to do."""


class _Terminated(BaseException):
    """Raised inside a worker by SIGTERM; a BaseException so no `except Exception` swallows it."""


# ---------------------------------------------------------------------------------------
# Settings.


def runs_dir():
    """Returns the runs folder: `IMGREC_RUNS_DIR` if set, else `<repo>/runs`."""
    return pathlib.Path(os.environ.get("IMGREC_RUNS_DIR") or REPO_ROOT / "runs")


def cpu_count():
    """Returns the cores this process may use (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def max_runs():
    """Returns how many runs may train at once: `IMGREC_MAX_RUNS`, else half the cores (at least 1).

    Half the cores, because one TensorFlow run already uses every thread it is given: two runs
    on two cores finish no sooner in total than one after the other, but each of them takes
    twice as long to show its curves, and the web server has to fight both for a core.

    Raises:
        JobError: when `IMGREC_MAX_RUNS` is not a whole number of at least 1.
    """
    return _env_int("IMGREC_MAX_RUNS", max(1, cpu_count() // 2), minimum=1)


def time_limit():
    """Returns the per-run time limit in seconds: `IMGREC_RUN_TIME_LIMIT`, else 1800.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    return _env_int("IMGREC_RUN_TIME_LIMIT", DEFAULT_TIME_LIMIT, minimum=1)


def threads_per_run():
    """Returns TensorFlow's intra-op thread count for one run: `IMGREC_RUN_THREADS`, else a share of the cores.

    The default gives each of the `max_runs()` concurrent runs `cores // max_runs()` threads,
    and 1 thread when more runs than cores may run, so a full queue never oversubscribes the CPU.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    cores, limit = cpu_count(), max_runs()
    default = 1 if limit >= cores else cores // limit
    return _env_int("IMGREC_RUN_THREADS", default, minimum=1)


def _env_int(name, default, *, minimum):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise JobError(f"{name} must be a whole number of at least {minimum}, got {text!r}.")
    return value


# ---------------------------------------------------------------------------------------
# Files: atomic writes, capped reads, the lock.


def _json_ready(value):
    """Replaces non-finite floats by None, so files stay strict JSON that a browser can parse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def _write_json(path, value):
    text = json.dumps(_json_ready(value), indent=1, allow_nan=False) + "\n"
    atomic.write_bytes(path, text.encode())


def _read_json(path):
    """Returns a JSON object from a file, or None when it is missing, too large or not an object."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if len(raw) > MAX_JSON_BYTES:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: a deeply nested file in a run folder must not take list_runs() down.
        return None
    return value if isinstance(value, dict) else None


@contextlib.contextmanager
def _locked(root):
    """Holds the exclusive lock on a runs folder; re-entrant within one thread."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    key = str(root.resolve())
    held = _LOCK_DEPTH.__dict__.setdefault("held", {})
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held[key] = 1
        try:
            yield
        finally:
            held[key] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------
# Run ids and folders.


def validate_run_id(run_id):
    """Checks a run id against `^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$` before it touches any path.

    Returns:
        The id itself.

    Raises:
        JobError: for anything else (paths, dots, NUL bytes, upper case...).
    """
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise JobError(f"Invalid run id {repr(run_id)[:80]}: run ids look like 20261121-203015-ab12cd.")
    return run_id


def _root(folder):
    return pathlib.Path(folder) if folder is not None else runs_dir()


def _run_folder(run_id, root):
    validate_run_id(run_id)
    folder = root / run_id
    # A symlinked run folder could point anywhere on the server; only real folders count.
    if folder.is_symlink() or not (folder / STATUS_FILE).is_file():
        raise JobError(f"There is no run {run_id!r}; see `python -m imgrec runs` for the list.")
    return folder


def _new_run_id(root):
    while True:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        if not (root / run_id).exists():
            return run_id


def _scan(root):
    """Returns `[(run_id, folder, status)]` for every readable run folder (unordered)."""
    runs = []
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return runs
    for entry in entries:
        if not RUN_ID_PATTERN.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        folder = pathlib.Path(entry.path)
        state = _read_json(folder / STATUS_FILE)
        if state is not None and state.get("status") in STATES:
            runs.append((entry.name, folder, state))
    return runs


def _oldest_first(runs):
    return sorted(runs, key=lambda run: (run[2].get("created") or 0.0, run[0]))


# ---------------------------------------------------------------------------------------
# Worker processes: identity, liveness, signals.


def _process_identity(pid):
    """Returns `(start_time, state)` of a process from /proc, or None where /proc has no entry."""
    try:
        text = pathlib.Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses; the fields after it do not.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[19], fields[0]  # Field 22 (start time, in clock ticks since boot), field 3 (state).


def _reap_children():
    with _CHILDREN_LOCK:
        for pid, process in list(_CHILDREN.items()):
            if process.poll() is not None:
                del _CHILDREN[pid]


def _worker_alive(state):
    """Says whether the process recorded in a status is still the run's worker.

    A pid alone is not enough: it may belong to a zombie, or have been reused by another
    process since the worker died, so the start time recorded at launch must match too.
    """
    pid = state.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    _reap_children()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # It exists but belongs to someone else: the identity check below decides.
    identity = _process_identity(pid)
    if identity is None:
        return not pathlib.Path("/proc/self").exists()  # No /proc (macOS): trust kill(0).
    start, process_state = identity
    if process_state in ("Z", "X"):
        return False
    return state.get("pid_start") in (None, start)


def _signal_worker(state, signal_number):
    if _worker_alive(state):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(state["pid"], signal_number)


def _worker_command(folder):
    return [sys.executable, "-m", "imgrec.jobs", "worker", str(folder)]


def _start_worker(folder, state, threads):
    """Starts the worker of a queued run and marks it running (call under the lock)."""
    environment = dict(os.environ)
    # The worker must import this checkout of imgrec whatever its working folder.
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO_ROOT), environment.get("PYTHONPATH")) if part
    )
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    now = time.time()
    try:
        with open(folder / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                _worker_command(folder),
                cwd=folder,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: the run survives the web server restarting, and a Ctrl-C
                # in the terminal that started the server does not kill every run.
                start_new_session=True,
            )
    except OSError as error:
        state.update(status=FAILED, reason=f"The worker process could not start: {error.strerror or error}.",
                     finished=now)
        _write_json(folder / STATUS_FILE, state)
        return False
    with _CHILDREN_LOCK:
        _CHILDREN[process.pid] = process
    identity = _process_identity(process.pid)
    state.update(status=RUNNING, phase="starting", pid=process.pid, pid_start=identity[0] if identity else None,
                 started=now, threads=threads)
    _write_json(folder / STATUS_FILE, state)
    return True


def _finish(folder, state, status, reason, **extra):
    """Writes a final status (call under the lock)."""
    now = time.time()
    state.pop("phase", None)
    state.update(status=status, reason=reason, finished=now, **extra)
    if state.get("started"):
        state["seconds"] = round(now - state["started"], 3)
    _write_json(folder / STATUS_FILE, state)


def _time_limit_reason(seconds):
    return f"Time limit of {seconds} s reached; train on fewer samples or epochs, or raise IMGREC_RUN_TIME_LIMIT."


def _settle_running(folder, state, now):
    """Ends a running run whose worker died, or escalates a stop it ignored (call under the lock).

    Returns:
        True when the run is no longer running.
    """
    cancel_path = folder / CANCEL_FILE
    try:
        cancel_requested = cancel_path.stat().st_mtime
    except FileNotFoundError:
        cancel_requested = None
    limit = state.get("time_limit") or DEFAULT_TIME_LIMIT
    past_limit = state.get("started") is not None and now > state["started"] + limit
    if not _worker_alive(state):
        if cancel_requested is not None:
            _finish(folder, state, CANCELLED, "Cancelled.")
        elif past_limit:
            _finish(folder, state, FAILED, _time_limit_reason(limit))
        else:
            _finish(folder, state, FAILED, DIED_REASON)
        return True
    # The worker is alive: a cooperative stop it has not honoured in time becomes a signal.
    if cancel_requested is not None:
        overdue, status, reason = now - cancel_requested - CANCEL_GRACE, CANCELLED, "Cancelled."
    elif past_limit:
        overdue, status, reason = now - state["started"] - limit - TIME_LIMIT_GRACE, FAILED, _time_limit_reason(limit)
    else:
        return False
    if overdue <= 0:
        return False
    if overdue <= KILL_GRACE:
        _signal_worker(state, signal.SIGTERM)
        return False
    _signal_worker(state, signal.SIGKILL)
    _finish(folder, state, status, reason)
    return True


def _pump_locked(root):
    """Settles dead or overdue runs, then starts queued runs (call under the lock).

    Returns:
        `(ended, started)`: ids of runs this call ended and started.
    """
    now = time.time()
    # Read before anything starts: a bad setting must not leave a worker half-registered.
    limit, threads = max_runs(), threads_per_run()
    runs = _scan(root)
    ended, running = [], 0
    for run_id, folder, state in runs:
        if state["status"] != RUNNING:
            continue
        if _settle_running(folder, state, now):
            ended.append(run_id)
        else:
            running += 1
    started = []
    for run_id, folder, state in _oldest_first([run for run in runs if run[2]["status"] == QUEUED]):
        if running >= limit:
            break
        if _start_worker(folder, state, threads):
            running += 1
            started.append(run_id)
    return ended, started


# ---------------------------------------------------------------------------------------
# The public API: what the app pages and the CLI call.


def submit(config, *, runs_dir=None):
    """Queues a training run and starts it when a slot is free.

    Args:
        config: a `training.TrainConfig` or a dict of its settings (validated here).
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The new run's id, e.g. `"20261121-203015-ab12cd"`.

    Raises:
        training.ConfigError: for an invalid config.
        JobError: when the queue is full or a setting in the environment is invalid.

    Example:
        >>> run_id = submit({"dataset": "digits", "max_samples": 200, "epochs": 1})
        >>> status(run_id)["status"] in ("queued", "running")
        True
    """
    from imgrec import training

    if isinstance(config, training.TrainConfig):
        config = config.to_dict()
    if not isinstance(config, dict):
        raise JobError("A run needs a TrainConfig or a dict of training settings.")
    # A round trip through from_dict validates every setting and guarantees the file the
    # worker reads back is exactly what was checked here.
    settings = training.TrainConfig.from_dict(config).to_dict()
    limit_seconds = time_limit()
    threads_per_run()  # A bad IMGREC_MAX_RUNS or IMGREC_RUN_THREADS fails here, in front of the user.
    root = _root(runs_dir)
    with _locked(root):
        waiting = sum(1 for _, _, state in _scan(root) if state["status"] == QUEUED)
        if waiting >= MAX_QUEUED:
            raise JobError(f"The queue is full ({waiting} runs waiting); try again when some have finished.")
        run_id = _new_run_id(root)
        # Built under a hidden name and renamed whole, so nobody ever sees half a run folder.
        staging = root / f".tmp-{run_id}"
        staging.mkdir()
        try:
            _write_json(staging / CONFIG_FILE, settings)
            _write_json(staging / STATUS_FILE, {
                "status": QUEUED, "reason": None, "pid": None, "created": time.time(), "started": None,
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
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The ids of the runs it started.
    """
    root = _root(runs_dir)
    _reap_children()
    if not root.is_dir():
        return []
    with _locked(root):
        return _pump_locked(root)[1]


def recover(*, runs_dir=None):
    """Cleans up after a crash or restart; call once when the app or a service starts.

    Marks runs left "running" by a dead process as failed ("The worker process died (killed
    or crashed).", or cancelled when a cancel was pending), removes temporary files and
    half-built or half-deleted run folders, then starts queued runs.

    Args:
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        `{"ended": [ids], "started": [ids], "removed": count of temporary files and folders}`.
    """
    root = _root(runs_dir)
    if not root.is_dir():
        return {"ended": [], "started": [], "removed": 0}
    removed = 0
    with _locked(root):
        ended, started = _pump_locked(root)
        for entry in os.scandir(root):
            if entry.name.startswith((".tmp-", ".deleting-")) and not entry.is_symlink():
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        for _, folder, state in _scan(root):
            # A live worker may be between writing a temporary file and renaming it.
            if state["status"] == RUNNING:
                continue
            for temp in folder.glob(".*.tmp"):
                temp.unlink(missing_ok=True)
                removed += 1
    return {"ended": ended, "started": started, "removed": removed}


def _public_status(run_id, state, queued):
    """Adds what readers want beside the file: the id and, for a queued run, its place in line."""
    view = dict(state)
    view["id"] = run_id
    if state["status"] == QUEUED:
        order = [other_id for other_id, _, _ in _oldest_first(queued)]
        view["queue_position"] = order.index(run_id) + 1 if run_id in order else None
    else:
        view.pop("queue_position", None)
    return view


def _needs_settling(folder, state):
    """Says whether a running run needs `pump`: its worker died, or ignores a stop past its grace."""
    if state["status"] != RUNNING:
        return False
    if not _worker_alive(state):
        return True
    try:
        if time.time() - (folder / CANCEL_FILE).stat().st_mtime > CANCEL_GRACE:
            return True
    except FileNotFoundError:
        pass
    limit = state.get("time_limit") or DEFAULT_TIME_LIMIT
    return time.time() > (state.get("started") or math.inf) + limit + TIME_LIMIT_GRACE


def _read_state(run_id, root):
    folder = _run_folder(run_id, root)
    state = _read_json(folder / STATUS_FILE)
    if state is None or state.get("status") not in STATES:
        raise JobError(f"The status file of run {run_id} is unreadable; delete the run.")
    if _needs_settling(folder, state):
        # Whoever looks settles it, so a page that only polls still ends dead or stuck workers.
        pump(runs_dir=root)
        state = _read_json(folder / STATUS_FILE) or state
    return folder, state


def status(run_id, *, runs_dir=None):
    """Returns the status of one run.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The dict of `status.json`: `status` (queued, running, done, failed or cancelled),
        `reason` (a sentence, or None), `pid`, `created`, `started`, `finished` (Unix
        seconds), `time_limit`, `threads`, `seconds` once finished, `test_accuracy` when
        done; while running, `phase` ("starting" while TensorFlow loads, "training",
        "evaluating"); plus `id` and, for a queued run, `queue_position` (1 starts next;
        computed when read, so it is never stale).

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = _root(runs_dir)
    _, state = _read_state(run_id, root)
    queued = [run for run in _scan(root) if run[2]["status"] == QUEUED] if state["status"] == QUEUED else []
    return _public_status(run_id, state, queued)


def queue_position(run_id, *, runs_dir=None):
    """Returns a queued run's place in line (1 starts next), or None when it is not queued.

    Raises:
        JobError: for an invalid or unknown id.
    """
    return status(run_id, runs_dir=runs_dir).get("queue_position")


CONFIG_SUMMARY_KEYS = ("architecture", "dataset", "epochs", "max_samples", "batch_size", "optimizer", "learning_rate")


def list_runs(runs_dir=None):
    """Lists every run, newest first.

    Args:
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        A list of `status()` dicts, each with a `config` summary (architecture, dataset,
        epochs, max_samples, batch_size, optimizer, learning_rate).
    """
    root = _root(runs_dir)
    runs = _scan(root)
    if any(_needs_settling(folder, state) for _, folder, state in runs):
        pump(runs_dir=root)
        runs = _scan(root)
    queued = [run for run in runs if run[2]["status"] == QUEUED]
    listed = []
    for run_id, folder, state in sorted(runs, key=lambda run: (run[2].get("created") or 0.0, run[0]), reverse=True):
        view = _public_status(run_id, state, queued)
        config = _read_json(folder / CONFIG_FILE) or {}
        view["config"] = {key: config.get(key) for key in CONFIG_SUMMARY_KEYS}
        listed.append(view)
    return listed


def read_config(run_id, *, runs_dir=None):
    """Returns a run's config as a dict of settings.

    Raises:
        JobError: for an invalid or unknown id.
    """
    folder = _run_folder(run_id, _root(runs_dir))
    return _read_json(folder / CONFIG_FILE) or {}


def read_metrics(run_id, since_line=0, *, runs_dir=None):
    """Returns the progress events a run logged since a line, for incremental polling.

    A line still being written (no newline yet) is left for the next call; a damaged line
    is skipped but counted, so `next_line` always moves past it.

    Args:
        run_id: the run's id.
        since_line: how many lines the caller has already read. Defaults to `0`.
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        `(events, next_line)`: a list of event dicts (`{"event": "batch" | "epoch" | "done",
        ...}`, see `training.train`, each with a Unix `time`), and the `since_line` to pass
        next time.

    Raises:
        JobError: for an invalid or unknown id.

    Example:
        >>> events, cursor = read_metrics(run_id)
        >>> more, cursor = read_metrics(run_id, cursor)
    """
    folder = _run_folder(run_id, _root(runs_dir))
    if isinstance(since_line, bool) or not isinstance(since_line, int) or since_line < 0:
        raise JobError(f"since_line must be a whole number of at least 0, got {since_line!r}.")
    try:
        data = (folder / METRICS_FILE).read_bytes()
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
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The dict of `metrics.from_probabilities` on the test split (`accuracy`, `macro_f1`,
        `per_class`, `confusion`, `roc_auc`, `roc_auc_per_class`, `class_names`, `n`) plus
        `dataset`, `split`, `source`; `misclassified` (up to 32 of the most confident
        mistakes: `index` into the test split of `datasets.load(dataset)`, `true`,
        `predicted`, their labels and `confidence`) and `misclassified_count`; `training`
        (history, seconds, samples, source...) and `model` (`sha256`, `file_size`).

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = _root(runs_dir)
    folder, state = _read_state(run_id, root)
    if state["status"] != DONE:
        return None
    return _read_json(folder / RESULT_FILE)


def cancel(run_id, *, wait=True, timeout=15.0, runs_dir=None):
    """Stops a run: a queued run at once, a running one within a few seconds.

    A running worker sees the `cancel` file at its next batch (it checks every 0.2 s) and
    stops cleanly; one that does not stop within 5 s (stuck loading data, say) gets SIGTERM,
    then SIGKILL 3 s later. A finished run is left as it is.

    Args:
        run_id: the run's id.
        wait: block until the run has stopped (or `timeout`). Defaults to `True`.
        timeout: seconds to wait at most. Defaults to `15.0`.
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The run's status after the request.

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = _root(runs_dir)
    folder = _run_folder(run_id, root)
    with _locked(root):
        state = _read_json(folder / STATUS_FILE) or {}
        if state.get("status") == QUEUED:
            _finish(folder, state, CANCELLED, "Cancelled before it started.")
        elif state.get("status") == RUNNING and not (folder / CANCEL_FILE).exists():
            atomic.write_bytes(folder / CANCEL_FILE, f"{time.time()}\n".encode())
    deadline = time.monotonic() + timeout
    next_pump = time.monotonic() + 0.5
    while True:
        view = status(run_id, runs_dir=root)
        if not wait or view["status"] != RUNNING or time.monotonic() >= deadline:
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
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The run's final status.

    Raises:
        JobError: for an invalid or unknown id, or when `timeout` passes first.
    """
    root = _root(runs_dir)
    deadline = None if timeout is None else time.monotonic() + timeout
    next_pump = 0.0
    while True:
        view = status(run_id, runs_dir=root)
        if view["status"] in FINISHED_STATES:
            return view
        if deadline is not None and time.monotonic() >= deadline:
            raise JobError(f"Run {run_id} is still {view['status']} after {timeout:g} s.")
        if time.monotonic() >= next_pump:
            pump(runs_dir=root)  # Keeps the queue moving and time limits enforced from outside.
            next_pump = time.monotonic() + 2.0
        time.sleep(poll)


def delete_run(run_id, *, runs_dir=None):
    """Deletes a run folder (a queued or finished run; not one that is running).

    Raises:
        JobError: for an invalid or unknown id, or a running run.
    """
    root = _root(runs_dir)
    folder = _run_folder(run_id, root)
    with _locked(root):
        state = _read_json(folder / STATUS_FILE) or {}
        if state.get("status") == RUNNING:
            raise JobError(f"Run {run_id} is running; cancel it first.")
        # Renamed away under the lock first: nobody can start or read a half-deleted run.
        doomed = root / f".deleting-{run_id}"
        os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _checked_model_bytes(run_id, folder, outcome):
    from imgrec import registry

    try:
        with open(folder / MODEL_FILE, "rb") as handle:
            data = handle.read(registry.MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        raise JobError(f"Run {run_id} has no model file (only a finished run has one).") from None
    if hashlib.sha256(data).hexdigest() != (outcome.get("model") or {}).get("sha256"):
        raise JobError(f"The model file of run {run_id} was changed or damaged since it was trained.")
    return data


def model_bytes(run_id, *, runs_dir=None):
    """Returns a finished run's `model.keras` bytes, checked against the sha256 the worker recorded.

    Raises:
        JobError: for an invalid or unknown id, a run without a model, or a changed file.
    """
    folder, _ = _read_state(run_id, _root(runs_dir))
    outcome = _read_json(folder / RESULT_FILE)
    if outcome is None:
        raise JobError(f"Run {run_id} has no result yet; only a finished run has a model.")
    return _checked_model_bytes(run_id, folder, outcome)


def load_run_model(run_id, *, runs_dir=None):
    """Loads a finished run's model through the registry's checks (allow-list, safe mode)."""
    from imgrec import registry

    return registry.load_keras_bytes(model_bytes(run_id, runs_dir=runs_dir), f"run {run_id}")


def save_run_as_model(run_id, name, *, overwrite=False, runs_dir=None):
    """Saves a finished run's model in the registry, with a model card rebuilt from the run folder.

    The run's `model.keras` is checked against the sha256 recorded when it was written,
    then loaded through `registry.load_keras_bytes` (allow-list, safe mode); nothing is
    unpickled.

    Args:
        run_id: the run's id.
        name: the registry name (see `registry.validate_name`).
        overwrite: replace an existing (unshipped) model of that name. Defaults to `False`.
        runs_dir: the runs folder. Defaults to `runs_dir()`.

    Returns:
        The model card as saved.

    Raises:
        JobError: for an invalid or unknown id, or a run that is not done (failed runs,
            non-finite runs and cancelled runs have no model).
        registry.RegistryError: for a bad or taken name, or a model file that fails a check.
    """
    from imgrec import registry, training

    registry.validate_name(name)
    root = _root(runs_dir)
    folder, state = _read_state(run_id, root)
    if state["status"] != DONE:
        why = f" ({state['reason']})" if state.get("reason") else ""
        raise JobError(f"Run {run_id} is {state['status']}{why}; only a finished (done) run can be saved as a model.")
    outcome = _read_json(folder / RESULT_FILE)
    config = _read_json(folder / CONFIG_FILE)
    if outcome is None or config is None:
        raise JobError(f"Run {run_id} lacks its result or config file; it cannot be saved.")
    model = registry.load_keras_bytes(_checked_model_bytes(run_id, folder, outcome), name)
    trained = outcome["training"]
    # card_for_training reads a TrainResult; rebuild one from the run's files.
    result_view = training.TrainResult(
        model=model,
        config=training.TrainConfig.from_dict(config),
        history=trained["history"],
        seconds=trained["seconds"],
        samples_per_second=trained["samples_per_second"],
        cancelled=False,
        class_names=tuple(trained["class_names"]),
        input_shape=tuple(trained["input_shape"]),
        dataset_source=trained["dataset_source"],
        train_samples=trained["train_samples"],
        validation_samples=trained["validation_samples"],
    )
    card = registry.card_for_training(result_view, outcome)
    card["training"]["run_id"] = run_id
    return registry.save(model, name, card, overwrite=overwrite)


# ---------------------------------------------------------------------------------------
# The worker: runs in its own process, started by `pump`.


class StopCheck:
    """The `should_stop` callable of a worker: a cancel file or the time limit ends the run.

    Checked by the training loop after every batch, so it stats the file at most every
    `interval` seconds; once it has said stop, it keeps saying so.

    Args:
        cancel_path: the run's `cancel` file.
        deadline: Unix time at which the run's time limit is reached.
        interval: seconds between looks. Defaults to `0.2`.
    """

    def __init__(self, cancel_path, deadline, interval=CANCEL_POLL_SECONDS):
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
    training = sys.modules.get("imgrec.training")
    datasets = sys.modules.get("imgrec.datasets")
    if training is not None and isinstance(error, training.NonFiniteError):
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


class TensorBoardScalars:
    """Writes a run's progress events as TensorBoard scalars, in the layout of Keras's TensorBoard callback.

    Keras's callback needs the `tensorboard` package for `tf.summary.scalar`; TensorFlow's core
    `tf.summary.write` with the scalars plugin's metadata writes the same event files without it.
    Epoch values go to `train/` and `validation/` as `epoch_loss`, `epoch_accuracy`; the
    throttled batch values to `train/` as `batch_loss`, `batch_accuracy` by global step.

    Args:
        log_dir: the folder for the logs (`runs/<id>/tb`).
    """

    def __init__(self, log_dir):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        self._tf = tf
        self._metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        self._writers = {
            "train": tf.summary.create_file_writer(str(pathlib.Path(log_dir) / "train")),
            "validation": tf.summary.create_file_writer(str(pathlib.Path(log_dir) / "validation")),
        }

    def _scalar(self, writer, tag, value, step):
        if isinstance(value, int | float) and not isinstance(value, bool):
            with self._writers[writer].as_default():
                self._tf.summary.write(tag, self._tf.constant(value, self._tf.float32), step=step,
                                       metadata=self._metadata)

    def write(self, event):
        """Writes the scalars of one `training.train` progress event."""
        if event.get("event") == "epoch":
            for key in ("loss", "accuracy"):
                self._scalar("train", f"epoch_{key}", event.get(key), event["epoch"])
                self._scalar("validation", f"epoch_{key}", event.get(f"val_{key}"), event["epoch"])
        elif event.get("event") == "batch":
            for key in ("loss", "accuracy"):
                self._scalar("train", f"batch_{key}", event.get(key), event["step"])

    def close(self):
        """Flushes and closes the event files."""
        for writer in self._writers.values():
            writer.close()


def _configure_process():
    """Lowers the worker's priority and sets TensorFlow's thread pools before TF starts."""
    with contextlib.suppress(OSError):
        # A little lower than the web server, so pages stay responsive while runs train.
        os.nice(5)
    threads = threads_per_run()
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
        with contextlib.suppress(Exception), _locked(root):
            state = _read_json(folder / STATUS_FILE) or {}
            if state.get("status") == RUNNING and state.get("pid") == os.getpid():
                _finish(folder, state, FAILED, _time_limit_reason(state.get("time_limit") or DEFAULT_TIME_LIMIT))
        os._exit(1)

    timer = threading.Timer(max(0.0, deadline + TIME_LIMIT_GRACE - time.time()), expire)
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
    validate_run_id(folder.name)
    root = folder.parent
    with _locked(root):
        state = _read_json(folder / STATUS_FILE) or {}
    if state.get("status") != RUNNING or state.get("pid") != os.getpid():
        return 0
    signal.signal(signal.SIGTERM, _on_sigterm)
    limit_seconds = state.get("time_limit") or DEFAULT_TIME_LIMIT
    deadline = (state.get("started") or time.time()) + limit_seconds
    timer = _watchdog(folder, root, deadline)
    try:
        _configure_process()
        outcome = _train_and_evaluate(folder, StopCheck(folder / CANCEL_FILE, deadline), limit_seconds)
    except _Terminated:
        outcome = (CANCELLED, "Cancelled.", {}) if (folder / CANCEL_FILE).exists() else (
            FAILED, "The worker process was stopped by a signal (SIGTERM).", {})
    except BaseException as error:  # noqa: B036 - every way out must leave a final status.
        outcome = (FAILED, failure_reason(error), {})
    finally:
        timer.cancel()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # Nothing may interrupt the final status write.
    with _locked(root):
        state = _read_json(folder / STATUS_FILE) or state
        if state.get("status") == RUNNING and state.get("pid") == os.getpid():
            status_name, reason, extra = outcome
            _finish(folder, state, status_name, reason, **extra)
    with contextlib.suppress(Exception):
        pump(runs_dir=root)
    return 0


def _set_phase(folder, phase):
    """Records what a running worker is doing, for the page to show (starting, training, evaluating)."""
    with _locked(folder.parent):
        state = _read_json(folder / STATUS_FILE) or {}
        if state.get("status") == RUNNING and state.get("pid") == os.getpid():
            state["phase"] = phase
            _write_json(folder / STATUS_FILE, state)


def _train_and_evaluate(folder, should_stop, limit_seconds):
    """Trains, evaluates and writes the model and results.

    Returns:
        `(status, reason, extra_status_fields)` for the final status.
    """
    from imgrec import registry, training

    if (folder / CANCEL_FILE).exists():
        return CANCELLED, "Cancelled before training started.", {}
    config_values = _read_json(folder / CONFIG_FILE)
    if config_values is None:
        return FAILED, "The run's config.json is missing or is not a JSON object.", {}
    config = training.TrainConfig.from_dict(config_values)
    tensorboard = TensorBoardScalars(folder / TENSORBOARD_DIR)
    first_event = [True]
    with open(folder / METRICS_FILE, "a", encoding="utf-8") as log:

        def on_progress(event):
            if first_event[0]:
                first_event[0] = False
                _set_phase(folder, "training")
            line = json.dumps(_json_ready({**event, "time": round(time.time(), 3)}), allow_nan=False)
            log.write(line + "\n")
            log.flush()  # Readers poll the file: each event must be visible as soon as it exists.
            tensorboard.write(event)

        try:
            trained = training.train(config, on_progress=on_progress, should_stop=should_stop)
        finally:
            tensorboard.close()
    if trained.cancelled and should_stop.why == "time":
        return FAILED, _time_limit_reason(limit_seconds), {}
    if trained.cancelled:
        return CANCELLED, f"Cancelled after {len(trained.history)} of {config.epochs} epochs.", {}
    _set_phase(folder, "evaluating")
    report = _evaluate(trained)
    if (folder / CANCEL_FILE).exists():
        return CANCELLED, "Cancelled while evaluating.", {}
    data = registry.model_bytes(trained.model)
    atomic.write_bytes(folder / MODEL_FILE, data)
    report["model"] = {"file": MODEL_FILE, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data)}
    _write_json(folder / RESULT_FILE, report)
    return DONE, None, {"test_accuracy": report["accuracy"], "train_seconds": round(trained.seconds, 3)}


def _evaluate(trained):
    """Measures a trained model on its dataset's test split, keeping the most confident mistakes."""
    import numpy as np

    from imgrec import datasets, inference, metrics

    config = trained.config
    dataset = datasets.load(config.dataset)
    images, labels = metrics.split_arrays(dataset, "test")
    # The steps of metrics.evaluate, kept apart so the probabilities also give the mistakes.
    probabilities = inference.predict_probabilities(trained.model, images)
    report = metrics.from_probabilities(labels, probabilities, dataset.class_names)
    report.update({"dataset": dataset.name, "split": "test", "source": dataset.source})
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    kept = wrong[np.argsort(-confidence, kind="stable")[:MISCLASSIFIED_KEPT]]
    names = [str(name) for name in dataset.class_names]
    report["misclassified"] = [
        {
            "index": int(index),
            "true": int(labels[index]),
            "predicted": int(predicted[index]),
            "true_label": names[int(labels[index])],
            "predicted_label": names[int(predicted[index])],
            "confidence": float(probabilities[index, predicted[index]]),
        }
        for index in kept
    ]
    report["misclassified_count"] = int(len(wrong))
    report["training"] = {
        "seconds": trained.seconds,
        "samples_per_second": trained.samples_per_second,
        "train_samples": trained.train_samples,
        "validation_samples": trained.validation_samples,
        "dataset_source": trained.dataset_source,
        "class_names": list(trained.class_names),
        "input_shape": list(trained.input_shape),
        "history": trained.history,
    }
    return report


# ---------------------------------------------------------------------------------------
# The command line: `python -m imgrec runs ...` (wired by add_cli) and `python -m imgrec.jobs`.


def add_cli(subparsers):
    """Adds the `runs` command and its actions to an argparse subparsers object.

    Handlers raise `JobError` (and `training.ConfigError`, `registry.RegistryError`) for
    user errors; the caller prints them as one line and exits with status 2.

    Args:
        subparsers: what `parser.add_subparsers()` returned.

    Returns:
        The `runs` parser.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_cli(parser.add_subparsers(dest="command"))  # doctest: +ELLIPSIS
        ArgumentParser(...)
    """
    runs = subparsers.add_parser("runs", help="background training runs: list, submit, show, cancel, wait, save")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(func=cmd_runs_list)
    actions = runs.add_subparsers(dest="runs_action", metavar="ACTION")
    # An action's --json only sets the value when given, so `runs --json show ID` works too.
    json_flag = {"action": "store_true", "default": argparse.SUPPRESS, "help": "print JSON"}

    submit_parser = actions.add_parser("submit", help="queue a run from a JSON config file or a preset")
    submit_parser.add_argument("config", nargs="?", metavar="CONFIG.json")
    submit_parser.add_argument("--preset", metavar="NAME")
    submit_parser.add_argument("--epochs", type=int)
    submit_parser.add_argument("--max-samples", type=int)
    submit_parser.add_argument("--json", **json_flag)
    submit_parser.set_defaults(func=cmd_runs_submit)

    show_parser = actions.add_parser("show", help="status, reason, latest metrics and test accuracy of a run")
    show_parser.add_argument("run_id", metavar="ID")
    show_parser.add_argument("--json", **json_flag)
    show_parser.set_defaults(func=cmd_runs_show)

    cancel_parser = actions.add_parser("cancel", help="stop a queued or running run")
    cancel_parser.add_argument("run_id", metavar="ID")
    cancel_parser.add_argument("--json", **json_flag)
    cancel_parser.set_defaults(func=cmd_runs_cancel)

    wait_parser = actions.add_parser("wait", help="block until a run ends; exit 0 when done, 1 when not")
    wait_parser.add_argument("run_id", metavar="ID")
    wait_parser.add_argument("--timeout", type=float, metavar="S")
    wait_parser.add_argument("--json", **json_flag)
    wait_parser.set_defaults(func=cmd_runs_wait)

    save_parser = actions.add_parser("save", help="save a finished run's model in the registry")
    save_parser.add_argument("run_id", metavar="ID")
    save_parser.add_argument("--name", required=True)
    save_parser.add_argument("--overwrite", action="store_true")
    save_parser.add_argument("--json", **json_flag)
    save_parser.set_defaults(func=cmd_runs_save)

    delete_parser = actions.add_parser("delete", help="delete a run folder (not while it runs)")
    delete_parser.add_argument("run_id", metavar="ID")
    delete_parser.set_defaults(func=cmd_runs_delete)
    return runs


def _print_json(value):
    print(json.dumps(_json_ready(value), indent=2, allow_nan=False))


def _quiet_tensorflow_import():
    """Imports TensorFlow with its start-up banner silenced, as the main CLI does."""
    with contextlib.suppress(ImportError, AttributeError):
        from imgrec.__main__ import quiet_tensorflow_import

        quiet_tensorflow_import()


def _format_percent(value):
    return f"{value * 100:.2f}%" if isinstance(value, int | float) else "-"


def cmd_runs_list(args):
    """`runs [--json]`: one line per run, newest first."""
    runs = list_runs()
    if getattr(args, "json", False):
        _print_json(runs)
        return 0
    if not runs:
        print("no runs yet; start one with `python -m imgrec runs submit --preset quickstart`")
        return 0
    rows = [("id", "status", "architecture", "dataset", "epochs", "test accuracy", "note")]
    for run in runs:
        config = run["config"]
        note = f"position {run['queue_position']} in queue" if run.get("queue_position") else (run.get("reason") or "")
        rows.append((run["id"], run["status"], str(config.get("architecture")), str(config.get("dataset")),
                     str(config.get("epochs")), _format_percent(run.get("test_accuracy")), note))
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]).rstrip())
    return 0


def _config_from_args(args):
    from imgrec import training

    if bool(args.preset) == bool(args.config):
        raise JobError("Give exactly one of CONFIG.json or --preset NAME.")
    if args.preset:
        values = training.preset(args.preset).to_dict()
    else:
        path = pathlib.Path(args.config)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError):
            raise JobError(f"{args.config}: no such file.") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise JobError(f"{args.config}: not a JSON file.") from None
        if not isinstance(values, dict):
            raise JobError(f"{args.config}: a config must be a JSON object of settings.")
    if args.epochs is not None:
        values["epochs"] = args.epochs
    if args.max_samples is not None:
        values["max_samples"] = args.max_samples
    return values


def cmd_runs_submit(args):
    """`runs submit (CONFIG.json | --preset NAME) [--epochs N] [--max-samples N] [--json]`: prints the id."""
    _quiet_tensorflow_import()  # TrainConfig lives beside Keras; its import must not spray stderr.
    run_id = submit(_config_from_args(args))
    if getattr(args, "json", False):
        _print_json({"id": run_id})
    else:
        print(run_id)
    return 0


def _last_events(run_id):
    events, _ = read_metrics(run_id)
    last = {}
    for event in events:
        last[event.get("event")] = event
    return {kind: last[kind] for kind in ("batch", "epoch") if kind in last}


def _show_view(run_id):
    view = status(run_id)
    view["last_metrics"] = _last_events(run_id)
    view["config"] = read_config(run_id)
    return view


def _print_status_line(view):
    line = f"{view['id']}  {view['status']}"
    if view.get("queue_position"):
        line += f"  (position {view['queue_position']} in queue)"
    if view["status"] == DONE:
        line += f"  test accuracy {_format_percent(view.get('test_accuracy'))}"
    if view.get("reason"):
        line += f"  {view['reason']}"
    print(line)


def cmd_runs_show(args):
    """`runs show ID [--json]`: status, reason, latest metrics and, when done, test accuracy."""
    view = _show_view(args.run_id)
    if getattr(args, "json", False):
        _print_json(view)
        return 0
    _print_status_line(view)
    config = view["config"]
    print(f"  {config.get('architecture')} on {config.get('dataset')}, {config.get('epochs')} epochs, "
          f"{config.get('optimizer')} at learning rate {config.get('learning_rate')}")
    for kind, event in view["last_metrics"].items():
        where = f"epoch {event.get('epoch')}" + (f" batch {event.get('batch')}" if kind == "batch" else "")
        values = "  ".join(f"{key} {event[key]:.4f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                           if isinstance(event.get(key), int | float))
        print(f"  last {kind}: {where}  {values}")
    return 0


def cmd_runs_cancel(args):
    """`runs cancel ID`: stops a run and prints its final status."""
    view = cancel(args.run_id)
    if getattr(args, "json", False):
        _print_json(view)
    else:
        _print_status_line(view)
    return 0


def cmd_runs_wait(args):
    """`runs wait ID [--timeout S]`: exits 0 when the run is done, 1 when it failed or was cancelled."""
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout >= 0):
        raise JobError("--timeout must be a number of seconds of at least 0.")
    view = wait(args.run_id, timeout=args.timeout)
    if getattr(args, "json", False):
        _print_json(view)
    else:
        _print_status_line(view)
    return 0 if view["status"] == DONE else 1


def cmd_runs_save(args):
    """`runs save ID --name NAME [--overwrite]`: saves a done run's model in the registry."""
    _quiet_tensorflow_import()
    card = save_run_as_model(args.run_id, args.name, overwrite=args.overwrite)
    if getattr(args, "json", False):
        _print_json(card)
    else:
        print(f"saved run {args.run_id} as model {card['name']} "
              f"(test accuracy {_format_percent(card['metrics']['test_accuracy'])})")
    return 0


def cmd_runs_delete(args):
    """`runs delete ID`: removes a run folder."""
    delete_run(args.run_id)
    print(f"deleted run {args.run_id}")
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise JobError(f"{self.prog}: {message}")


def _user_errors():
    # Only modules already imported can have raised their errors; importing the rest here
    # would pull in TensorFlow just to print a message.
    types = [JobError]
    for module_name, class_name in (("imgrec.training", "ConfigError"), ("imgrec.registry", "RegistryError"),
                                    ("imgrec.datasets", "DatasetUnavailable")):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, class_name):
            types.append(getattr(module, class_name))
    return tuple(types)


def main(argv=None):
    """`python -m imgrec.jobs {worker RUN_DIR | runs ...}`; user errors exit 2 with one line on stderr."""
    parser = _Parser(prog="python -m imgrec.jobs", description="Background training runs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    worker = commands.add_parser("worker", help="train one run folder (started by pump, not by hand)")
    worker.add_argument("run_dir", metavar="RUN_DIR")
    worker.set_defaults(func=lambda args: run_worker(args.run_dir))
    add_cli(commands)
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except BrokenPipeError:
        return 0
    except Exception as error:
        if isinstance(error, _user_errors()):
            print(f"error: {error}", file=sys.stderr)  # The main CLI's contract: one line, starting "error:".
            return 2
        raise


if __name__ == "__main__":
    # Run through the imported module, so the worker and its pump share one copy of the module state.
    from imgrec import jobs

    sys.exit(jobs.main())
