"""The settings of background runs: concurrency, time limit and threads, each overridable from the environment.

Each is read from the environment when asked for (never at import), so tests and admins can
change them without restarting anything.
"""

import os

from imgrec import runtime
from imgrec.jobs import errors

DEFAULT_TIME_LIMIT = 30 * 60  # IMGREC_RUN_TIME_LIMIT: a class period is longer than any sane demo run.
MAX_QUEUED = 100  # More waiting runs than a class of students could want; caps disk use by a runaway script.
CANCEL_POLL_SECONDS = 0.2  # should_stop stats the cancel file at most this often.
CANCEL_GRACE = 5.0  # Seconds a cooperative cancel may take before the worker gets SIGTERM...
KILL_GRACE = 3.0  # ...and then SIGKILL.
TIME_LIMIT_GRACE = 30.0  # Past the time limit plus this, the run is killed even if it never checks.


def max_runs():
    """Returns how many runs may train at once: `IMGREC_MAX_RUNS`, else half the cores (at least 1).

    Half the cores, because one TensorFlow run already uses every thread it is given: two runs
    on two cores finish no sooner in total than one after the other, but each of them takes
    twice as long to show its curves, and the web server has to fight both for a core.

    Raises:
        JobError: when `IMGREC_MAX_RUNS` is not a whole number of at least 1.
    """
    return _env_int("IMGREC_MAX_RUNS", max(1, runtime.cpu_count() // 2), minimum=1)


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
        raise errors.JobError(f"{name} must be a whole number of at least {minimum}, got {text!r}.")
    return value
