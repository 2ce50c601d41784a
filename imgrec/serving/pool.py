"""A pool of inference worker processes: named operations in, plain results out, crashes and hangs contained.

The web server never imports TensorFlow: every computation that needs a model is a request
to one of N worker processes (`worker.py`), each owning TensorFlow and the models it was
asked for. Why processes: a Streamlit server that holds TensorFlow's objects pays for them
in every garbage collection (~0.2-0.4 s per script run on this machine), Streamlit clears
Keras's global state after every run, and the Python work of many sessions then shares one
core; a worker that crashes or hangs takes one request with it, not the server.

A request takes the first idle worker (preferring one that has the model loaded), sends
`(operation, reference, args, kwargs, environment)` over a socket pair and waits for the reply.
A worker that dies mid-request is replaced and the request fails with a sentence; one that
takes longer than the timeout is killed and replaced the same way. Workers start one after
another, so the first page of a fresh server waits for one TensorFlow import, not N at once.
"""

import atexit
import collections
import contextlib
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

from imgrec import paths, runtime
from imgrec.serving import operations

DEFAULT_TIMEOUT = 300.0  # IMGREC_INFERENCE_TIMEOUT: building the ImageNet model on first use takes ~1 min on 2 busy cores.
START_TIMEOUT = 180.0  # Seconds for a worker to import TensorFlow and say it is ready.
MAX_MODELS = 4  # Models one worker keeps loaded; EfficientNet-Lite0 with its graphs is the largest, ~100 MB.
STOP_GRACE = 3.0  # Seconds a worker has to exit after its connection closes, before it is killed.


class ServingError(RuntimeError):
    """A request the inference workers could not answer: the worker crashed, hung, or could not start."""


def default_workers():
    """Returns how many workers to start: `IMGREC_INFERENCE_WORKERS`, else one per two cores (at least 1).

    One per two cores, with two TensorFlow threads each: EfficientNet's 25 ms forward pass uses
    both, and the server's own Python (one core at most) needs a core to stand on.
    """
    return _env_int("IMGREC_INFERENCE_WORKERS", max(1, runtime.cpu_count() // 2))


def default_threads(workers):
    """Returns TensorFlow's threads per worker: `IMGREC_INFERENCE_THREADS`, else the cores shared out (at least 1)."""
    return _env_int("IMGREC_INFERENCE_THREADS", max(1, runtime.cpu_count() // max(1, workers)))


def default_timeout():
    """Returns the seconds one request may take: `IMGREC_INFERENCE_TIMEOUT`, else 300."""
    return float(_env_int("IMGREC_INFERENCE_TIMEOUT", int(DEFAULT_TIMEOUT)))


def _env_int(name, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {text!r}.")
    return int(text)


class _Worker:
    """One worker process, its end of the connection and the model references it has loaded."""

    def __init__(self, process, connection):
        self.process = process
        self.connection = connection
        self.models = collections.OrderedDict()  # Mirrors the worker's own LRU, for routing.
        self.ready = False

    def alive(self):
        return self.process.poll() is None

    def remember(self, reference, limit):
        if reference is None:
            return
        self.models[reference] = True
        self.models.move_to_end(reference)
        while len(self.models) > limit:
            self.models.popitem(last=False)

    def stop(self, grace=STOP_GRACE):
        """Closes the connection (the worker exits on its own), then kills it if it lingers; reaps it."""
        with contextlib.suppress(OSError):
            self.connection.close()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Pool:
    """Inference worker processes answering named operations (see `operations.OPERATIONS`).

    Args:
        workers: how many worker processes. Defaults to `default_workers()`.
        threads: TensorFlow threads per worker. Defaults to `default_threads(workers)`.
        timeout: seconds one request may take, waiting for a free worker included. Defaults
            to `default_timeout()`.
        max_models: models each worker keeps loaded. Defaults to `4`.

    Example:

    ```python
    pool = Pool(workers=1)
    probabilities = pool.call("predict", operations.registry_model("mnist-cnn", key), inputs)
    pool.shutdown()
    ```
    """

    def __init__(self, workers=None, *, threads=None, timeout=None, max_models=MAX_MODELS):
        self.size = int(workers or default_workers())
        if self.size < 1:
            raise ValueError(f"A pool needs at least one worker, got {workers!r}.")
        self.threads = int(threads or default_threads(self.size))
        self.timeout = float(timeout or default_timeout())
        self.max_models = int(max_models)
        self._workers = []  # Every started worker not yet stopped: ready, busy or still starting.
        self._idle = []
        self._condition = threading.Condition()
        self._closed = False
        self._start_failure = None
        self._wanted = threading.Semaphore(0)  # One release per worker to start.
        self._starter = threading.Thread(target=self._start_workers, name="imgrec-inference-starter", daemon=True)
        for _ in range(self.size):
            self._wanted.release()
        self._starter.start()

    # -- Starting and replacing workers, one at a time, on the starter thread.

    def _start_workers(self):
        while True:
            self._wanted.acquire()
            with self._condition:
                if self._closed:
                    return
            worker = None
            try:
                worker = self._spawn()
                self._wait_ready(worker)
            except Exception as error:  # A worker that cannot start fails the requests waiting for it.
                if worker is not None:
                    self._forget(worker)
                    worker.stop(grace=0)
                with self._condition:
                    self._start_failure = f"An inference worker could not start: {error}"
                    self._condition.notify_all()
                continue
            with self._condition:
                closed = self._closed
                if not closed:
                    worker.ready = True
                    self._start_failure = None
                    self._idle.append(worker)
                    self._condition.notify_all()
            if closed:
                self._forget(worker)
                worker.stop()
                return

    def _spawn(self):
        ours, theirs = socket.socketpair()
        environment = dict(os.environ)
        # The worker must import this checkout of imgrec whatever its working folder.
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(paths.REPO_ROOT), environment.get("PYTHONPATH")) if part)
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        command = [sys.executable, "-m", "imgrec.serving.worker", str(theirs.fileno()), "--parent", str(os.getpid()),
                   "--threads", str(self.threads), "--max-models", str(self.max_models)]
        try:
            with self._condition:
                if self._closed:
                    raise ServingError("The inference pool is shut down.")
                # Same process group as the server (no new session): stopping the server's group stops them.
                process = subprocess.Popen(command, pass_fds=(theirs.fileno(),), env=environment,
                                           stdin=subprocess.DEVNULL, cwd=str(paths.REPO_ROOT))
                worker = _Worker(process, Connection(ours.detach()))
                self._workers.append(worker)
        finally:
            theirs.close()
            ours.close()
        return worker

    def _wait_ready(self, worker):
        deadline = time.monotonic() + START_TIMEOUT
        while not worker.connection.poll(0.2):
            if not worker.alive():
                raise ServingError(f"it exited with status {worker.process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise ServingError(f"it was not ready after {START_TIMEOUT:.0f} s")
        message = worker.connection.recv()
        if not (isinstance(message, tuple) and message[:1] == ("ready",)):
            raise ServingError(f"it said {message!r} instead of being ready")

    def _forget(self, worker):
        with self._condition:
            if worker in self._workers:
                self._workers.remove(worker)
            if worker in self._idle:
                self._idle.remove(worker)

    def _replace(self, worker):
        """Stops a worker that failed or hung and starts another in its place."""
        self._forget(worker)
        worker.stop(grace=0)
        with self._condition:
            if not self._closed:
                self._wanted.release()

    # -- Requests.

    def _acquire(self, reference, deadline):
        with self._condition:
            while True:
                if self._closed:
                    raise ServingError("The inference pool is shut down; restart the app.")
                for worker in list(self._idle):
                    if not worker.alive():  # Died while idle (e.g. killed for memory): replace it quietly.
                        self._idle.remove(worker)
                        self._workers.remove(worker)
                        worker.stop(grace=0)
                        self._wanted.release()
                if self._idle:
                    chosen = next((worker for worker in reversed(self._idle) if reference in worker.models),
                                  self._idle[-1])
                    self._idle.remove(chosen)
                    return chosen
                if self._start_failure and not any(worker.ready for worker in self._workers):
                    raise ServingError(self._start_failure)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ServingError(f"Every inference worker stayed busy for {self.timeout:.0f} s; "
                                       "the server is overloaded, try again in a moment.")
                self._condition.wait(min(remaining, 1.0))

    def _release(self, worker):
        with self._condition:
            if self._closed:
                return
            self._idle.append(worker)
            self._condition.notify()

    def call(self, operation, reference, *args, timeout=None, **kwargs):
        """Runs an allowed operation on a model in a worker; returns its plain result.

        Args:
            operation: a name in `operations.OPERATIONS`, e.g. "predict".
            reference: `operations.registry_model(...)` or `operations.run_model(...)`, or
                None for an operation without a model.
            *args, **kwargs: the operation's plain arguments (numpy arrays, numbers, strings).
            timeout: seconds for this request, waiting for a free worker included. Defaults
                to the pool's.

        Returns:
            What the operation returned, e.g. a numpy array.

        Raises:
            ValueError: for an unknown operation or a malformed reference.
            ServingError: when the worker crashed, hung past the timeout, or could not start.
            Exception: what the operation itself raised (e.g. `registry.RegistryError`).
        """
        operations.check_operation(operation)
        if reference is not None:
            operations.check_reference(reference)
        timeout = self.timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + timeout
        environment = {name: os.environ.get(name) for name in operations.REQUEST_VARIABLES}
        worker = self._acquire(reference, deadline)
        try:
            worker.connection.send((operation, reference, args, kwargs, environment))
            if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                raise ServingError(f"The model took longer than {timeout:.0f} s to answer ({operation}) and was "
                                   "stopped; try again, or with a smaller image or fewer samples.")
            reply = worker.connection.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            self._replace(worker)
            raise ServingError(f"The inference worker stopped while answering ({operation}); it has been "
                               "restarted, try again.") from error
        except BaseException:
            # Anything else (a value that cannot be sent, an interrupt) leaves the connection in an
            # unknown state: the worker is replaced rather than trusted with the next request.
            if worker in self._workers:
                self._replace(worker)
            raise
        worker.remember(reference, self.max_models)
        self._release(worker)
        status, value, *rest = reply
        if status == "ok":
            return value
        if isinstance(value, BaseException):
            raise value
        raise ServingError(rest[0] if rest else "The request failed in the inference worker.")

    # -- Looking at the pool, and stopping it.

    def pids(self):
        """The process ids of the workers started and not yet stopped (starting ones included)."""
        with self._condition:
            return [worker.process.pid for worker in self._workers]

    def wait_ready(self, count=None, timeout=START_TIMEOUT):
        """Waits until `count` workers (default: all) are ready; returns how many are."""
        count = self.size if count is None else count
        deadline = time.monotonic() + timeout
        with self._condition:
            while sum(worker.ready for worker in self._workers) < count and time.monotonic() < deadline:
                self._condition.wait(0.2)
            return sum(worker.ready for worker in self._workers)

    def shutdown(self):
        """Stops every worker and waits for each to exit (killing any that lingers); the pool then refuses requests."""
        with self._condition:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
            self._condition.notify_all()
        self._wanted.release()  # Wakes the starter so it sees the pool closed and returns.
        for worker in workers:
            worker.stop()
        self._starter.join(timeout=STOP_GRACE)

    @property
    def closed(self):
        return self._closed


_SHARED = None
_SHARED_LOCK = threading.Lock()


def shared_pool():
    """The process's one pool, started on first use and shut down when the process exits."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.closed:
            _SHARED = Pool()
            atexit.register(_SHARED.shutdown)
        return _SHARED
