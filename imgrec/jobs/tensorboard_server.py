"""Serving a run's TensorBoard logs on a local port, through the `tensorboard` package (imported only here)."""

import sys
import types

from imgrec import texts
from imgrec.jobs import errors, folders

DEFAULT_HOST = "127.0.0.1"  # Loopback: a run's logs reach the network only when someone asks for it.


def command(run_id):
    """Returns the command line that serves a run's logs, as the run's page shows it."""
    return f"python -m imgrec runs tensorboard {folders.validate_run_id(run_id)}"


def log_dir(run_id, *, runs_dir=None):
    """Returns a run's TensorBoard folder (`runs/<id>/tb`, with `train/` and `validation/` runs in it).

    Raises:
        JobError: for an invalid or unknown id, or a run that has logged nothing yet.
    """
    folder = folders.find(run_id, folders.root_of(runs_dir)) / folders.TENSORBOARD_DIR
    if not any(folder.glob("*/events.out.tfevents.*")):
        raise texts.said(errors.JobError, "errors_jobs.no_logs", run_id=run_id)
    return folder


def serve(run_id, *, host=DEFAULT_HOST, port=None, runs_dir=None):
    """Starts TensorBoard on a run's logs in a background thread of this process; returns its URL.

    It serves until the process ends; it re-reads the logs every few seconds, so a run that is
    still training shows its new epochs.

    Args:
        run_id: the run's id.
        host: the address to listen on. Defaults to `"127.0.0.1"` (this machine only).
        port: the port, or 0 for any free one. Defaults to `None`: TensorBoard's 6006, or the
            next free port after it.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The URL it answers on, e.g. `"http://127.0.0.1:6006/"`.

    Raises:
        JobError: for an unknown run, a run with no logs yet, or a port that is taken.
    """
    # TensorBoard reads event files with its own pure-Python stub of TensorFlow's file API when the
    # module `tensorboard.compat.notf` exists (the marker of its TensorFlow-free build); otherwise
    # it imports TensorFlow, which costs 5-20 s and ~300 MB here to serve a few scalars.
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from tensorboard import program

    logs = log_dir(run_id, runs_dir=runs_dir)
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise errors.JobError(f"The port must be a whole number from 0 to 65535, got {port!r}.")
    board = program.TensorBoard()
    # The Python loader: the logs of one small run need no separate data-server process.
    argv = [None, "--logdir", str(logs), "--host", host, "--load_fast", "false", "--reload_interval", "5"]
    board.configure(argv=argv + (["--port", str(port)] if port is not None else []))
    try:
        return board.launch()
    except program.TensorBoardServerException as error:
        raise errors.JobError(f"TensorBoard cannot listen on {host}: {error.msg.rstrip('.')}; choose another port "
                              "with --port, or 0 for any free one.") from None
