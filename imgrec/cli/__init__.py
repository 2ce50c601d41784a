"""The command line: `python -m imgrec COMMAND`, one module per command group.

The commands: models, import, delete, predict, evaluate, explain, trust, localisation,
features, embed, report, train, data, export, runs and search; each module adds its commands
to the parser.
Every error a user can cause exits with status 2 and one line on stderr, never a traceback.
"""

import os
import sys

from imgrec import runtime
from imgrec.cli import (
    common,
    data,
    explain,
    export,
    learned,
    models,
    predict,
    report,
    runs,
    search,
    train,
    trust,
)

# TensorFlow's C++ start-up chatter is not for users of a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Listing data, queueing and polling runs and searches never touch TensorFlow; its import costs seconds.
COMMANDS_WITHOUT_TENSORFLOW = ("data", "runs", "search")


def build_parser():
    """Returns the parser of the whole command line, each command's handler set as `func`."""
    parser = common.Parser(prog="python -m imgrec", description="See, explain and train image-recognition models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=common.Parser)
    for module in (models, predict, explain, learned, report, train, data, export, runs, search, trust):
        module.add_commands(commands)
    return parser


def main(argv=None):
    """Runs one command; returns its exit status (2 for an error the user caused, printed as one line).

    Args:
        argv: the arguments after `python -m imgrec`. Defaults to `sys.argv[1:]`.
    """
    try:
        args = build_parser().parse_args(argv)
        if args.command not in COMMANDS_WITHOUT_TENSORFLOW:
            runtime.quiet_tensorflow_import()
        return args.func(args)
    except common.UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return common.USER_ERROR
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        return 0
    except Exception as error:
        if isinstance(error, common.user_error_types()):
            print(f"error: {error}", file=sys.stderr)
            return common.USER_ERROR
        raise
