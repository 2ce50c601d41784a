"""The disk quota of the runs folder: its size, pruning the oldest finished runs to make room, and the log of each prune.

`IMGREC_RUNS_MAX_MB` caps the bytes of the files under `runs/`. When a run is submitted, and
when the app starts (`queue.recover`), a folder at its limit is brought under it by deleting
the oldest finished runs (done, failed or cancelled, by when they finished). A queued or
running run is never pruned, nor one being saved as a model: that save reads the run's files
under the runs folder's lock, which pruning holds too. Each pruned run is one JSON line in
`runs/pruned.log`, for an admin to read. When only unfinished runs are left over the limit, a
new run is refused with a sentence.
"""

import json
import os
import shutil
import time

from imgrec import texts
from imgrec.jobs import errors, folders

DEFAULT_MAX_MB = 2000  # IMGREC_RUNS_MAX_MB: about a thousand quickstart runs (1-2 MB each, most of it the model).
PRUNE_LOG = "pruned.log"


def max_bytes():
    """Returns the most bytes the runs folder may hold: `IMGREC_RUNS_MAX_MB` megabytes, else 2,000 MB; None for no limit.

    `IMGREC_RUNS_MAX_MB=0` turns the limit off.

    Raises:
        JobError: when the variable is not a whole number of at least 0.
    """
    text = os.environ.get("IMGREC_RUNS_MAX_MB", "").strip()
    if not text:
        return DEFAULT_MAX_MB * 10**6
    if not text.isdigit():
        raise texts.said(errors.JobError, "errors_jobs.runs_max_mb", text=text[:40])
    return int(text) * 10**6 or None


def folder_bytes(path):
    """Returns the bytes of every file under a folder (symbolic links are not followed)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except FileNotFoundError:  # Removed while we looked: it takes no room any more.
                continue
    return total


def make_room(root, *, refuse=True):
    """Prunes the oldest finished runs until the runs folder is under its limit (call under the runs lock).

    Args:
        root: the runs folder.
        refuse: raise when the folder is still at its limit after pruning. Defaults to `True`.

    Returns:
        The ids of the runs pruned, oldest first.

    Raises:
        JobError: when `refuse` and the folder is still at its limit: every run left is
            queued or running.
    """
    limit = max_bytes()
    if limit is None or not root.is_dir():
        return []
    used = folder_bytes(root)
    pruned = []
    finished = [run for run in folders.scan(root) if run[2]["status"] in folders.FINISHED_STATES]
    finished.sort(key=lambda run: (run[2].get("finished") or run[2].get("created") or 0.0, run[0]))
    for run_id, folder, state in finished:
        if used < limit:
            break
        size = folder_bytes(folder)
        # Renamed away first, as delete_run does: nobody sees a half-deleted run.
        doomed = root / f".deleting-{run_id}"
        os.rename(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        used -= size
        pruned.append(run_id)
        _log(root, {"time": round(time.time(), 3), "run": run_id, "status": state["status"], "bytes": size,
                    "finished": state.get("finished"), "folder_bytes_after": used, "limit_bytes": limit})
    if refuse and used >= limit:
        raise texts.said(errors.JobError, "errors_jobs.runs_folder_full", used=used / 1e6, limit=limit / 1e6)
    return pruned


def _log(root, entry):
    # Appended (one short line per prune, under the runs lock), so an admin can `tail` it.
    with open(root / PRUNE_LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def pruned_log(root):
    """Returns the entries of `runs/pruned.log`, oldest first; a damaged line is skipped."""
    try:
        lines = (root / PRUNE_LOG).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
