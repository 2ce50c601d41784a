"""The inference worker process: owns TensorFlow and the models, answers one request at a time on its connection.

Started by `pool.py` as `python -m imgrec.serving.worker FD ...`, never by hand. It imports
TensorFlow once, says it is ready, then loops: receive `(operation, reference, args, kwargs,
environment)`, load the model (once per worker, least recently used dropped beyond
`max_models`), run the allowed operation, send `("ok", value)` or `("error", exception,
sentence)`. It ends when its connection closes (the server stopped or dropped it) or when
its parent process is gone, so a killed server leaves no workers behind.
"""

import argparse
import collections
import gc
import logging
import os
import pickle
import sys
import threading
import time

from imgrec import runtime
from imgrec.serving import operations

LOGGER = logging.getLogger("imgrec.serving")
PARENT_POLL_SECONDS = 1.0  # How often the worker checks that the server that started it still runs.


class Models:
    """The models one worker holds: loaded on first use, least recently used dropped beyond `limit`."""

    def __init__(self, limit):
        self.limit = limit
        self.loaded = collections.OrderedDict()

    def get(self, reference, environment):
        # The folders are part of the key: the same name in another registry is another model.
        folders = tuple(sorted((name, value) for name, value in environment.items()
                               if name in operations.FOLDER_VARIABLES))
        key = (operations.check_reference(reference), folders)
        if key in self.loaded:
            self.loaded.move_to_end(key)
            return self.loaded[key]
        loaded = operations.load_reference(reference)
        self.loaded[key] = loaded
        while len(self.loaded) > self.limit:
            self.loaded.popitem(last=False)
        return loaded


def apply_environment(environment):
    """Sets imgrec's folders and limits as the server has them (it may change them after starting the pool)."""
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def answer(models, request):
    """Runs one request; returns the reply to send."""
    try:
        name, reference, args, kwargs, environment = request
        function = operations.check_operation(name)
        apply_environment(environment)
        loaded = models.get(reference, environment) if reference is not None else None
        return ("ok", function(loaded, *args, **kwargs))
    except Exception as error:  # Any failure is the request's, never the worker's: report it and go on.
        if not isinstance(error, ValueError | LookupError) and type(error).__module__.split(".")[0] != "imgrec":
            LOGGER.warning("Inference request %r failed", request[0] if request else None, exc_info=True)
        try:
            pickle.loads(pickle.dumps(error))  # The server must be able to rebuild it, not only this side.
        except Exception:
            error = None
        return ("error", error, str(error) if error is not None else "The request failed in the inference worker.")


def watch_parent(parent):
    """Ends the process when the process that started it is gone (a killed server must not leave workers)."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(PARENT_POLL_SECONDS)


def configure_threads(threads):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def serve(connection, *, threads, max_models):
    """Imports TensorFlow, says it is ready and answers requests until the connection closes."""
    runtime.quiet_tensorflow_import()
    configure_threads(threads)
    from imgrec import explain, registry  # noqa: F401  (imported now, so the first request does not pay for it)

    # TensorFlow's and Keras's import-time objects (hundreds of thousands) leave every future
    # collection; the models themselves stay collectable, so dropping one frees it.
    gc.collect()
    gc.freeze()
    connection.send(("ready", os.getpid()))
    models = Models(max_models)
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return 0
        reply = answer(models, request)
        try:
            connection.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            connection.send(("error", None, f"The result of {request[0]!r} could not be sent back: {error}."))
        except (BrokenPipeError, OSError):
            return 0


def main(argv=None):
    from multiprocessing.connection import Connection

    parser = argparse.ArgumentParser(prog="python -m imgrec.serving.worker", description=__doc__.splitlines()[0])
    parser.add_argument("fd", type=int, help="the file descriptor of this worker's end of the connection")
    parser.add_argument("--parent", type=int, required=True, help="the pid of the process that started it")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-models", type=int, default=4)
    args = parser.parse_args(argv)
    threading.Thread(target=watch_parent, args=(args.parent,), daemon=True, name="watch-parent").start()
    return serve(Connection(args.fd), threads=args.threads, max_models=args.max_models)


if __name__ == "__main__":
    sys.exit(main())
