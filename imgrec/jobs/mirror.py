"""A run folder as messages: what a Ray worker node sends of its scratch run folder, and how the app writes it back.

A run on Ray trains in a scratch folder on its worker node, with the same worker code as a
local run. `FolderMirror` turns what that folder gained since the last look into messages;
`apply` writes them into the app's run folder. Three kinds carry files:

- `append` (`metrics.jsonl`, the TensorBoard event files): bytes at an offset; applying them
  twice writes nothing new, so a drain interrupted by a crash can simply be repeated.
- `put` (`result.json`, `model.keras`): a whole file, replaced atomically.
- `status`: the worker's phase, and at the end its final status, reason and scores.

Only these paths are ever written, whatever a message says. Nothing here imports Ray.
"""

import os
import re

from imgrec import atomic
from imgrec.jobs import folders

APPEND_PATH = re.compile(r"^(metrics\.jsonl|tb/(train|validation)/events\.out\.tfevents\.[A-Za-z0-9._-]+)$")
PUT_PATHS = (folders.RESULT_FILE, folders.MODEL_FILE)  # The model last: result.json names its hash.
STATUS_KEYS = ("status", "reason", "phase", "test_accuracy", "train_seconds")
APPEND_CHUNK = 4 * 1024 * 1024  # A long run's TensorBoard file goes in pieces, never as one huge message.


class FolderMirror:
    """What a run folder gained since the last `collect()`, as messages (the worker node's side).

    Args:
        folder: the scratch run folder the worker trains in.
    """

    def __init__(self, folder):
        self.folder = folder
        self._offsets = {}  # Appended files: bytes already sent.
        self._signatures = {}  # Replaced files: (size, mtime) already sent.
        self._status_sent = None

    def _appended_files(self):
        names = [folders.METRICS_FILE]
        board = self.folder / folders.TENSORBOARD_DIR
        if board.is_dir():
            names += sorted(path.relative_to(self.folder).as_posix() for path in board.rglob("events.out.tfevents.*"))
        return [name for name in names if APPEND_PATH.fullmatch(name)]

    def collect(self):
        """Returns the messages that bring a copy of the folder up to date: appends, then whole files, then the status."""
        messages = []
        for name in self._appended_files():
            sent = self._offsets.get(name, 0)
            try:
                with open(self.folder / name, "rb") as handle:
                    handle.seek(sent)
                    while chunk := handle.read(APPEND_CHUNK):
                        messages.append({"kind": "append", "path": name, "offset": sent, "data": chunk})
                        sent += len(chunk)
            except FileNotFoundError:
                continue
            self._offsets[name] = sent
        for name in PUT_PATHS:
            try:
                stat = (self.folder / name).stat()
            except FileNotFoundError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            if self._signatures.get(name) != signature:
                messages.append({"kind": "put", "path": name, "data": (self.folder / name).read_bytes()})
                self._signatures[name] = signature
        state = atomic.read_json(self.folder / folders.STATUS_FILE) or {}
        view = {key: state[key] for key in STATUS_KEYS if key in state}
        if view != self._status_sent:
            messages.append({"kind": "status", "status": view})
            self._status_sent = view
        return messages


def _append(folder, name, offset, data):
    """Writes `data` at `offset` of a run file, skipping what the file already holds there (a repeated message)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        present = os.fstat(descriptor).st_size - offset
        if present < len(data):
            os.pwrite(descriptor, data[max(0, present):], offset + max(0, present))
    finally:
        os.close(descriptor)


def apply(folder, state, messages):
    """Writes a run's messages into its folder and its status dict (call under the runs lock; the caller saves the status).

    Args:
        folder: the app's run folder.
        state: the run's status dict, updated in place (phase, the worker node's host name and pid).
        messages: what `FolderMirror.collect` (and the worker's hello) sent, in order.

    Returns:
        `(status, reason, extra_fields)` when a message ended the run, else None.
    """
    final = None
    for message in messages:
        kind, name = message.get("kind"), message.get("path")
        offset = message.get("offset")
        if kind == "append" and isinstance(name, str) and APPEND_PATH.fullmatch(name) and isinstance(offset, int) \
                and offset >= 0:
            _append(folder, name, offset, bytes(message["data"]))
        elif kind == "put" and name in PUT_PATHS:
            atomic.write_bytes(folder / name, bytes(message["data"]))
        elif kind == "hello":
            state.update(node_host=message.get("hostname"), node_pid=message.get("pid"))
        elif kind == "status":
            remote = message.get("status") or {}
            if remote.get("phase"):
                state["phase"] = remote["phase"]
            if remote.get("status") in folders.FINISHED_STATES:
                extra = {key: remote[key] for key in ("test_accuracy", "train_seconds") if key in remote}
                final = (remote["status"], remote.get("reason"), extra)
    return final
