"""A private Ray cluster on this machine, on loopback, for the tests and benchmarks of the Ray executor.

`ray.cluster_utils.Cluster` starts real Ray nodes (a head and worker nodes, each with its own
raylet) in child processes of this one, ready in ~5-15 s and ~0.75 GB on the 2-core machine.
Pitfalls measured here, each handled below:

- A plain `ray.init()` joins any cluster already running on the machine, and `ray stop` kills
  every Ray process on it: this cluster is reached only by its own addresses and stopped by
  its handle, never by `ray stop`.
- Ray's Unix socket paths break when the temp dir's path is longer than ~45 characters.
- `Cluster` writes its address file under /tmp/ray whatever `temp_dir` says: that folder must exist.
- Ray 2.60 turns token authentication on for explicit addresses: every node and client shares
  one token (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN).
- Ray resolves "127.0.0.1" to the machine's outward address, where its own agents then fail
  to find their node; RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps every address on loopback.
- RAY_USAGE_STATS_ENABLED=0: this machine is offline.
"""

import contextlib
import os
import pathlib
import secrets
import shutil
import sys
import tempfile
import time

from tests.support import server

REPO = pathlib.Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 120.0  # Seconds the Jobs API and Ray Client may take to answer after the nodes are up.
CLUSTER_ENVIRONMENT = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "token",
}


class LocalCluster:
    """A running private cluster: its addresses, its worker nodes, and adding or removing one.

    Attributes:
        dashboard: the dashboard (Jobs API) address, e.g. `http://127.0.0.1:41234`.
        client: the Ray Client address, e.g. `127.0.0.1:41235`.
        workers: the worker nodes (`ray._private.node.Node`), by the name they were added under.
    """

    def __init__(self, cluster, dashboard_port, client_port):
        self.cluster = cluster
        self.dashboard = f"http://{LOOPBACK}:{dashboard_port}"
        self.client = f"{LOOPBACK}:{client_port}"
        self.workers = {}

    def app_environment(self):
        """Returns the environment variables that point imgrec at this cluster."""
        return {"IMGREC_RAY_ADDRESS": self.dashboard, "IMGREC_RAY_CLIENT_ADDRESS": self.client}

    def add_worker(self, name, *, cpus=1, cwd=None, environment=None):
        """Starts a worker node with a custom resource `name` (to place runs on it) and returns its node id.

        Args:
            name: the node's name and custom resource (1 of it).
            cpus: its CPUs. Defaults to `1`.
            cwd: its working folder (every Ray process of the node inherits it). Defaults to a fresh
                empty folder: a node finds imgrec through PYTHONPATH, as a real one does.
            environment: its environment variables beside PYTHONPATH (the checkout). Defaults to none.
        """
        folder = cwd or tempfile.mkdtemp(prefix="imgrec-node-")
        previous = os.getcwd()
        os.chdir(folder)  # The node's processes start in this process's working folder.
        try:
            node = self.cluster.add_node(num_cpus=cpus, resources={name: 1}, node_ip_address=LOOPBACK,
                                         env_vars={"PYTHONPATH": str(REPO), **(environment or {})})
        finally:
            os.chdir(previous)
        self.workers[name] = node
        return node.node_id

    def remove_worker(self, name):
        """Kills every process of a worker node at once, as a crashed machine would end."""
        self.cluster.remove_node(self.workers.pop(name), allow_graceful=False)

    def wait_ready(self):
        """Waits until the Jobs API accepts a job and Ray Client connects (both lag the nodes by seconds)."""
        import ray
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                client = JobSubmissionClient(self.dashboard)
                client.submit_job(entrypoint="true", entrypoint_num_cpus=0)
                break
            except (RuntimeError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        while not ray.is_initialized():
            try:
                ray.init(f"ray://{self.client}", namespace="imgrec", log_to_driver=False)
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@contextlib.contextmanager
def local_cluster(workers=("node-a", "node-b"), cpus_per_worker=1, environment=None):
    """Starts a private Ray cluster on loopback: a head with no CPUs and the named worker nodes; yields a `LocalCluster`.

    The head runs no training (no CPUs): runs land on worker nodes, as on a real cluster. On
    exit the Ray Client connection closes and every process of the cluster is stopped.

    Args:
        workers: the worker nodes' names (each also a custom resource of 1 on its node).
        cpus_per_worker: CPUs of each worker node. Defaults to `1`.
        environment: more environment variables for the cluster's processes, e.g.
            RAY_JOB_START_TIMEOUT_SECONDS (read by the head's job manager). Defaults to none.
    """
    variables = {**CLUSTER_ENVIRONMENT, **(environment or {}), "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    already_imported = "ray" in sys.modules
    with server.environment(**variables):
        # Ray reads its authentication settings when first imported: set them before, or reload them.
        import ray

        if already_imported:
            from ray._private.authentication_test_utils import reset_auth_token_state

            reset_auth_token_state()
        with _started(ray, workers, cpus_per_worker) as handle:
            yield handle


@contextlib.contextmanager
def _started(ray, workers, cpus_per_worker):
    """Starts the cluster's processes (its environment already set) and stops them, by handle, on the way out."""
    from ray.cluster_utils import Cluster

    pathlib.Path("/tmp/ray").mkdir(exist_ok=True)
    temp_dir = tempfile.mkdtemp(prefix="imgrec-ray-", dir="/tmp")  # Short: Ray's socket paths must stay short.
    dashboard_port, client_port = server.free_port(), server.free_port()
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 0, "node_ip_address": LOOPBACK, "temp_dir": temp_dir, "include_dashboard": True,
            "dashboard_host": LOOPBACK, "dashboard_port": dashboard_port, "ray_client_server_port": client_port})
        handle = LocalCluster(cluster, dashboard_port, client_port)
        for name in workers:
            handle.add_worker(name, cpus=cpus_per_worker)
        cluster.wait_for_nodes()
        handle.wait_ready()
        yield handle
    finally:
        with contextlib.suppress(Exception):
            ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
