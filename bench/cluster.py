"""Training on a Ray cluster against worker processes here, side by side on one machine.

The private cluster comes from `tests/support/ray_cluster.py`.

ray_run_overhead: wall seconds from `jobs.submit` of the quickstart preset to its finished
result, on a private local Ray cluster (a head without CPUs and worker nodes of one CPU each)
against the local executor, alternated in the same process while the cluster is up, both with
one TensorFlow thread; the median of each. The cluster and Ray Client connection are up
before timing, as on a class's cluster. Target ratio <= 1.3.

ray_search_parallelism: wall seconds of a 4-trial random search with both worker nodes against
the same search held to one node (`IMGREC_RAY_RESOURCES`). Two nodes can at best halve it
(ratio 0.5); on a 2-core machine the app, Ray's own processes and the two runs share two cores,
so the note gives the core count.
"""

import os
import statistics
import tempfile
import time

from bench.common import result
from tests.support import ray_cluster
from tests.support.server import environment

OVERHEAD_ROUNDS = 2  # Quickstart runs per executor, alternated; each takes ~30-60 s here.
RUN_TIMEOUT = 900.0
SEARCH_BASE = {"architecture": "cnn", "dataset": "mnist", "max_samples": 4000, "epochs": 2, "batch_size": 64}
SEARCH_TRIALS = 4


def _quickstart_seconds():
    from imgrec import jobs, training

    with tempfile.TemporaryDirectory(prefix="imgrec-bench-runs-") as runs:
        started = time.perf_counter()
        run_id = jobs.submit(training.preset("quickstart"), runs_dir=runs)
        view = jobs.wait(run_id, timeout=RUN_TIMEOUT, poll=0.1, runs_dir=runs)
        seconds = time.perf_counter() - started
    if view["status"] != jobs.DONE:
        raise RuntimeError(f"The quickstart run ended {view['status']}: {view.get('reason')}")
    return seconds, view


def _load():
    """The machine's 1-minute load average, for the notes: a busy shared machine slows both sides unevenly."""
    return os.getloadavg()[0]


def _search_seconds(**variables):
    """Times a 4-trial search; returns (seconds, trials at once, the load average when it ended)."""
    from imgrec import search

    space = search.SearchSpace(learning_rate=(1e-3, 1e-2), dropout=None, l2=None, optimizers=("adam",))
    with tempfile.TemporaryDirectory(prefix="imgrec-bench-runs-") as runs, environment(**variables):
        started = time.perf_counter()
        created = search.Search.create("random", space, SEARCH_TRIALS, SEARCH_BASE, seed=0, runs_dir=runs)
        finished = created.run_until_done(timeout=RUN_TIMEOUT, poll=0.25)
        seconds = time.perf_counter() - started
    statuses = [trial["status"] for trial in finished.trials]
    if statuses != ["done"] * SEARCH_TRIALS:
        ends = [(trial["status"], trial["reason"]) for trial in finished.trials]
        raise RuntimeError(f"The search's trials ended {ends}")
    return seconds, created.concurrency, _load()


def run():
    cores, load_before = os.cpu_count(), _load()
    with ray_cluster.local_cluster(workers=("node-a", "node-b"), cpus_per_worker=1) as cluster, environment(
            IMGREC_RUN_THREADS="1", IMGREC_RAY_CPUS_PER_RUN="1", IMGREC_MAX_RUNS=None, IMGREC_RAY_RESOURCES=None):
        local, on_ray = [], []
        for _ in range(OVERHEAD_ROUNDS):
            with environment(IMGREC_RAY_ADDRESS=None, IMGREC_RAY_CLIENT_ADDRESS=None):
                local.append(_quickstart_seconds()[0])
            with environment(**cluster.app_environment()):
                seconds, view = _quickstart_seconds()
                on_ray.append(seconds)
        overhead_load = _load()
        with environment(**cluster.app_environment()):
            one_node, one_concurrency, one_load = _search_seconds(IMGREC_RAY_RESOURCES='{"node-a": 1}')
            two_nodes, two_concurrency, two_load = _search_seconds()
    local_median, ray_median = statistics.median(local), statistics.median(on_ray)
    return [
        result("ray_run_overhead", ray_median, "s", local_median,
               note=(f"quickstart preset, submit to finished result, 1 thread each, median of {OVERHEAD_ROUNDS}: "
                     f"Ray {', '.join(f'{value:.1f}' for value in on_ray)} s on node {view['node_id'][:8]}, "
                     f"local {', '.join(f'{value:.1f}' for value in local)} s; {cores} cores, load average "
                     f"{load_before:.1f} before and {overhead_load:.1f} after; target ratio <= 1.3")),
        result("ray_search_parallelism", two_nodes, "s", one_node,
               note=(f"{SEARCH_TRIALS}-trial random search ({SEARCH_BASE['max_samples']} MNIST samples, "
                     f"{SEARCH_BASE['epochs']} epochs each): 2 worker nodes ({two_concurrency} trials at once) against "
                     f"1 node ({one_concurrency} at once), load average {one_load:.1f} and {two_load:.1f} at their "
                     f"ends; the best possible ratio is 0.5 (below it, the machine's load fell between the two); "
                     f"the {cores} cores of this machine carry both nodes, Ray and the app")),
    ]
