"""Where runs execute: one interface over two executors, worker processes on this machine or a Ray cluster's Jobs API.

`current()` is the executor new runs start on: a Ray cluster when `IMGREC_RAY_ADDRESS` is set,
else worker processes here (and then nothing of Ray is imported). A started run records its
executor in its status (`"executor": "local" | "ray"`), and `for_state` returns the one that
can settle it. The queue calls only these methods, under the runs folder's lock:

- `capacity()`, `threads()`: how many runs train at once, and TensorFlow's threads per run.
- `start(folder, state, threads)`: starts a queued run; returns True, False when it failed (its
  status says why), or None when the executor cannot be reached now (the run stays queued).
- `refresh(folder, state)`: brings the run folder up to date with what the run reported.
- `death(folder, state)`: None while the run's worker lives, else the sentence it failed with.
- `stop(state, force)`: stops the worker now (SIGTERM, or on Ray the job's stop), or kills it.
- `release(folder, state)`: frees what a finished run held.
"""

import signal
import socket

from imgrec.jobs import processes, settings


class LocalExecutor:
    """Worker processes on this machine (`processes`): the default, and all a laptop needs."""

    name = "local"
    reachable = True

    def capacity(self):
        return settings.max_runs()

    def threads(self):
        return settings.threads_per_run()

    def start(self, folder, state, threads):
        return processes.start_worker(folder, state, threads)

    def needs_refresh(self, state):
        return False  # The worker writes the run folder itself.

    def refresh(self, folder, state):
        pass

    def death(self, folder, state):
        return None if processes.worker_alive(state) else processes.DIED_REASON

    def stop(self, state, force):
        processes.signal_worker(state, signal.SIGKILL if force else signal.SIGTERM)

    def release(self, folder, state):
        pass


class UnreachableExecutor(LocalExecutor):
    """Stands in for an executor this process cannot reach: its runs are left as they are.

    A Ray cluster this process has no address for, or another machine's worker processes (app
    servers on several machines share a runs folder): a pid means nothing on another machine.

    Args:
        name: the executor it stands in for, "ray" or "local".
    """

    reachable = False

    def __init__(self, name):
        self.name = name

    def death(self, folder, state):
        return None

    def stop(self, state, force):
        pass


LOCAL = LocalExecutor()


def current():
    """Returns the executor new runs start on: the Ray cluster at `IMGREC_RAY_ADDRESS`, else `LOCAL`."""
    address = settings.ray_address()
    if address is None:
        return LOCAL
    from imgrec.jobs import ray_executor

    return ray_executor.executor(address)


def for_state(state):
    """Returns the executor that runs a started run: its recorded one (`LOCAL` for runs from before executors).

    A run it cannot reach from here (another machine's worker, a cluster with no address set)
    gets an executor that leaves it alone: only a process that can see its worker settles it.
    """
    if state.get("executor") != "ray":
        return LOCAL if state.get("node_id") in (None, socket.gethostname()) else UnreachableExecutor("local")
    address = settings.ray_address()
    if address is None:
        return UnreachableExecutor("ray")
    from imgrec.jobs import ray_executor

    return ray_executor.executor(address)


def max_runs():
    """Returns how many runs train at once on the current executor.

    Worker processes: `IMGREC_MAX_RUNS`, else half the cores (at least 1). A Ray cluster:
    `IMGREC_MAX_RUNS`, else the CPUs of its live nodes divided by `IMGREC_RAY_CPUS_PER_RUN`.

    Raises:
        JobError: when a setting in the environment is invalid.
    """
    return current().capacity()
