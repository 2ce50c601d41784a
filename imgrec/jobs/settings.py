"""The settings of background runs: concurrency, time limit, threads, fairness and the Ray cluster, from the environment.

Each is read from the environment when asked for (never at import), so tests and admins can
change them without restarting anything.
"""

import json
import os
import sys

from imgrec import runtime, texts
from imgrec.jobs import errors

DEFAULT_TIME_LIMIT = 30 * 60  # IMGREC_RUN_TIME_LIMIT: a class period is longer than any sane demo run.
MAX_QUEUED = 100  # More waiting runs than a class of students could want; caps disk use by a runaway script.
CANCEL_POLL_SECONDS = 0.2  # should_stop stats the cancel file at most this often.
CANCEL_GRACE = 5.0  # Seconds a cooperative cancel may take before the worker gets SIGTERM...
KILL_GRACE = 3.0  # ...and then SIGKILL.
TIME_LIMIT_GRACE = 30.0  # Past the time limit plus this, the run is killed even if it never checks.
DEFAULT_RUNS_PER_SESSION = 2  # IMGREC_MAX_RUNS_PER_SESSION: one training and one waiting per student.
DEFAULT_RAY_CLIENT_PORT = 10001  # What `ray start --head` listens on for Ray Client connections.


def max_runs(default=None):
    """Returns how many runs may train at once: `IMGREC_MAX_RUNS`, else `default`, else half the cores (at least 1).

    Half the cores, because one TensorFlow run already uses every thread it is given: two runs
    on two cores finish no sooner in total than one after the other, but each of them takes
    twice as long to show its curves, and the web server has to fight both for a core.

    Args:
        default: the limit when `IMGREC_MAX_RUNS` is not set (a Ray cluster's capacity).
            Defaults to `None`: half the cores.

    Raises:
        JobError: when `IMGREC_MAX_RUNS` is not a whole number of at least 1.
    """
    return _env_int("IMGREC_MAX_RUNS", max(1, runtime.cpu_count() // 2) if default is None else default, minimum=1)


def time_limit():
    """Returns the per-run time limit in seconds: `IMGREC_RUN_TIME_LIMIT`, else 1800.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    return _env_int("IMGREC_RUN_TIME_LIMIT", DEFAULT_TIME_LIMIT, minimum=1)


def threads_per_run():
    """Returns TensorFlow's intra-op thread count for one run: `IMGREC_RUN_THREADS`, else a share of the cores.

    The default gives each of the `max_runs()` concurrent runs `cores // max_runs()` threads,
    and 1 thread when more runs than cores may run, so a full queue never oversubscribes the CPU.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    cores, limit = runtime.cpu_count(), max_runs()
    default = 1 if limit >= cores else cores // limit
    return _env_int("IMGREC_RUN_THREADS", default, minimum=1)


def max_runs_per_session():
    """Returns how many queued plus running runs one app session may have: `IMGREC_MAX_RUNS_PER_SESSION`, else 2.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    return _env_int("IMGREC_MAX_RUNS_PER_SESSION", DEFAULT_RUNS_PER_SESSION, minimum=1)


def ray_address():
    """Returns the Ray dashboard address runs go to (`IMGREC_RAY_ADDRESS`, e.g. `http://head:8265`), or None."""
    return os.environ.get("IMGREC_RAY_ADDRESS", "").strip().rstrip("/") or None


def ray_client_address(dashboard_address):
    """Returns the Ray Client address the app reads runs' mailboxes through: `IMGREC_RAY_CLIENT_ADDRESS`, else port 10001 of the head."""
    configured = os.environ.get("IMGREC_RAY_CLIENT_ADDRESS", "").strip()
    if configured:
        return configured if configured.startswith("ray://") else f"ray://{configured}"
    host = dashboard_address.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return f"ray://{host}:{DEFAULT_RAY_CLIENT_PORT}"


def ray_cpus_per_run():
    """Returns the CPUs a run reserves on a Ray node (its TensorFlow threads too): `IMGREC_RAY_CPUS_PER_RUN`, else 1.

    Raises:
        JobError: when the variable is not a whole number of at least 1.
    """
    return _env_int("IMGREC_RAY_CPUS_PER_RUN", 1, minimum=1)


def ray_python():
    """Returns the Python a Ray worker node runs runs with: `IMGREC_RAY_PYTHON`, else this process's own (absolute) path.

    An absolute path, because a job's shell on a worker node need not have the virtualenv on its PATH.
    """
    return os.environ.get("IMGREC_RAY_PYTHON", "").strip() or os.path.abspath(sys.executable)


def ray_resources():
    """Returns the custom Ray resources a run asks for (`IMGREC_RAY_RESOURCES`, a JSON object such as `{"imgrec": 1}`).

    Raises:
        JobError: when the variable is not a JSON object of positive numbers.
    """
    text = os.environ.get("IMGREC_RAY_RESOURCES", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
            isinstance(amount, int | float) and not isinstance(amount, bool) and amount > 0 for amount in value.values()):
        raise errors.JobError(f'IMGREC_RAY_RESOURCES must be a JSON object of positive numbers such as {{"imgrec": 1}}, '
                              f"got {text!r}.")
    return {str(name): float(amount) for name, amount in value.items()}


def time_limit_reason(seconds):
    """Returns the reason a run that reached its time limit failed with."""
    return f"Time limit of {seconds} s reached; train on fewer samples or epochs, or raise IMGREC_RUN_TIME_LIMIT."


def _env_int(name, default, *, minimum):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise texts.said(errors.JobError, "errors_jobs.setting_count", name=name, minimum=minimum, text=text)
    return value
