"""The worker on a Ray node: checks its imgrec against the app's, trains in a scratch folder, sends the folder back.

Ray starts it as the entrypoint of a run's job (`python -m imgrec.jobs ray-worker RUN_ID
MAILBOX`) on whichever worker node had the CPUs. Of the app's machine only the run's mailbox
actor is reachable from here: the config and the deadline come from it, and everything the
run writes goes back to it (`mirror`) twice a second and once more at the end. The training
is the local worker's own (`worker.train_run`), on a scratch run folder in this node's
temporary folder that is deleted afterwards; this node's IMGREC_RUNS_DIR is never used.
"""

import logging
import os
import pathlib
import socket
import tempfile
import threading
import time

from imgrec.jobs import folders, identity, mirror, processes, worker

NAMESPACE = "imgrec"  # The app's namespace for mailboxes (ray_executor.NAMESPACE).
POST_SECONDS = 0.5  # How often progress goes to the mailbox, and so how soon a cancel reaches the training loop.
CALL_TIMEOUT = 60.0  # Seconds one mailbox call may take.
LOST_SECONDS = 120.0  # Posts failing this long mean the cluster is gone: the run stops rather than train for nobody.


class Shipper(threading.Thread):
    """Posts what the scratch run folder gained to the mailbox every POST_SECONDS; a stop request becomes a cancel file.

    A mailbox that is gone (the app settled the run, say after deciding this node was dead, or
    the head restarted) stops the run the same way: nobody could receive what it trains.

    Args:
        box: the mailbox actor's handle.
        folder: the scratch run folder.
        first: messages to send before any of the folder's (the hello).
    """

    def __init__(self, box, folder, first):
        super().__init__(name="imgrec-shipper", daemon=True)
        self._box, self._folder = box, folder
        self._mirror = mirror.FolderMirror(folder)
        self._pending = list(first)
        self._lock = threading.Lock()
        self._done = threading.Event()

    def _post(self):
        import ray

        with self._lock:
            # Kept until the mailbox has them; one sent twice (a lost reply) is written once (`mirror`).
            self._pending += self._mirror.collect()
            stop = ray.get(self._box.post.remote(self._pending), timeout=CALL_TIMEOUT)
            self._pending = []
        if stop:
            (self._folder / folders.CANCEL_FILE).touch()

    def run(self):
        import ray

        last_success = time.monotonic()
        while not self._done.wait(POST_SECONDS):
            try:
                self._post()
                last_success = time.monotonic()
            except ray.exceptions.RayActorError:
                lost = True
            except Exception:  # noqa: BLE001 - a missed post is sent with the next one.
                lost = time.monotonic() - last_success > LOST_SECONDS
            else:
                lost = False
            if lost:
                (self._folder / folders.CANCEL_FILE).touch()
                return

    def finish(self):
        """Stops the thread and sends the rest, final status included (raises when the mailbox is gone)."""
        self._done.set()
        self.join()
        self._post()


def run_on_node(run_id, mailbox_name):
    """Runs one run's job on this node; the body of `python -m imgrec.jobs ray-worker RUN_ID MAILBOX`.

    Returns:
        The process exit status: 0 when the run's end reached the mailbox (whatever that end
        was), 1 when the mailbox could not be reached (the app then fails the run itself).
    """
    import ray

    folders.validate_run_id(run_id)
    # The job's environment names the cluster (RAY_ADDRESS); this process only calls the mailbox.
    ray.init(namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)
    box = ray.get_actor(mailbox_name, namespace=NAMESPACE)
    info = ray.get(box.start_info.remote(), timeout=CALL_TIMEOUT)
    mine = identity.imgrec_identity()
    hello = {"kind": "hello", "hostname": socket.gethostname(), "pid": os.getpid(), "identity": mine}
    mismatch = identity.mismatch_reason(mine, info["identity"])
    if mismatch is not None:
        ray.get(box.post.remote([hello, {"kind": "status", "status": {"status": folders.FAILED, "reason": mismatch}}]),
                timeout=CALL_TIMEOUT)
        return 0
    with tempfile.TemporaryDirectory(prefix="imgrec-ray-") as scratch:
        folder = pathlib.Path(scratch) / run_id
        folder.mkdir()
        folders.write_json(folder / folders.CONFIG_FILE, info["config"])
        process = processes.process_identity(os.getpid())
        state = {"status": folders.RUNNING, "reason": None, "phase": "starting", "pid": os.getpid(),
                 "pid_start": process[0] if process else None, "created": time.time(), "started": info["started"],
                 "time_limit": info["time_limit"], "threads": info["threads"]}
        folders.write_json(folder / folders.STATUS_FILE, state)
        shipper = Shipper(box, folder, [hello])
        shipper.start()
        try:
            worker.train_run(folder, state)
        finally:
            shipper.finish()
    return 0
