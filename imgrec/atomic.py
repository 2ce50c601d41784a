"""Files shared between processes: durable replacement, capped JSON reads and the one lock helper.

One implementation for every file a reader may be polling or loading at the same moment
(model files and cards, run status and metrics, search state, the data cache), so none of
them is ever seen half-written and a killed writer leaves the previous version intact;
one capped reader, so a huge or deeply nested file cannot take a listing down; and one
`flock` helper for the registry, the runs folder and searches.
"""

import contextlib
import fcntl
import json
import math
import os
import pathlib
import tempfile
import threading

# A status, result, card or search file is kilobytes; anything this large is refused unread.
MAX_JSON_BYTES = 16 * 1024 * 1024
# The locks this thread holds, by path: flock is per open file, so taking one lock twice in
# one thread would deadlock; a nested section reuses the outer hold instead.
_HELD = threading.local()


def fsync_folder(folder):
    """Makes a rename in `folder` durable; platforms that cannot open folders skip it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_temp(folder, prefix, suffix, data):
    """Writes bytes to a new fsynced temporary file in `folder` (mode 0644) and returns its path.

    The caller renames it into place (`os.replace`) when it is ready, possibly together with
    other files; a crash before that leaves only a temporary file to clean up.
    """
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    try:
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        pathlib.Path(temp_name).unlink(missing_ok=True)
        raise
    return pathlib.Path(temp_name)


def write_bytes(path, data):
    """Replaces the file at `path` with `data` atomically and durably.

    The temporary file is named `.NAME.*.tmp` beside the target, so cleaners can find leftovers.
    """
    path = pathlib.Path(path)
    temp_path = write_temp(path.parent, f".{path.name}.", ".tmp", data)
    try:
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def json_ready(value):
    """Returns `value` with non-finite floats replaced by None, so it is strict JSON a browser can parse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def write_json(path, value, indent=1):
    """Replaces `path` with `value` as JSON (NaN refused), atomically and durably."""
    text = json.dumps(value, indent=indent, allow_nan=False) + "\n"
    return write_bytes(path, text.encode("utf-8"))


def read_json(path, max_bytes=MAX_JSON_BYTES):
    """Returns the JSON object in a file, or None when it is missing, too large, unreadable or not an object.

    Args:
        path: the file.
        max_bytes: the most bytes read; a larger file counts as absent. Defaults to 16 MiB.

    Example:

    >>> read_json("/no/such/file.json") is None
    True
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if len(raw) > max_bytes:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: a prank file nested thousands deep must not take a listing down.
        return None
    return value if isinstance(value, dict) else None


def json_objects(lines):
    """Returns the JSON objects of JSON lines (bytes), in order; a damaged line or one that is not an object is skipped.

    For the logs that a writer appends to while readers poll them (a run's metrics): a reader
    passes only complete lines, and a damaged one must not stop it.

    Example:

    >>> json_objects([b'{"step": 1}', b"not json", b"", b"[1]", b'{"step": 2}'])
    [{'step': 1}, {'step': 2}]
    """
    objects = []
    for line in lines:
        if not line:
            continue
        try:
            value = json.loads(line)
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


@contextlib.contextmanager
def locked(lock_path, *, exclusive=True):
    """Holds an `flock` on a lock file (created if missing), re-entrant within one thread.

    Args:
        lock_path: the lock file, e.g. `models/.lock`; its folder is created if missing.
        exclusive: an exclusive (writer) lock, else a shared (reader) one. Defaults to `True`.

    Raises:
        RuntimeError: when an exclusive lock is asked for inside a shared hold of the same
            file (upgrading would deadlock against another reader doing the same).
    """
    lock_path = pathlib.Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    key = str(lock_path.resolve())
    held = _HELD.__dict__.setdefault("held", {})
    if key in held:
        depth, held_exclusive = held[key]
        if exclusive and not held_exclusive:
            raise RuntimeError(f"{lock_path} is held shared by this thread; it cannot be upgraded to exclusive.")
        held[key] = (depth + 1, held_exclusive)
        try:
            yield
        finally:
            held[key] = (held[key][0] - 1, held_exclusive)
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        held[key] = (1, exclusive)
        try:
            yield
        finally:
            del held[key]
            fcntl.flock(handle, fcntl.LOCK_UN)
