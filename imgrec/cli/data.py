"""The `data` command: the datasets, the source each would load from here and their sizes; `--fetch` fills the cache."""

import sys

from imgrec.cli import common


def add_commands(commands):
    """Adds `data` to the subparsers of the command line."""
    data = commands.add_parser("data", help="list datasets, their present source and sizes")
    data.add_argument("--fetch", action="store_true", help="copy MNIST and Fashion-MNIST into the data cache")
    data.add_argument("--json", action="store_true")
    data.set_defaults(func=cmd_data)


def cmd_data(args):
    """`data [--fetch] [--json]`: one line per dataset."""
    from imgrec import datasets

    if args.fetch:
        for name in ("mnist", "fashion-mnist"):
            try:
                path = datasets.fetch_to_cache(name)
            except Exception as error:  # Best effort by design: `make data` must never fail.
                path = None
                print(f"{name}: could not fetch ({error})", file=sys.stderr)
            print(f"{name}: {'cached in ' + str(path) if path else 'no source available'}", file=sys.stderr)
    rows = datasets.info()
    if args.json:
        common.print_json(rows)
        return 0
    for row in rows:
        source = row.get("present_source") or "not available"
        sizes = f"{row.get('train_size', '-')} train / {row.get('test_size', '-')} test" if row.get("present_source") else ""
        print(f"{row['name']:<16} {source:<48} {sizes}")
    return 0
