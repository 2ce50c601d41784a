"""Durable file replacement: write beside the target, fsync, rename over it, fsync the folder.

One implementation for every file a reader may be polling or loading at the same moment
(model files and cards, run status and metrics, search state, the data cache), so none of
them is ever seen half-written and a killed writer leaves the previous version intact.
"""

import json
import os
import pathlib
import tempfile


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


def write_json(path, value, indent=1):
    """Replaces `path` with `value` as JSON (NaN refused), atomically and durably."""
    text = json.dumps(value, indent=indent, allow_nan=False) + "\n"
    return write_bytes(path, text.encode("utf-8"))
