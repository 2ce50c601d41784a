"""Runs every benchmark, prints a table and writes bench/results.json.

Usage: python -m bench [NAME ...]   (names: training, predict, studio, load, trust, live_view, cluster)

`cluster` starts a private Ray cluster on this machine (it needs requirements-cluster.txt).
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUITES = ("training", "predict", "studio", "load", "trust", "live_view", "cluster")
RESULTS = pathlib.Path(__file__).resolve().parent / "results.json"


def main(argv=None):
    import importlib
    import importlib.util

    names = list(argv if argv is not None else sys.argv[1:]) or list(SUITES)
    if "cluster" in names and importlib.util.find_spec("ray") is None:
        print("cluster: skipped, Ray is not installed (pip install -r requirements-cluster.txt)", file=sys.stderr)
        names.remove("cluster")
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        print(f"error: unknown benchmark {unknown[0]!r}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        suite = importlib.import_module(f"bench.{name}")
        rows += suite.run()
    print(f"{'benchmark':<40} {'value':>12} {'unit':<10} {'baseline':>12} {'ratio':>7}")
    for row in rows:
        baseline = f"{row['baseline']:.2f}" if row["baseline"] else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(f"{row['name']:<40} {row['value']:>12.2f} {row['unit']:<10} {baseline:>12} {ratio:>7}")
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
