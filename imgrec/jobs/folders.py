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
worker.log      the worker's stdout and stderr, for post-mortems
```

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

from imgrec import atomic, paths
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


def validate_run_id(run_id):
    """Checks a run id against `^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$` before it touches any path.

    Returns:
        The id itself.

    Raises:
        JobError: for anything else (paths, dots, NUL bytes, upper case...).
    """
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise errors.JobError(f"Invalid run id {repr(run_id)[:80]}: run ids look like 20261121-203015-ab12cd.")
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
        raise errors.JobError(f"There is no run {run_id!r}; see `python -m imgrec runs` for the list.")
    return folder


def new_run_id(root):
    """Returns an id that no folder in `root` has yet: the time now and six random hex digits."""
    while True:
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        if not (root / run_id).exists():
            return run_id


def scan(root):
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
        state = atomic.read_json(folder / STATUS_FILE)
        if state is not None and state.get("status") in STATES:
            runs.append((entry.name, folder, state))
    return runs


def oldest_first(runs):
    """Returns `scan` entries ordered by creation time, oldest first (the queue's order)."""
    return sorted(runs, key=lambda run: (run[2].get("created") or 0.0, run[0]))


def write_json(path, value):
    """Replaces a run file with `value` as strict JSON (non-finite floats become null), atomically."""
    atomic.write_json(path, atomic.json_ready(value))


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
