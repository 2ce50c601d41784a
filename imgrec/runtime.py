"""The process imgrec runs in: the cores it may use, and TensorFlow imported without its start-up noise.

Importing this module is cheap; it imports TensorFlow only when `quiet_tensorflow_import`
is called.
"""

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
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
