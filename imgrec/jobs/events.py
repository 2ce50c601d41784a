"""A run's progress events read incrementally: only the lines added since the last look, parsed once per process.

The worker appends one JSON line per event to `metrics.jsonl` (see `folders`): a batch event
four times a second, an epoch event per epoch, a final done event; a 30-minute run logs about
7,000 lines (1 MB). `read_events` reads from a byte offset, so a poll costs what the new lines
cost, not the whole file. `progress` keeps every watched run's parsed events in this process,
keyed on the file's size and modification time: ten browsers polling one run parse each new
line once between them, and a poll that finds the file unchanged costs one `stat`.
"""

import collections
import dataclasses
import threading

from imgrec import atomic
from imgrec.jobs import errors, folders

MAX_CACHED_RUNS = 32  # Runs whose events this process keeps (least recently watched dropped first), ~1 MB each at most.


@dataclasses.dataclass(frozen=True)
class Progress:
    """A run's progress events so far, in the order logged (shared between callers: read, never change).

    Attributes:
        epochs: the `{"event": "epoch", ...}` events, one per finished epoch.
        batches: the `{"event": "batch", ...}` events (four a second at most).
        done: the final `{"event": "done", ...}` event, or None while the run trains.
        version: `(size, mtime_ns)` of the metrics file when it was read; it changes whenever
            events are added, so it keys anything drawn from them.
    """

    epochs: tuple = ()
    batches: tuple = ()
    done: dict | None = None
    version: tuple = (0, 0)


def _read_from(path, offset):
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    # A line still being written (no newline yet) is left for the next look.
    complete = data.rfind(b"\n") + 1
    return atomic.json_objects(data[:complete].split(b"\n")), offset + complete


def read_events(run_id, offset=0, *, runs_dir=None):
    """Returns the progress events a run logged after a byte offset of its metrics file, for incremental polling.

    Args:
        run_id: the run's id.
        offset: the `next_offset` of the previous call. Defaults to `0` (from the start).
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        `(events, next_offset)`: the event dicts (`{"event": "batch" | "epoch" | "done", ...}`,
        see `training.train`, each with a Unix `time`) of the complete lines after `offset`, and
        the offset to pass next time. A damaged line is skipped; a partial last line is left.

    Raises:
        JobError: for an invalid or unknown id, or a bad offset.
    """
    folder = folders.find(run_id, folders.root_of(runs_dir))
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise errors.JobError(f"offset must be a whole number of at least 0, got {offset!r}.")
    return _read_from(folder / folders.METRICS_FILE, offset)


class _Entry:
    """One run's events as far as they were read, and where reading stopped."""

    def __init__(self):
        self.offset = 0
        self.epochs, self.batches, self.done = [], [], None
        self.snapshot = Progress()


_CACHE = collections.OrderedDict()  # (runs folder, run id) -> _Entry, least recently watched first.
_LOCK = threading.Lock()


def progress(run_id, *, runs_dir=None):
    """Returns a run's progress events so far, reading only what was added since this process last looked.

    Every caller in the process (each browser session watching the run) shares one parse of each
    line; while the file is unchanged a call costs a `stat`.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        A `Progress` (shared: do not change its events).

    Raises:
        JobError: for an invalid or unknown id.
    """
    root = folders.root_of(runs_dir)
    path = folders.find(run_id, root) / folders.METRICS_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return Progress()
    version = (stat.st_size, stat.st_mtime_ns)
    key = (str(root), run_id)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is None or stat.st_size < entry.offset:  # New to this process, or the file was replaced.
            entry = _CACHE[key] = _Entry()
        _CACHE.move_to_end(key)
        while len(_CACHE) > MAX_CACHED_RUNS:
            _CACHE.popitem(last=False)
        if entry.snapshot.version != version:
            events, entry.offset = _read_from(path, entry.offset)
            for event in events:
                kind = event.get("event")
                if kind == "epoch":
                    entry.epochs.append(event)
                elif kind == "batch":
                    entry.batches.append(event)
                elif kind == "done":
                    entry.done = event
            entry.snapshot = Progress(tuple(entry.epochs), tuple(entry.batches), entry.done, version)
        return entry.snapshot
