"""The search driver: a process of its own that advances one search until it ends; starting, restarting, waiting, cancelling.

A search is background work like a run. `submit` writes the search's file and starts its
driver, `python -m imgrec.search driver SEARCH_ID RUNS_DIR`, in a session of its own (as a
run's worker is started), so the search proceeds and finishes with no page open and outlives
a restart of the web server. The driver advances the search every `POLL_SECONDS` (records the
trials whose runs ended, submits new ones) and exits once the search has ended and none of its
runs is still queued or running. Its pid is kept in the search's file: `recover()` (at app
start) and every reader through `ensure_driver()` start a new one for a search whose driver
died (a reboot, a kill), so a search never stalls with a finished trial shown as running.
Pages and the CLI only read the file, or ask the driver to stop by cancelling the search.
"""

import contextlib
import os
import pathlib
import signal
import sys
import threading
import time

from imgrec import paths
from imgrec.jobs import processes
from imgrec.search import space as search_space
from imgrec.search import state

POLL_SECONDS = 1.0  # How often a driver advances its search: a trial's end is recorded within about a second.
# A driver that died this soon after it started is not restarted by a reader until this has
# passed, so a driver that cannot run (a broken file, a full disk) is not started on every look.
RESTART_AFTER_SECONDS = 10.0


def _root(runs_dir):
    return pathlib.Path(runs_dir) if runs_dir is not None else paths.runs_dir()


def log_path(search_id, root):
    """Returns the file that receives a search driver's output: `runs/search-<id>.log`."""
    return root / f"{state.validate_search_id(search_id)}.log"


def driver_command(search_id, root):
    """Returns the command line of a search's driver (`imgrec/search/__main__.py`)."""
    return [sys.executable, "-m", "imgrec.search", "driver", search_id, str(root)]


def driver_alive(search):
    """Says whether the driver process recorded in a search's file is still alive (and still that process)."""
    return processes.worker_alive(search.driver or {})


def needs_driver(search):
    """Says whether a search still has work for a driver: trials to submit, or runs whose end is not yet recorded."""
    return not search.settled


def submit(kind, space, budget, base_config, *, seed=0, concurrency=None, runs_dir=None):
    """Creates a search and starts its driver; the search then runs with no page or terminal open.

    Args:
        kind: "grid", "random" or "bayesian".
        space: a `SearchSpace`.
        budget: trials to run, 1 to 100.
        base_config: a `TrainConfig` or dict that every trial starts from (see `Search.create`).
        seed: seeds the samplers. Defaults to `0`.
        concurrency: most trials in flight at once. Defaults to `jobs.max_runs()`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The new search's id, e.g. `"search-20261121-203015-ab12cd"`.

    Raises:
        SearchError: for a bad kind, budget, space or concurrency, or no validation data.
        training.ConfigError: for a base config that cannot train.
    """
    root = _root(runs_dir)
    created = state.Search.create(kind, space, budget, base_config, seed=seed, concurrency=concurrency,
                                  runs_dir=root)
    ensure_driver(created.id, runs_dir=root)
    return created.id


def _may_start(search):
    """Says whether a search needs a new driver now: work is left, none is alive, the last did not just start."""
    if not needs_driver(search) or driver_alive(search):
        return False
    return time.time() - (search.driver or {}).get("started", 0.0) >= RESTART_AFTER_SECONDS


def ensure_driver(search_id, *, runs_dir=None):
    """Starts a driver for a search that needs one and has none alive; cheap enough to call on every look.

    Returns:
        True when it started a driver.

    Raises:
        SearchError: for a bad or unknown id, or a driver that cannot start.
    """
    root = _root(runs_dir)
    search = state.Search.load(search_id, runs_dir=root)
    if not _may_start(search):
        return False
    with search.editing():
        # Looked at again under the lock: two readers must not start two drivers.
        if not _may_start(search):
            return False
        try:
            process = processes.start_detached(driver_command(search.id, root), root, log_path(search.id, root))
        except OSError as error:
            raise search_space.SearchError(
                f"The driver of search {search.id} could not start: {error.strerror or error}.") from None
        identity = processes.process_identity(process.pid)
        search.driver = {"pid": process.pid, "pid_start": identity[0] if identity else None, "started": time.time()}
    return True


def recover(*, runs_dir=None):
    """Restarts the drivers of searches left unfinished by a crash or restart; call once when the app starts.

    Returns:
        The ids of the searches whose driver it started.
    """
    root = _root(runs_dir)
    restarted = []
    for values in state.list_searches(root):
        with contextlib.suppress(search_space.SearchError):
            if ensure_driver(values["id"], runs_dir=root):
                restarted.append(values["id"])
    return restarted


def load(search_id, *, runs_dir=None):
    """Reads a search for showing it, first restarting its driver if it died with work left.

    Raises:
        SearchError: for a bad or unknown id.
    """
    root = _root(runs_dir)
    with contextlib.suppress(search_space.SearchError):
        ensure_driver(search_id, runs_dir=root)
    return state.Search.load(search_id, runs_dir=root)


def wait(search_id, *, timeout=None, poll=0.5, runs_dir=None):
    """Blocks until a search has ended and none of its runs is still queued or running.

    Args:
        search_id: the search's id.
        timeout: seconds to wait at most, or None to wait for ever. Defaults to `None`.
        poll: seconds between looks. Defaults to `0.5`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The `Search` as it ended.

    Raises:
        SearchError: for a bad or unknown id, or when `timeout` passes first.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        search = load(search_id, runs_dir=runs_dir)
        if search.settled:
            return search
        if deadline is not None and time.monotonic() >= deadline:
            raise search_space.SearchError(f"Search {search_id} is still {search.state} after {timeout:g} s.")
        time.sleep(poll)


def cancel(search_id, *, wait_seconds=30.0, runs_dir=None):
    """Cancels a search: its queued trials at once, its running ones within seconds; plans no more.

    Args:
        search_id: the search's id.
        wait_seconds: seconds to wait for the running trials to stop (0: return at once). Defaults to `30.0`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The `Search` after the request (its trials stopped, unless they took longer than `wait_seconds`).

    Raises:
        SearchError: for a bad or unknown id.
    """
    root = _root(runs_dir)
    search = state.Search.load(search_id, runs_dir=root).cancel()
    with contextlib.suppress(search_space.SearchError):
        search = wait(search_id, timeout=wait_seconds, poll=0.25, runs_dir=root) if wait_seconds > 0 else search
    return search


def run_driver(search_id, runs_dir):
    """Advances one search until it has ended; the body of `python -m imgrec.search driver SEARCH_ID RUNS_DIR`.

    Does nothing unless the search's file names this process as its driver, so a stray or
    duplicate start is harmless; stops when another driver takes over, on SIGTERM, or when the
    search's file disappears.

    Returns:
        The process exit status: 0.
    """
    root = pathlib.Path(runs_dir).absolute()
    search = state.Search.load(search_id, runs_dir=root)
    # Under the lock: the process that started this one records its pid there first.
    with search.editing():
        if (search.driver or {}).get("pid") != os.getpid():
            return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signal_number, frame: stop.set())
    while not stop.is_set():
        try:
            search = search.advance()
        except search_space.SearchError:
            return 0  # Its file was deleted or damaged: nothing left to drive.
        if search.settled or (search.driver or {}).get("pid") != os.getpid():
            return 0
        stop.wait(POLL_SECONDS)
    return 0
