"""The workers' entry point, started by the jobs, not by hand.

`python -m imgrec.jobs worker RUN_DIR` trains a run; `python -m imgrec.jobs filters FOLDER`
pictures a large model's filters (`filters.run`).
"""

import argparse
import sys

from imgrec.jobs import filters, worker

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m imgrec.jobs", description="Train a run or picture filters.")
    parser.add_argument("command", choices=("worker", "filters"))
    parser.add_argument("folder", metavar="FOLDER")
    arguments = parser.parse_args()
    sys.exit(worker.run_worker(arguments.folder) if arguments.command == "worker" else filters.run(arguments.folder))
