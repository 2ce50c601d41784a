"""The `runs` command: background training runs submitted, listed, shown, cancelled, awaited, saved, deleted; TensorBoard."""

import threading

from imgrec import atomic, jobs, runtime
from imgrec.cli import common
from imgrec.jobs import tensorboard_server


def add_commands(commands):
    """Adds `runs` and its actions to the subparsers of the command line.

    Handlers raise `UserError`, `jobs.JobError`, `training.ConfigError` or
    `registry.RegistryError` for user errors; `main` prints them as one line and exits 2.
    """
    runs = commands.add_parser("runs", help="background training runs: list, submit, show, cancel, wait, save")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(func=cmd_runs_list)
    actions = runs.add_subparsers(dest="runs_action", metavar="ACTION")

    submit_parser = common.add_action(actions, "submit", "queue a run from a JSON config file or a preset",
                                      cmd_runs_submit)
    submit_parser.add_argument("config", nargs="?", metavar="CONFIG.json")
    submit_parser.add_argument("--preset", metavar="NAME")
    submit_parser.add_argument("--epochs", type=int)
    submit_parser.add_argument("--max-samples", type=int)
    common.add_action(actions, "show", "status, reason, latest metrics and test accuracy of a run", cmd_runs_show,
                      id_name="run_id")
    common.add_action(actions, "cancel", "stop a queued or running run", cmd_runs_cancel, id_name="run_id")
    wait_parser = common.add_action(actions, "wait", "block until a run ends; exit 0 when done, 1 when not",
                                    cmd_runs_wait, id_name="run_id")
    wait_parser.add_argument("--timeout", type=float, metavar="S")
    save_parser = common.add_action(actions, "save", "save a finished run's model in the registry", cmd_runs_save,
                                    id_name="run_id")
    save_parser.add_argument("--name", required=True)
    save_parser.add_argument("--overwrite", action="store_true")
    board_parser = common.add_action(actions, "tensorboard", "serve a run's TensorBoard logs on a local port until "
                                     "Ctrl-C", cmd_runs_tensorboard, id_name="run_id", json_flag=False)
    board_parser.add_argument("--host", default=tensorboard_server.DEFAULT_HOST,
                              help="address to listen on (default: 127.0.0.1, this machine only)")
    board_parser.add_argument("--port", type=int, help="port (default: 6006 or the next free one; 0: any free one)")
    common.add_action(actions, "delete", "delete a run folder (not while it runs)", cmd_runs_delete, id_name="run_id",
                      json_flag=False)


def _print_json(value):
    # Run files are strict JSON: non-finite numbers print as null, as the files hold them.
    common.print_json(atomic.json_ready(value))


def cmd_runs_list(args):
    """`runs [--json]`: one line per run, newest first."""
    runs = jobs.list_runs()
    if getattr(args, "json", False):
        _print_json(runs)
        return 0
    if not runs:
        print("no runs yet; start one with `python -m imgrec runs submit --preset quickstart`")
        return 0
    rows = [("id", "status", "architecture", "dataset", "epochs", "test accuracy", "note")]
    for run in runs:
        config = run["config"]
        note = f"position {run['queue_position']} in queue" if run.get("queue_position") else (run.get("reason") or "")
        rows.append((run["id"], run["status"], str(config.get("architecture")), str(config.get("dataset")),
                     str(config.get("epochs")), common.format_percent(run.get("test_accuracy")), note))
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]).rstrip())
    return 0


def cmd_runs_submit(args):
    """`runs submit (CONFIG.json | --preset NAME) [--epochs N] [--max-samples N] [--json]`: prints the id."""
    if bool(args.preset) == bool(args.config):
        raise common.UserError("Give exactly one of CONFIG.json or --preset NAME.")
    run_id = jobs.submit(common.config_from_args(args))
    common.print_id(args, run_id)
    return 0


def _last_events(run_id):
    events, _ = jobs.read_metrics(run_id)
    last = {}
    for event in events:
        last[event.get("event")] = event
    return {kind: last[kind] for kind in ("batch", "epoch") if kind in last}


def _show_view(run_id):
    view = jobs.status(run_id)
    view["last_metrics"] = _last_events(run_id)
    view["config"] = jobs.read_config(run_id)
    return view


def _print_status_line(view):
    line = f"{view['id']}  {view['status']}"
    if view.get("queue_position"):
        line += f"  (position {view['queue_position']} in queue)"
    if view["status"] == jobs.DONE and view.get("reconstruction_mse") is not None:
        line += f"  reconstruction MSE {view['reconstruction_mse']:.4f}"
    elif view["status"] == jobs.DONE:
        line += f"  test accuracy {common.format_percent(view.get('test_accuracy'))}"
    if view.get("reason"):
        line += f"  {view['reason']}"
    print(line)


def cmd_runs_show(args):
    """`runs show ID [--json]`: status, reason, latest metrics and, when done, test accuracy."""
    view = _show_view(args.run_id)
    if getattr(args, "json", False):
        _print_json(view)
        return 0
    _print_status_line(view)
    config = view["config"]
    print(f"  {config.get('architecture')} on {config.get('dataset')}, {config.get('epochs')} epochs, "
          f"{config.get('optimizer')} at learning rate {config.get('learning_rate')}")
    for kind, event in view["last_metrics"].items():
        where = f"epoch {event.get('epoch')}" + (f" batch {event.get('batch')}" if kind == "batch" else "")
        values = "  ".join(f"{key} {event[key]:.4f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                           if isinstance(event.get(key), int | float))
        print(f"  last {kind}: {where}  {values}")
    return 0


def cmd_runs_cancel(args):
    """`runs cancel ID [--json]`: stops a run and prints its final status."""
    view = jobs.cancel(args.run_id)
    if getattr(args, "json", False):
        _print_json(view)
    else:
        _print_status_line(view)
    return 0


def cmd_runs_wait(args):
    """`runs wait ID [--timeout S] [--json]`: exits 0 when the run is done, 1 when it failed or was cancelled."""
    view = jobs.wait(args.run_id, timeout=common.checked_timeout(args.timeout))
    if getattr(args, "json", False):
        _print_json(view)
    else:
        _print_status_line(view)
    return 0 if view["status"] == jobs.DONE else 1


def cmd_runs_save(args):
    """`runs save ID --name NAME [--overwrite] [--json]`: saves a done run's model in the registry."""
    runtime.quiet_tensorflow_import()
    card = jobs.save_run_as_model(args.run_id, args.name, overwrite=args.overwrite)
    if getattr(args, "json", False):
        _print_json(card.to_json())
    else:
        print(f"saved run {args.run_id} as model {card.name} ({card.accuracy_text()})")
    return 0


def cmd_runs_tensorboard(args):
    """`runs tensorboard ID [--host H] [--port P]`: serves the run's logs, prints the URL, stops on Ctrl-C."""
    url = tensorboard_server.serve(args.run_id, host=args.host, port=args.port)
    print(f"TensorBoard for run {args.run_id}: {url}  (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped")
    return 0


def cmd_runs_delete(args):
    """`runs delete ID`: removes a run folder."""
    jobs.delete_run(args.run_id)
    print(f"deleted run {args.run_id}")
    return 0
