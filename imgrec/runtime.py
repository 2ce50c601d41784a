"""The process imgrec runs in: the cores it may use, and TensorFlow imported without its start-up noise.

Importing this module is cheap; it imports TensorFlow only when `quiet_tensorflow_import`
is called.
"""

import contextlib
import os
import sys


def cpu_count():
    """Returns the cores this process may use (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def quiet_tensorflow_import():
    """Imports TensorFlow and Keras with TensorFlow's C++ start-up banner (written to fd 2) sent to /dev/null.

    TF 2.21 logs through absl before TF_CPP_MIN_LOG_LEVEL is read, so the environment
    variable alone cannot silence it; a command line owes its users a clean stderr.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def silenced_stderr():
    """Sends everything written to file descriptor 2 inside the block to /dev/null, C++ libraries' output included.

    For TensorFlow's converters and loggers, which write pages of diagnostics straight to fd 2;
    the caller reports what went wrong in its own words.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
