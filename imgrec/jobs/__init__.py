"""Background training runs: a folder per run, a worker per run (a process here or a job on Ray), a queue, cancel, a time limit.

The web server never trains: it writes a run folder and starts a worker, then polls the
folder (`folders` describes its files). The modules:

- `settings`: how many runs at once, their time limit, threads, per-session limit, the Ray cluster (environment).
- `folders`: run ids, run folders, their files and states, reading them, the runs folder's lock.
- `executors`: where runs execute, one interface: worker processes here (`processes`), or a
  Ray cluster when IMGREC_RAY_ADDRESS is set (`ray_executor` on the app's side, `ray_worker`
  on the node, `mailbox` and `mirror` carrying the run folder between them; `identity` checks
  both run the same imgrec). Nothing of Ray is imported without the address.
- `queue`: the state machine (submit, pump, recover, status, list, cancel, wait, delete).
- `events`: a run's progress events read incrementally (`read_events`) and shared by viewers (`progress`).
- `worker`: what runs in the worker process; `tensorboard`: its TensorBoard logs;
  `tensorboard_server`: serving them (`python -m imgrec runs tensorboard ID`).
- `results`: the test results a run writes, and its model, checked before use.
- `filters`: background jobs that picture a large model's filters, cached beside the model.
- `quota`: the runs folder's disk limit (`IMGREC_RUNS_MAX_MB`), pruning the oldest finished
  runs, and their log `runs/pruned.log`.

Importing this package is cheap (no TensorFlow, no Ray): listing and polling runs must stay
fast in the web server and on the command line. `python -m imgrec runs ...` is its command line.
"""

from imgrec.jobs import filters
from imgrec.jobs.errors import JobError
from imgrec.jobs.events import Progress, progress, read_events
from imgrec.jobs.executors import max_runs
from imgrec.jobs.folders import (
    CANCEL_FILE,
    CANCELLED,
    CONFIG_FILE,
    DAMAGED_REASON,
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
    STATE_PHRASES,
    STATES,
    STATUS_FILE,
    TENSORBOARD_DIR,
    read_config,
    read_metrics,
    validate_run_id,
)
from imgrec.jobs.queue import (
    DIED_REASON,
    cancel,
    cancel_requested,
    check_config,
    delete_run,
    list_runs,
    pump,
    recover,
    result,
    status,
    submit,
    wait,
)
from imgrec.jobs.quota import PRUNE_LOG, pruned_log
from imgrec.jobs.results import load_run_model, model_bytes, save_run_as_model
from imgrec.jobs.settings import (
    CANCEL_GRACE,
    DEFAULT_TIME_LIMIT,
    KILL_GRACE,
    MAX_QUEUED,
    TIME_LIMIT_GRACE,
    max_runs_per_session,
    ray_address,
    threads_per_run,
    time_limit,
)
from imgrec.jobs.worker import MEMORY_REASON, NAN_REASON, StopCheck, failure_reason
from imgrec.paths import runs_dir

__all__ = [
    "CANCELLED", "CANCEL_FILE", "CANCEL_GRACE", "CONFIG_FILE", "DAMAGED_REASON", "DEFAULT_TIME_LIMIT", "DIED_REASON",
    "DONE", "FAILED", "FINISHED_STATES", "KILL_GRACE", "LOG_FILE", "MAX_QUEUED", "MEMORY_REASON", "METRICS_FILE",
    "MODEL_FILE", "NAN_REASON", "PRUNE_LOG", "QUEUED", "RESULT_FILE", "RUNNING", "RUN_ID_PATTERN", "STATES",
    "STATE_PHRASES", "STATUS_FILE", "TENSORBOARD_DIR", "TIME_LIMIT_GRACE", "JobError", "Progress", "StopCheck",
    "cancel", "cancel_requested", "check_config", "delete_run", "failure_reason", "filters", "list_runs", "load_run_model",
    "max_runs", "max_runs_per_session", "model_bytes", "progress", "pruned_log", "pump", "ray_address", "read_config",
    "read_events", "read_metrics", "recover", "result", "runs_dir", "save_run_as_model", "status", "submit",
    "threads_per_run", "time_limit", "validate_run_id", "wait",
]
