"""What every command of the command line shares: the user-error type, the parser that raises it, JSON and number printing."""

import argparse
import json
import pathlib
import sys

USER_ERROR = 2  # The exit status of every error a user can cause.


class UserError(Exception):
    """An error the user caused; printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are `UserError`s (one line, exit 2), not argparse's usage text."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


def user_error_types():
    """Returns the exception types that mean "the user got something wrong", for one-line reporting."""
    # Only modules already imported can have raised their errors; importing the rest here
    # would pull in TensorFlow just to print a message.
    names = {
        "imgrec.registry": "RegistryError",
        "imgrec.training": "ConfigError",
        "imgrec.images": "ImageError",
        "imgrec.datasets": "DatasetUnavailable",
        "imgrec.export": "ExportError",
        "imgrec.jobs": "JobError",
    }
    types = [UserError]
    for module_name, class_name in names.items():
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, class_name):
            types.append(getattr(module, class_name))
    return tuple(types)


def require_classifier(classifier, command):
    """Raises a `UserError` when a loaded model has no class scores (an autoencoder), for commands that need them."""
    if not classifier.card.is_classifier:
        raise UserError(f"Model {classifier.name!r} is an autoencoder: it rebuilds images and has no class scores "
                        f"to {command}; try `python -m imgrec evaluate` or `embed` with it.")


def print_json(value):
    """Prints a value as indented JSON; numpy scalars and arrays print as numbers and lists."""
    print(json.dumps(value, indent=2, default=_json_default))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def format_percent(value):
    """Returns a fraction as a percentage with two decimals (`0.9912` -> `99.12%`), or `-` when it is not a number."""
    return f"{value * 100:.2f}%" if isinstance(value, int | float) else "-"


def read_config_file(file_name):
    """Returns the JSON object of settings in a config file a user named.

    Raises:
        UserError: when the file is missing, is not JSON, or is not a JSON object.
    """
    try:
        values = json.loads(pathlib.Path(file_name).read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise UserError(f"{file_name}: no such file.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{file_name}: not a JSON file.") from None
    if not isinstance(values, dict):
        raise UserError(f"{file_name}: a config must be a JSON object of settings.")
    return values
