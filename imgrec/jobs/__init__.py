"""Background training runs: a folder per run, a worker process per run, a queue, cancel and a time limit.

The web server never trains: it writes a run folder and starts a worker process, then polls
the folder (`folders` describes its files). The modules:

- `settings`: how many runs at once, their time limit and threads (environment variables).
- `folders`: run ids, run folders, their files and states, the runs folder's lock.
- `processes`: starting worker processes, telling whether one is alive, signalling it.
- `queue`: the state machine (submit, pump, recover, status, list, cancel, wait, delete).
- `worker`: what runs in the worker process; `tensorboard`: its TensorBoard logs.
- `results`: the test results a run writes, and its model, checked before use.
- `filters`: background jobs that picture a large model's filters, cached beside the model.

Importing this package is cheap (no TensorFlow): listing and polling runs must stay fast in
the web server and on the command line. `python -m imgrec runs ...` is its command line.
"""

from imgrec.jobs import filters
from imgrec.jobs.errors import JobError
from imgrec.jobs.folders import (
    CANCEL_FILE,
    CANCELLED,
    CONFIG_FILE,
    DONE,
    FAILED,
    FINISHED_STATES,
    LOG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    QUEUED,
    RESULT_FILE,
    RUN_ID_PATTERN,
    RUNNING,
    STATES,
    STATUS_FILE,
    TENSORBOARD_DIR,
    validate_run_id,
)
from imgrec.jobs.queue import (
    DIED_REASON,
    cancel,
    cancel_requested,
    delete_run,
    list_runs,
    pump,
    read_config,
    read_metrics,
    recover,
    result,
    status,
    submit,
    wait,
)
from imgrec.jobs.results import load_run_model, model_bytes, save_run_as_model
from imgrec.jobs.settings import (
    CANCEL_GRACE,
    DEFAULT_TIME_LIMIT,
    KILL_GRACE,
    MAX_QUEUED,
    TIME_LIMIT_GRACE,
    max_runs,
    threads_per_run,
    time_limit,
)
from imgrec.jobs.worker import MEMORY_REASON, NAN_REASON, StopCheck, failure_reason
from imgrec.paths import runs_dir

__all__ = [
    "CANCEL_FILE", "CANCEL_GRACE", "CANCELLED", "CONFIG_FILE", "DEFAULT_TIME_LIMIT", "DIED_REASON", "DONE", "FAILED",
    "FINISHED_STATES", "KILL_GRACE", "LOG_FILE", "MAX_QUEUED", "MEMORY_REASON", "METRICS_FILE", "MODEL_FILE",
    "NAN_REASON", "QUEUED", "RESULT_FILE", "RUN_ID_PATTERN", "RUNNING", "STATES", "STATUS_FILE", "TENSORBOARD_DIR",
    "TIME_LIMIT_GRACE", "JobError", "StopCheck", "cancel", "cancel_requested", "delete_run", "failure_reason", "filters",
    "list_runs", "load_run_model", "max_runs", "model_bytes", "pump", "read_config", "read_metrics", "recover",
    "result", "runs_dir", "save_run_as_model", "status", "submit", "threads_per_run", "time_limit", "validate_run_id",
    "wait",
]
