"""Test machinery for tests/e2e/test_fault_campaign.py: a server process that hangs in the middle of a registry save.

Python imports `sitecustomize` at start-up from its path, so a process started with this
folder on PYTHONPATH and `IMGREC_HANG_SAVE` naming a model stops for good between writing
that model's temporary files and renaming the first into place (where a kill hurts most),
after writing its pid to the file `IMGREC_HANG_MARKER` names. Without the variable, or for
any other file, `os.replace` is untouched.
"""

import os
import pathlib
import time

_HANG_NAME = os.environ.get("IMGREC_HANG_SAVE")

if _HANG_NAME:
    _real_replace = os.replace

    def _replace(source, target, *args, **kwargs):
        if pathlib.Path(source).name.startswith(f".{_HANG_NAME}.") and str(target).endswith(".keras"):
            pathlib.Path(os.environ["IMGREC_HANG_MARKER"]).write_text(str(os.getpid()))
            while True:  # Until the test kills this process.
                time.sleep(60)
        return _real_replace(source, target, *args, **kwargs)

    os.replace = _replace
