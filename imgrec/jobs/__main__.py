"""The workers' entry point, started by the queue and the filter jobs, not by hand.

`python -m imgrec.jobs worker RUN_DIR` trains a run folder on this machine;
`python -m imgrec.jobs ray-worker RUN_ID MAILBOX` is the entrypoint of a run's job on a Ray node;
`python -m imgrec.jobs filters FOLDER` pictures a large model's filters (`filters.run`).
"""

import argparse
import sys

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m imgrec.jobs", description="Train one run or picture filters.")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("worker", help="train a run folder on this machine")
    local.add_argument("run_dir", metavar="RUN_DIR")
    remote = commands.add_parser("ray-worker", help="train a run on this Ray node; its files go back through Ray")
    remote.add_argument("run_id", metavar="RUN_ID")
    remote.add_argument("mailbox", metavar="MAILBOX")
    pictures = commands.add_parser("filters", help="picture a large model's filters into a job folder")
    pictures.add_argument("folder", metavar="FOLDER")
    args = parser.parse_args()
    if args.command == "filters":
        from imgrec.jobs import filters

        sys.exit(filters.run(args.folder))
    if args.command == "worker":
        from imgrec.jobs import worker

        sys.exit(worker.run_worker(args.run_dir))
    from imgrec.jobs import ray_worker

    sys.exit(ray_worker.run_on_node(args.run_id, args.mailbox))
