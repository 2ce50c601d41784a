"""Serving models to the app: a pool of inference worker processes that own TensorFlow and every model.

- `operations`: the allow-list of named operations a worker performs, and model references.
- `pool`: the workers, requests to them, crash and hang handling, a clean shutdown.
- `worker`: what runs in a worker process (`python -m imgrec.serving.worker`, started by the pool).

Importing this package is cheap (no TensorFlow): the web server imports it and never TensorFlow.
"""

from imgrec.serving.operations import OPERATIONS, registry_model, run_model
from imgrec.serving.pool import Pool, ServingError, default_threads, default_workers, shared_pool

__all__ = [
    "OPERATIONS",
    "Pool",
    "ServingError",
    "default_threads",
    "default_workers",
    "registry_model",
    "run_model",
    "shared_pool",
]
