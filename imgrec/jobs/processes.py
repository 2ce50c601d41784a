"""Worker processes: starting one for a run, telling whether it is still the run's worker, signalling and reaping it."""

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

from imgrec import paths
from imgrec.jobs import folders

DIED_REASON = "The worker process died (killed or crashed)."

# Workers started by this process, so they are reaped (no zombies) as soon as they end.
_CHILDREN = {}
_CHILDREN_LOCK = threading.Lock()


def process_identity(pid):
    """Returns `(start_time, state)` of a process from /proc, or None where /proc has no entry."""
    try:
        text = pathlib.Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses; the fields after it do not.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[19], fields[0]  # Field 22 (start time, in clock ticks since boot), field 3 (state).


def reap_children():
    """Collects the exit status of every worker this process started that has ended."""
    with _CHILDREN_LOCK:
        for pid, process in list(_CHILDREN.items()):
            if process.poll() is not None:
                del _CHILDREN[pid]


def worker_alive(state):
    """Says whether the process recorded in a status is still the run's worker.

    A pid alone is not enough: it may belong to a zombie, or have been reused by another
    process since the worker died, so the start time recorded at launch must match too.
    """
    pid = state.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    reap_children()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # It exists but belongs to someone else: the identity check below decides.
    identity = process_identity(pid)
    if identity is None:
        return not pathlib.Path("/proc/self").exists()  # No /proc (macOS): trust kill(0).
    start, process_state = identity
    if process_state in ("Z", "X"):
        return False
    return state.get("pid_start") in (None, start)


def signal_worker(state, signal_number):
    """Sends a signal to a run's worker, if the process recorded in its status still is that worker."""
    if worker_alive(state):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(state["pid"], signal_number)


def worker_command(folder):
    """Returns the command line of the worker of a run folder (`imgrec/jobs/__main__.py`)."""
    return [sys.executable, "-m", "imgrec.jobs", "worker", str(folder)]


def start_detached(command, cwd, log_path):
    """Starts a background process of this checkout in a session of its own, its output appended to a log.

    Its own session: it survives the web server restarting, and a Ctrl-C in the terminal that
    started the server does not reach it. This process reaps it when it ends (no zombies).

    Args:
        command: the command line, e.g. `[sys.executable, "-m", "imgrec.jobs", "worker", RUN_DIR]`.
        cwd: its working folder.
        log_path: the file that receives its stdout and stderr.

    Returns:
        The `subprocess.Popen`.

    Raises:
        OSError: when it cannot start.
    """
    environment = dict(os.environ)
    # It must import this checkout of imgrec whatever its working folder.
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(paths.REPO_ROOT), environment.get("PYTHONPATH")) if part
    )
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=cwd, env=environment, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    with _CHILDREN_LOCK:
        _CHILDREN[process.pid] = process
    return process


def start_worker(folder, state, threads):
    """Starts the worker of a queued run and marks it running (call under the lock).

    Returns:
        True when the worker started; False when it could not, and the run is marked failed.
    """
    now = time.time()
    try:
        process = start_detached(worker_command(folder), folder, folder / folders.LOG_FILE)
    except OSError as error:
        state.update(status=folders.FAILED, reason=f"The worker process could not start: {error.strerror or error}.",
                     finished=now)
        folders.write_json(folder / folders.STATUS_FILE, state)
        return False
    identity = process_identity(process.pid)
    state.update(status=folders.RUNNING, phase="starting", pid=process.pid,
                 pid_start=identity[0] if identity else None, started=now, threads=threads,
                 executor="local", node_id=socket.gethostname())
    folders.write_json(folder / folders.STATUS_FILE, state)
    return True
