"""The app's side of running on a Ray cluster: one Ray job per run, its files brought back through a mailbox actor.

`executors.current()` returns this executor when `IMGREC_RAY_ADDRESS` is set; no other module
of the app's side imports Ray. Two connections, each opened on first use and kept for the
life of the process:

- the Jobs API (`JobSubmissionClient`, HTTP to the dashboard): one job per run, submission id
  `imgrec-<run id>`, `entrypoint_num_cpus` reserving its CPUs on one worker node, `stop_job`
  to stop it (SIGTERM, then SIGKILL after RAY_JOB_STOP_WAIT_TIME_S, raised here to 10 s);
- Ray Client (`ray://head:10001`): to create each run's mailbox (`mailbox.Mailbox`, a
  detached actor on the head node), to drain it into the run folder (`mirror.apply`), and to
  ask which nodes are alive.

No filesystem is assumed shared with the worker nodes: the job's command line carries only
the run id and its mailbox's name; the config, the deadline and the app's imgrec identity
wait in the mailbox. The run folder stays the source of truth: a mailbox is drained from the
cursor saved in `status.json`, so any app process, or one restarted meanwhile, carries on.
"""

import contextlib
import importlib.util
import logging
import math
import shlex
import threading
import time

from imgrec import atomic
from imgrec.jobs import errors, folders, identity, mailbox, mirror, settings

NAMESPACE = "imgrec"
REFRESH_SECONDS = 0.3  # A running run is drained at most this often per process; `cancel` polls every 0.05 s.
NODES_SECONDS = 2.0  # How often the live nodes are asked for (a dead node fails its run within this).
CAPACITY_SECONDS = 10.0  # How long the cluster's capacity is taken as known.
RETRY_SECONDS = 10.0  # After the cluster did not answer, nothing is asked of it for this long.
CALL_TIMEOUT = 30.0  # Seconds one actor call or HTTP request may take before the cluster counts as unreachable.
STOP_WAIT_SECONDS = 10  # RAY_JOB_STOP_WAIT_TIME_S: a Keras run needed ~3 s to stop cleanly after SIGTERM; Ray's default is 3.
LOG_TAIL_BYTES = 256 * 1024  # What of a job's log is kept as the run's worker.log.
HEAD_RESOURCE = {"node:__internal_head__": 0.001}  # Ray's marker of the head node: mailboxes outlive worker nodes.
START_TIMEOUT_ERROR = "JOB_SUPERVISOR_ACTOR_START_TIMEOUT"
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
MISSING = "missing"  # A job Ray does not know (any more).

_EXECUTORS = {}
_EXECUTORS_LOCK = threading.Lock()


def executor(address):
    """Returns the process's executor for the cluster at a dashboard address (one per address, kept).

    Raises:
        JobError: when Ray is not installed in this Python.
    """
    if importlib.util.find_spec("ray") is None:
        raise errors.JobError("IMGREC_RAY_ADDRESS is set but Ray is not installed here; "
                              "run `pip install -r requirements-cluster.txt`, or unset IMGREC_RAY_ADDRESS.")
    with _EXECUTORS_LOCK:
        if address not in _EXECUTORS:
            _EXECUTORS[address] = RayExecutor(address)
        return _EXECUTORS[address]


def submission_id(run_id, attempt):
    """Returns the Ray job id of a run's attempt (the mailbox has the same name): `imgrec-<run id>[-<attempt>]`."""
    return f"imgrec-{run_id}" if attempt <= 1 else f"imgrec-{run_id}-{attempt}"


class Unavailable(Exception):
    """The cluster did not answer; the caller leaves the run as it is and tries again later."""


def _job_client_class():
    from ray.job_submission import JobSubmissionClient

    class TimedJobClient(JobSubmissionClient):
        # The SDK sends requests with no timeout: a head that stopped answering would hang the page.
        def _do_request(self, method, endpoint, **options):
            options.setdefault("timeout", CALL_TIMEOUT)
            return super()._do_request(method, endpoint, **options)

    return TimedJobClient


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class RayExecutor:
    """Runs as jobs on the Ray cluster whose dashboard is at `address` (see the module's docstring).

    Args:
        address: the dashboard address, e.g. `http://head:8265`.
    """

    name = "ray"
    reachable = True

    def __init__(self, address):
        self.address = address
        self._lock = threading.RLock()
        self._jobs = None
        self._unreachable_until = -math.inf
        self._seen = {}  # Ray job id -> what this process last learnt of it (see refresh).
        self._boxes = {}  # Ray job id -> the handle of a mailbox this process created (no lookup by name).
        self._capacity = (-math.inf, None, 1)  # (when, for which settings, places)
        self._nodes = (-math.inf, {})  # (when, {node id: alive})

    # -- Connections ----------------------------------------------------------------------

    def _guarded(self, function):
        """Calls `function()`, turning the ways an unreachable cluster fails into `Unavailable`."""
        import ray
        import requests

        if time.monotonic() < self._unreachable_until:
            raise Unavailable(f"The Ray cluster at {self.address} did not answer a moment ago.")
        try:
            return function()
        except (ConnectionError, TimeoutError, requests.exceptions.RequestException, ray.exceptions.GetTimeoutError,
                ray.exceptions.RaySystemError) as error:
            self._unreachable_until = time.monotonic() + RETRY_SECONDS
            with contextlib.suppress(Exception):
                ray.shutdown()  # A dropped Ray Client connection is not reused; the next call reconnects.
            raise Unavailable(f"The Ray cluster at {self.address} did not answer ({error}).") from error

    def _ray(self):
        """Returns the `ray` module, connected to the cluster through Ray Client (on first use)."""
        import ray
        import ray.cloudpickle

        # Shipped by value: the head node that hosts the mailboxes needs Ray, not imgrec.
        ray.cloudpickle.register_pickle_by_value(mailbox)
        if not ray.is_initialized():
            ray.init(settings.ray_client_address(self.address), namespace=NAMESPACE, log_to_driver=False,
                     logging_level=logging.WARNING)
        return ray

    def _job_client(self):
        if self._jobs is None:
            self._jobs = _job_client_class()(self.address)
        return self._jobs

    def _job_info(self, job_id):
        """Returns the job's `JobDetails`, or MISSING when Ray does not know it."""
        try:
            return self._job_client().get_job_info(job_id)
        except RuntimeError as error:
            if "404" in str(error) or "does not exist" in str(error):
                return MISSING
            raise ConnectionError(str(error)) from error

    def _mailbox(self, job_id):
        """Returns the handle of a run's mailbox, or None when the cluster has none by that name."""
        if job_id in self._boxes:
            return self._boxes[job_id]
        try:
            return self._ray().get_actor(job_id, namespace=NAMESPACE)
        except ValueError:
            return None

    def _node_alive(self, node_id):
        """Says whether a node is alive, asking the cluster at most every NODES_SECONDS (or when the node is new)."""
        when, nodes = self._nodes
        if time.monotonic() - when >= NODES_SECONDS or node_id not in nodes:
            nodes = {node["NodeID"]: bool(node["Alive"]) for node in self._ray().nodes()}
            self._nodes = (time.monotonic(), nodes)
        return nodes.get(node_id, False)

    # -- The executor interface ------------------------------------------------------------

    def capacity(self):
        """Returns `IMGREC_MAX_RUNS`, else how many runs the cluster's live nodes can hold at once (at least 1)."""
        asked = (settings.ray_cpus_per_run(), tuple(sorted(settings.ray_resources().items())))
        when, known_for, known = self._capacity
        if known_for != asked or time.monotonic() - when >= CAPACITY_SECONDS:
            with self._lock, contextlib.suppress(Unavailable):
                known = self._guarded(lambda: self._count_places(*asked))
                self._capacity = (time.monotonic(), asked, known)
        return settings.max_runs(default=max(1, known))

    def _count_places(self, cpus, resources):
        places = 0
        for node in self._ray().nodes():
            if not node["Alive"]:
                continue
            held = node["Resources"]
            places += int(min([held.get("CPU", 0) // cpus] + [held.get(name, 0) // amount for name, amount in resources]))
        return places

    def threads(self):
        settings.ray_resources()  # A bad IMGREC_RAY_RESOURCES fails at submit, in front of the user.
        return settings.ray_cpus_per_run()

    def start(self, folder, state, threads):
        """Creates the run's mailbox and submits its job, and marks the run running (call under the lock).

        Returns:
            True when submitted; False when the run cannot start (it is marked failed); None when
            the cluster did not answer (the run stays queued, its reason says so).
        """
        run_id = folder.name
        config = atomic.read_json(folder / folders.CONFIG_FILE)
        if config is None:
            folders.finish(folder, state, folders.FAILED, "The run's config.json is missing or is not a JSON object.")
            return False
        attempt = int(state.get("ray_attempt") or 0) + 1
        job_id = submission_id(run_id, attempt)
        now = time.time()
        start_info = {"run_id": run_id, "config": config, "started": now, "threads": threads,
                      "time_limit": state.get("time_limit") or settings.DEFAULT_TIME_LIMIT,
                      "identity": identity.imgrec_identity()}
        entrypoint = f"{shlex.quote(settings.ray_python())} -m imgrec.jobs ray-worker {run_id} {job_id}"
        environment = {"IMGREC_RUN_THREADS": str(threads), "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_SECONDS),
                       "TF_CPP_MIN_LOG_LEVEL": "2"}

        def submit():
            ray = self._ray()
            self._boxes[job_id] = ray.remote(mailbox.Mailbox).options(
                name=job_id, namespace=NAMESPACE, lifetime="detached", num_cpus=0, resources=HEAD_RESOURCE,
                get_if_exists=True).remote(start_info)
            try:
                self._job_client().submit_job(
                    entrypoint=entrypoint, submission_id=job_id, entrypoint_num_cpus=threads,
                    entrypoint_resources=settings.ray_resources() or None, runtime_env={"env_vars": environment},
                    metadata={"imgrec_run_id": run_id})
            except RuntimeError as error:
                # Submitted before a crash kept us from recording it: the job is ours, adopt it.
                if "already exists" not in str(error):
                    raise ConnectionError(_last_line(str(error))) from error

        with self._lock:
            try:
                self._guarded(submit)
            except Unavailable as error:
                # `retry_at` makes the next status read pump again (a queued run alone would not).
                state.update(reason=f"{error} The run waits in the queue until it does.",
                             retry_at=time.time() + RETRY_SECONDS)
                folders.write_json(folder / folders.STATUS_FILE, state)
                return None
            state.pop("retry_at", None)
            # A run Ray gave back keeps saying so while it waits for a node again.
            state.update(status=folders.RUNNING, reason=state["reason"] if state.get("requeued") else None,
                         phase="starting", executor=self.name, ray_job_id=job_id,
                         ray_attempt=attempt, ray_cursor=0, node_id=None, pid=None, started=now, threads=threads)
            folders.write_json(folder / folders.STATUS_FILE, state)
            self._seen.pop(job_id, None)
            return True

    def needs_refresh(self, state):
        seen = self._seen.get(state.get("ray_job_id")) or {}
        return time.monotonic() - seen.get("refreshed", -math.inf) >= REFRESH_SECONDS

    def refresh(self, folder, state):
        """Drains the run's mailbox into its folder and learns how its job and node are (call under the lock).

        Ends the run when the worker reported its end, and gives it back to the queue when Ray
        found no node for it within Ray's start timeout. At most every REFRESH_SECONDS.
        """
        job_id = state.get("ray_job_id")
        if not job_id or not self.needs_refresh(state):
            return
        with self._lock:
            seen = self._seen.setdefault(job_id, {})
            seen["refreshed"] = time.monotonic()
            before = dict(state)
            try:
                final = self._guarded(lambda: self._drain(folder, state, job_id, seen))
            except Unavailable:
                return
            info = seen["job"]
            if final is not None:
                status_name, reason, extra = final
                folders.finish(folder, state, status_name, reason, **extra)
            elif (info is not MISSING and info.status == "FAILED" and str(info.error_type or "").endswith(
                    START_TIMEOUT_ERROR) and not state.get("node_host")):
                self._requeue(folder, state, job_id)
            elif state != before:
                folders.write_json(folder / folders.STATUS_FILE, state)

    def _drain(self, folder, state, job_id, seen):
        ray = self._ray()
        # The job's state first, the mailbox second: a job seen ended has posted all it ever will.
        info = seen["job"] = self._job_info(job_id)
        box = self._mailbox(job_id)
        seen["mailbox"] = box is not None
        if box is None:
            return None
        if (folder / folders.CANCEL_FILE).exists() and not seen.get("stop_asked"):
            ray.get(box.request_stop.remote(), timeout=CALL_TIMEOUT)
            seen["stop_asked"] = True
        final, cursor = None, int(state.get("ray_cursor") or 0)
        try:
            while True:
                reply = ray.get(box.read.remote(cursor), timeout=CALL_TIMEOUT)
                final = mirror.apply(folder, state, reply["messages"]) or final
                cursor = reply["first"] + len(reply["messages"])
                state["ray_cursor"] = cursor
                if not reply["more"]:
                    break
        except ray.exceptions.RayActorError:
            seen["mailbox"] = False
        if info is not MISSING and info.driver_node_id:
            state["node_id"] = info.driver_node_id
        if final is None and state.get("node_id") and (info is MISSING or info.status != "PENDING"):
            seen["node_alive"] = self._node_alive(state["node_id"])
        return final

    def _requeue(self, folder, state, job_id):
        """Gives a run Ray could not place back to the queue, keeping its place in line (call under the lock)."""
        for key in ("phase", "executor", "ray_job_id", "ray_cursor", "node_id", "pid", "threads"):
            state.pop(key, None)
        state.update(status=folders.QUEUED, started=None, requeued=int(state.get("requeued") or 0) + 1, reason=(
            "No Ray node had room for it within Ray's start timeout (RAY_JOB_START_TIMEOUT_SECONDS); "
            "it is back in the queue."))
        folders.write_json(folder / folders.STATUS_FILE, state)
        self._kill_mailbox(job_id)
        self._seen.pop(job_id, None)

    def death(self, folder, state):
        """Returns why a running run's job is gone (as learnt by the last refresh), or None while it may go on."""
        job_id = state.get("ray_job_id")
        seen = self._seen.get(job_id) or {}
        if "job" not in seen:
            return None  # Not looked at by this process yet: refresh first.
        info, node = seen["job"], state.get("node_id")
        if node and seen.get("node_alive") is False:
            return (f"Ray node {node} died while it trained this run; Ray does not restart it: "
                    "start the run again.")
        if info is MISSING:
            return f"Ray has no job {job_id} any more (was its head node restarted?); start the run again."
        if not seen.get("mailbox"):
            return (f"The Ray cluster lost the mailbox of job {job_id} (was its head node restarted?); "
                    "start the run again.")
        if info.status in TERMINAL:
            detail = _last_line(info.message)
            return f"The Ray job {job_id} ended ({info.status}) without reporting a result" + (
                f": {detail}" if detail else ".")
        return None

    def stop(self, state, force):
        """Stops the run's job: SIGTERM now, SIGKILL from Ray after RAY_JOB_STOP_WAIT_TIME_S (asked once)."""
        job_id = state.get("ray_job_id")
        seen = self._seen.setdefault(job_id, {})
        if not job_id or seen.get("stop_sent"):
            return
        with self._lock, contextlib.suppress(Unavailable):
            self._guarded(lambda: self._job_client().stop_job(job_id))
            seen["stop_sent"] = True

    def release(self, folder, state):
        """Keeps the tail of the job's log as the run's worker.log and removes its mailbox."""
        job_id = state.get("ray_job_id")
        if not job_id:
            return
        with self._lock:
            with contextlib.suppress(Unavailable, RuntimeError):
                text = self._guarded(lambda: self._job_client().get_job_logs(job_id))
                atomic.write_bytes(folder / folders.LOG_FILE, text.encode("utf-8", "replace")[-LOG_TAIL_BYTES:])
            self._kill_mailbox(job_id)
            self._seen.pop(job_id, None)

    def _kill_mailbox(self, job_id):
        def kill():
            box = self._mailbox(job_id)
            if box is not None:
                self._ray().kill(box)

        with contextlib.suppress(Unavailable):
            self._guarded(kill)
        self._boxes.pop(job_id, None)
