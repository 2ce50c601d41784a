"""The registry's commands: `models` (a table, JSON or the README's markdown), `import` a model file, `delete` one."""

import pathlib
import sys

from imgrec.cli import common


def add_commands(commands):
    """Adds `models` to the subparsers of the command line."""
    models = commands.add_parser("models", help="list the registry's models and their measured metrics")
    models.add_argument("--json", action="store_true")
    models.add_argument("--markdown", action="store_true", help="the README's table of models")
    models.add_argument("--build-cache", action="store_true", help="build models made on first use (ImageNet)")
    models.set_defaults(func=cmd_models)

    imported = commands.add_parser("import", help="import a Keras 3 .keras file as a registry model")
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--name", required=True, help="the registry name, e.g. my-cnn")
    classifies = imported.add_mutually_exclusive_group(required=True)
    classifies.add_argument("--dataset", help="the imgrec dataset it classifies; it is measured on its test split")
    classifies.add_argument("--classes", help="its class names, comma-separated, in output order")
    imported.add_argument("--preprocessing", choices=("fit", "mnist-digit", "imagenet"),
                          help="how images become its input (default: the dataset's, or fit)")
    imported.add_argument("--json", action="store_true", help="print the new model card as JSON")
    imported.set_defaults(func=cmd_import)

    delete = commands.add_parser("delete", help="delete a model (shipped models are protected)")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(func=cmd_delete)


def cmd_models(args):
    """`models [--json | --markdown] [--build-cache]`: one line per model."""
    from imgrec import registry

    if args.build_cache:
        for name in registry.BUILT_MODELS:
            registry.ensure_built(name)
            print(f"built {name}", file=sys.stderr)
    cards = registry.list_models()
    if args.json:
        common.print_json([card.to_json() for card in cards])
        return 0
    if args.markdown:
        print(markdown_table(cards))
        return 0
    rows = [("name", "architecture", "dataset", "measured", "split")]
    for card in cards:
        split = card.metrics.split if card.metrics is not None and card.metrics.split else "-"
        rows.append((card.name, card.architecture, card.dataset, card.metric_text(), split))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_import(args):
    """`import FILE --name NAME (--dataset D | --classes A,B,...) [--preprocessing P] [--json]`: the new card."""
    from imgrec import metrics, registry

    data = read_model_file(args.file)
    class_names = [name.strip() for name in args.classes.split(",")] if args.classes is not None else None
    checked = registry.check_import(data, args.name, dataset=args.dataset, class_names=class_names,
                                    preprocessing=args.preprocessing, file_name=args.file)
    report = metrics.evaluate(checked.model, args.dataset) if args.dataset is not None else None
    card = registry.save_import(checked, report)
    if args.json:
        common.print_json(card.to_json())
    else:
        print(f"imported {card.name}: {card.accuracy_text()}")
    return 0


def read_model_file(file_name):
    """Returns the bytes of a model file a user named, reading no more than the import limit allows.

    Raises:
        UserError: when the file is missing, a folder, or over the import size limit.
    """
    from imgrec import registry

    path = pathlib.Path(file_name)
    try:
        with open(path, "rb") as handle:
            data = handle.read(registry.MAX_IMPORT_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise common.UserError(f"{file_name}: no such file.") from None
    except PermissionError:
        raise common.UserError(f"{file_name}: not readable (permission denied).") from None
    if len(data) > registry.MAX_IMPORT_BYTES:
        raise common.UserError(f"{file_name} is over the {registry.MAX_IMPORT_BYTES // 2**20} MiB limit for imported "
                               "models; import a smaller model.")
    return data


def cmd_delete(args):
    """`delete NAME`: deletes a model and its card; shipped models are refused."""
    from imgrec import registry

    registry.delete(args.name)
    print(f"deleted {args.name}")
    return 0


def markdown_table(cards):
    """The README's table of models, every number read from the cards (measured by evaluate).

    Each model is listed with its own metric: a classifier's test accuracy, an autoencoder's
    reconstruction error (mean squared, pixels 0..1).
    """
    lines = [
        "| model | architecture | dataset | test metric | measured on | parameters | file | training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for card in cards:
        seconds = card.training.seconds if card.training is not None else None
        size = card.file_size
        lines.append(
            f"| `{card.name}` | {card.architecture} | {card.dataset} | "
            f"{card.metric_text()} | {card.measured_on_text()} | {card.parameters or 0:,} | "
            f"{f'{size / 1e6:.1f} MB' if size else '-'} | {f'{seconds / 60:.1f} min' if seconds else '-'} |"
        )
    return "\n".join(lines)
