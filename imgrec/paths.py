"""The folders imgrec reads and writes: the repository root and the env-overridable data, models, runs and cache.

Each folder is read from the environment when asked for (never at import), so a test, an
admin or a CLI flag that sets `IMGREC_*_DIR` after import still takes effect.

Example:

>>> models_dir().name
'models'
"""

import os
import pathlib

# The checkout imgrec runs from: shipped models, the app and the worker entry points live here.
REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def _folder(variable, default):
    return pathlib.Path(os.environ.get(variable) or default)


def data_dir():
    """Returns the data cache: `IMGREC_DATA_DIR` if set, else `<repo>/data`."""
    return _folder("IMGREC_DATA_DIR", REPO_ROOT / "data")


def models_dir():
    """Returns the registry folder: `IMGREC_MODELS_DIR` if set, else `<repo>/models`."""
    return _folder("IMGREC_MODELS_DIR", REPO_ROOT / "models")


def runs_dir():
    """Returns the runs folder: `IMGREC_RUNS_DIR` if set, else `<repo>/runs`."""
    return _folder("IMGREC_RUNS_DIR", REPO_ROOT / "runs")


def cache_dir():
    """Returns the folder for models built on first use: `IMGREC_CACHE_DIR` if set, else `<repo>/.cache`."""
    return _folder("IMGREC_CACHE_DIR", REPO_ROOT / ".cache")


def display_path(path):
    """Returns a path as people should read it: relative to the repository when inside it.

    The path is tried as written before it is resolved, so a folder of the checkout that links
    elsewhere (data/ on another disk) still reads as `data/...`.
    """
    path = pathlib.Path(path)
    for spelled in (path.absolute, path.resolve):
        try:
            return str(spelled().relative_to(REPO_ROOT))
        except (ValueError, OSError):
            continue
    return str(path)
