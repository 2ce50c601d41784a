"""The search driver's entry point: `python -m imgrec.search driver SEARCH_ID RUNS_DIR`, started by `search.submit`, not by hand."""

import argparse
import sys

from imgrec.search import driver

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m imgrec.search", description="Drive one search to its end.")
    parser.add_argument("command", choices=("driver",))
    parser.add_argument("search_id", metavar="SEARCH_ID")
    parser.add_argument("runs_dir", metavar="RUNS_DIR")
    args = parser.parse_args()
    sys.exit(driver.run_driver(args.search_id, args.runs_dir))
