"""The worker's entry point: `python -m imgrec.jobs worker RUN_DIR`, started by the queue, not by hand."""

import argparse
import sys

from imgrec.jobs import worker

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m imgrec.jobs", description="Train one run folder.")
    parser.add_argument("command", choices=("worker",))
    parser.add_argument("run_dir", metavar="RUN_DIR")
    sys.exit(worker.run_worker(parser.parse_args().run_dir))
