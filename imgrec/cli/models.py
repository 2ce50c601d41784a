"""The `models` command: the registry's models and their measured metrics, as a table, JSON or the README's markdown."""

import sys

from imgrec.cli import common


def add_commands(commands):
    """Adds `models` to the subparsers of the command line."""
    models = commands.add_parser("models", help="list the registry's models and their measured metrics")
    models.add_argument("--json", action="store_true")
    models.add_argument("--markdown", action="store_true", help="the README's table of models")
    models.add_argument("--build-cache", action="store_true", help="build models made on first use (ImageNet)")
    models.set_defaults(func=cmd_models)


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
