"""What every command of the command line shares: the user-error type, the parser that raises it, JSON and number printing."""

import argparse
import json
import math
import pathlib
import sys

USER_ERROR = 2  # The exit status of every error a user can cause.


# An action's --json only sets the value when given, so `runs --json show ID` works too.
JSON_FLAG = {"action": "store_true", "default": argparse.SUPPRESS, "help": "print JSON"}


def add_action(actions, name, help_text, func, *, id_name=None, json_flag=True):
    """Adds one action of a command group (`runs show ID`, `search wait ID`...) and returns its parser.

    Args:
        actions: the group's subparsers.
        name: the action's name.
        help_text: its one-line help.
        func: its handler, called with the parsed arguments.
        id_name: the attribute of its ID argument (e.g. `"run_id"`), or None for none. Defaults to `None`.
        json_flag: whether it takes `--json`. Defaults to `True`.
    """
    parser = actions.add_parser(name, help=help_text)
    if id_name:
        parser.add_argument(id_name, metavar="ID")
    if json_flag:
        parser.add_argument("--json", **JSON_FLAG)
    parser.set_defaults(func=func)
    return parser


def checked_timeout(seconds):
    """Returns a `--timeout` as given (None for none).

    Raises:
        UserError: for a negative or non-finite number of seconds.
    """
    if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
        raise UserError("--timeout must be a number of seconds of at least 0.")
    return seconds


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
        "imgrec.search": "SearchError",
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


def print_id(args, new_id):
    """Prints the id of what a command created: `{"id": ...}` with `--json`, else the id alone."""
    if getattr(args, "json", False):
        print_json({"id": new_id})
    else:
        print(new_id)


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


def read_images(file_names):
    """Returns the decoded RGB image of each file a user named.

    Raises:
        UserError: for a missing, unreadable or refused file, naming it.
    """
    from imgrec import images

    pictures = []
    for file_name in file_names:
        path = pathlib.Path(file_name)
        if not path.is_file():
            raise UserError(f"{file_name}: no such file.")
        try:
            pictures.append(images.read_image_file(path))
        except images.ImageError as error:
            raise UserError(f"{file_name}: {error}") from None
        except OSError as error:
            raise UserError(f"{file_name}: cannot be read ({error.strerror or error}).") from None
    return pictures


def applicable_explainer(classifier, method):
    """Returns the explainer record named `method` if it applies to the model.

    Raises:
        UserError: for an unknown method or one that does not apply, listing those that do.
    """
    from imgrec import explain

    records = {record.name: record for record in explain.applicable(classifier.model)}
    if method in records:
        return records[method]
    choices = ", ".join(records)
    if method in explain.EXPLAINERS:
        raise UserError(f"--method {method} does not apply to model {classifier.name!r}; choose one of {choices}.")
    raise UserError(f"Unknown --method {method!r}; for model {classifier.name!r} choose one of {choices}.")


def check_class_index(classifier, class_index):
    """Checks a --class a user gave (None: the top class, decided later) against the model's classes.

    Raises:
        UserError: for an index outside the model's classes.
    """
    count = len(classifier.class_names)
    if class_index is not None and not 0 <= class_index < count:
        raise UserError(f"--class must be from 0 to {count - 1} for model {classifier.name!r} ({count} classes), "
                        f"got {class_index}.")


def config_from_args(args):
    """Returns the training settings a command was given: a config file or a preset, then `--epochs`, `--max-samples`.

    Args:
        args: parsed arguments with `config` (a file name or None), `preset` (a name or None),
            `epochs` and `max_samples` (None when not given).

    Raises:
        UserError: for a config file that is missing or not a JSON object.
        training.ConfigError: for an unknown preset.
    """
    from imgrec import training

    values = training.preset(args.preset).to_dict() if args.preset else read_config_file(args.config)
    if args.epochs is not None:
        values["epochs"] = args.epochs
    if args.max_samples is not None:
        values["max_samples"] = args.max_samples
    return values
