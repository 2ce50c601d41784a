"""The `data` command: each dataset, where it would load from here and its sizes, how to get the rest; `--fetch`."""

import sys

from imgrec.cli import common

FETCHED = ("mnist", "fashion-mnist", "cifar10")  # The datasets `--fetch` copies into the data cache.


def add_commands(commands):
    """Adds `data` to the subparsers of the command line."""
    data = commands.add_parser("data", help="list datasets, their present source and sizes, and how to get the rest")
    data.add_argument("--fetch", action="store_true",
                      help="copy MNIST, Fashion-MNIST and (online) CIFAR-10 into the data cache")
    data.add_argument("--json", action="store_true")
    data.set_defaults(func=cmd_data)


def cmd_data(args):
    """`data [--fetch] [--json]`: one line per dataset, then how to get each one that is missing."""
    from imgrec import datasets

    if args.fetch:
        for name in FETCHED:
            if datasets.describe(name).source is None:
                print(f"{name}: not on this machine. {datasets.how_to_get(name)}", file=sys.stderr)
                continue
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
        source = row.get("present_source") or "not on this machine"
        sizes = f"{row.get('train_size', '-')} train / {row.get('test_size', '-')} test" if row.get("present_source") else ""
        print(f"{row['name']:<16} {source:<48} {sizes}".rstrip())
    for row in rows:
        if not row.get("present_source"):
            print(f"\n{row['name']}: {row['how_to_get']}")
    return 0
