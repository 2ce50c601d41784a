"""Run folders: run ids, the files a run folder holds, its states, and reading and writing them under the lock.

A run is `runs/<id>/`:

```
config.json     the TrainConfig, as submitted
status.json     {"status": queued|running|done|failed|cancelled, "reason", "pid", "created", ...}
metrics.jsonl   one JSON line per progress event of `training.train` (batch, epoch, done)
tb/             TensorBoard logs
model.keras     the trained model (done runs only; never for a non-finite run)
result.json     test-split metrics, the most confident mistakes and what a model card needs
cancel          present once someone asked the run to stop
worker.log      the worker's stdout and stderr (on Ray, the tail of the job's log), for post-mortems
```

A run on a Ray cluster trains in a scratch copy of this folder on its worker node; its files
come back through Ray (`mirror`), so this folder stays the one source of truth either way.

Every JSON file is written atomically (`imgrec.atomic`), so a reader polling from another
process never sees half a file. State transitions happen under the lock of the runs folder
(`runs/.lock`), so any number of web-server sessions, CLI processes and workers can submit,
start, cancel and recover runs at the same time.
"""

import os
import pathlib
import re
import secrets
import time

from imgrec import atomic, paths, texts
from imgrec.jobs import errors

RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED_STATES = (DONE, FAILED, CANCELLED)
# How a sentence says a run is in each state: "Run X failed", never "Run X is failed".
STATE_PHRASES = {QUEUED: "is waiting in the queue", RUNNING: "is still training", DONE: "finished",
                 FAILED: "failed", CANCELLED: "was cancelled"}

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
RESULT_FILE = "result.json"
MODEL_FILE = "model.keras"
CANCEL_FILE = "cancel"
LOG_FILE = "worker.log"
TENSORBOARD_DIR = "tb"
LOCK_FILE = ".lock"
DAMAGED_SUFFIX = ".damaged"
DAMAGED_REASON = ("The run's status.json was missing or damaged, so how it ended is unknown; its files are kept "
                  "for inspection.")


def validate_run_id(run_id):
    """Checks a run id against `^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$` before it touches any path.

    Returns:
        The id itself.

    Raises:
        JobError: for anything else (paths, dots, NUL bytes, upper case...).
    """
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise texts.said(errors.JobError, "errors_jobs.invalid_run_id", shown=repr(run_id)[:80])
    return run_id


def root_of(runs_dir):
    """Returns the runs folder to use: `runs_dir` when given, else `paths.runs_dir()`."""
    return pathlib.Path(runs_dir) if runs_dir is not None else paths.runs_dir()


def find(run_id, root):
    """Returns the folder of an existing run.

    Raises:
        JobError: for an invalid id, or one with no run folder (or a symlinked one).
    """
    validate_run_id(run_id)
    folder = root / run_id
    # A symlinked run folder could point anywhere on the server; only real folders count.
    if folder.is_symlink() or not (folder / STATUS_FILE).is_file():
        raise texts.said(errors.JobError, "errors_jobs.no_run", run_id=run_id)
    return folder


def new_run_id(root):
    """Returns an id that no folder in `root` has yet: the time now and six random hex digits."""
    while True:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        if not (root / run_id).exists():
            return run_id


def scan(root):
    """Returns `[(run_id, folder, status)]` for every readable run folder (unordered)."""
    return [run for run in _run_folders(root) if run[2] is not None]


def _run_folders(root):
    """Yields `(run_id, folder, status or None)` for every real folder in `root` named like a run.

    The status is None when `status.json` is missing, unreadable or names no known state.
    """
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not RUN_ID_PATTERN.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        folder = pathlib.Path(entry.path)
        state = atomic.read_json(folder / STATUS_FILE)
        yield entry.name, folder, state if state is not None and state.get("status") in STATES else None


def oldest_first(runs):
    """Returns `scan` entries ordered by creation time, oldest first (the queue's order)."""
    return sorted(runs, key=lambda run: (run[2].get("created") or 0.0, run[0]))


def write_json(path, value):
    """Replaces a run file with `value` as strict JSON (non-finite floats become null), atomically."""
    atomic.write_json(path, atomic.json_ready(value))


def read_config(run_id, *, runs_dir=None):
    """Returns a run's config as a dict of settings.

    Raises:
        JobError: for an invalid or unknown id.
    """
    folder = find(run_id, root_of(runs_dir))
    return atomic.read_json(folder / CONFIG_FILE) or {}


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
    folder = find(run_id, root_of(runs_dir))
    if isinstance(since_line, bool) or not isinstance(since_line, int) or since_line < 0:
        raise errors.JobError(f"since_line must be a whole number of at least 0, got {since_line!r}.")
    try:
        data = (folder / METRICS_FILE).read_bytes()
    except FileNotFoundError:
        return [], since_line
    complete = data.split(b"\n")[:-1]  # The last piece is empty or a line still being written.
    return atomic.json_objects(complete[since_line:]), max(since_line, len(complete))


def locked(root):
    """Holds the exclusive lock of a runs folder (`root/.lock`); re-entrant within one thread."""
    return atomic.locked(pathlib.Path(root) / LOCK_FILE)


def finish(folder, state, status, reason, **extra):
    """Writes a run's final status, with when it finished and how long it ran (call under the lock)."""
    now = time.time()
    state.pop("phase", None)
    state.update(status=status, reason=reason, finished=now, **extra)
    if state.get("started"):
        state["seconds"] = round(now - state["started"], 3)
    write_json(folder / STATUS_FILE, state)


def mark_damaged(root):
    """Marks each run folder whose status file is missing or unreadable as failed, so every run has a state.

    A damaged status file is kept beside the new one as `status.json.damaged`. Call under the lock.

    Returns:
        The ids of the runs marked.
    """
    marked = []
    for run_id, folder, state in _run_folders(root):
        if state is not None:
            continue
        if (folder / STATUS_FILE).is_file():
            os.replace(folder / STATUS_FILE, folder / (STATUS_FILE + DAMAGED_SUFFIX))
        write_json(folder / STATUS_FILE, {"status": FAILED, "reason": DAMAGED_REASON, "pid": None,
                                          "created": folder.stat().st_mtime, "started": None, "finished": time.time(),
                                          "time_limit": None})
        marked.append(run_id)
    return marked
