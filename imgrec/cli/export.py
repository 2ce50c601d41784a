"""The `export` command: writes a registry model as a .keras file, a TFLite flatbuffer or a SavedModel."""

import pathlib


def add_commands(commands):
    """Adds `export` to the subparsers of the command line."""
    export_parser = commands.add_parser("export", help="export a model as .keras, TFLite or SavedModel")
    export_parser.add_argument("--model", required=True)
    export_parser.add_argument("--format", choices=("keras", "tflite", "savedmodel"), default="keras")
    export_parser.add_argument("--output", required=True)
    export_parser.set_defaults(func=cmd_export)


def cmd_export(args):
    """`export --model NAME [--format F] --output PATH`: prints the path written."""
    from imgrec import export, registry

    classifier = registry.load(args.model)
    path = export.export(classifier, args.format, pathlib.Path(args.output))
    print(path)
    return 0
