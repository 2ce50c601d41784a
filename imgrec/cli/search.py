"""The `search` command: hyperparameter searches submitted, listed, shown, waited for and cancelled.

A search runs in the background like a run (its own driver process, each trial a run), so
`search submit` returns at once and the search finishes with no terminal or page open.
"""

import time

from imgrec import atomic, search
from imgrec.cli import common


def add_commands(commands):
    """Adds `search` and its actions to the subparsers of the command line.

    Handlers raise `UserError`, `search.SearchError` or `training.ConfigError` for user
    errors; `main` prints them as one line and exits 2.
    """
    parser = commands.add_parser("search", help="hyperparameter searches in the background: submit, list, show, "
                                                "wait, cancel")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=cmd_search_list)
    actions = parser.add_subparsers(dest="search_action", metavar="ACTION")

    submit_parser = common.add_action(actions, "submit", "start a search over learning rate, dropout, L2 and "
                                      "optimizer", cmd_search_submit)
    submit_parser.add_argument("config", nargs="?", metavar="CONFIG.json",
                               help="the settings every trial starts from (default: --preset quickstart)")
    submit_parser.add_argument("--preset", metavar="NAME")
    submit_parser.add_argument("--kind", choices=search.KINDS, default="random")
    submit_parser.add_argument("--trials", type=int, required=True, metavar="N", help="the trial budget")
    submit_parser.add_argument("--epochs", type=int)
    submit_parser.add_argument("--max-samples", type=int)
    submit_parser.add_argument("--seed", type=int, default=0)
    common.add_action(actions, "list", "every search, newest first", cmd_search_list)
    common.add_action(actions, "show", "a search's state and its trials", cmd_search_show, id_name="search_id")
    wait_parser = common.add_action(actions, "wait", "block until a search ends; exit 0 when done, 1 when "
                                    "cancelled", cmd_search_wait, id_name="search_id")
    wait_parser.add_argument("--timeout", type=float, metavar="S")
    common.add_action(actions, "cancel", "stop a search and its trials in flight", cmd_search_cancel,
                      id_name="search_id")


def _print_json(value):
    common.print_json(atomic.json_ready(value))


def search_view(current):
    """A search as `search show --json` prints it: `status`, `trials` (each with `status`, `params`,
    `validation_accuracy`), `best` and the settings it was made with."""
    best = current.best()
    return {
        "id": current.id, "status": current.state, "kind": current.kind, "budget": current.budget,
        "created": current.created, "finished": current.finished_at, "note": current.note,
        "base_config": current.base_config, "space": current.space.to_dict(),
        "trials": [{"number": trial["number"], "status": trial["status"], "params": trial["params"],
                    "validation_accuracy": trial.get("value"), "test_accuracy": trial.get("test_accuracy"),
                    "run_id": trial.get("run_id"), "reason": trial.get("reason")} for trial in current.trials],
        "best": None if best is None else best["number"],
    }


def _finished_count(current):
    return sum(trial["status"] not in (*search.IN_FLIGHT, search.PLANNED) for trial in current.trials)


def _status_line(current):
    line = f"{current.id}  {current.state}  {search.KIND_TITLES[current.kind]}, {_finished_count(current)} of " \
           f"{current.budget} trials finished"
    best = current.best()
    if best is not None:
        line += f"; best: trial {best['number'] + 1}, validation accuracy {common.format_percent(best['value'])}"
    return line


def cmd_search_submit(args):
    """`search submit [CONFIG.json | --preset NAME] --kind K --trials N [--epochs E] [--max-samples M] [--json]`."""
    from imgrec import training

    if args.config and args.preset:
        raise common.UserError("Give at most one of CONFIG.json or --preset NAME.")
    if not args.config:
        args.preset = args.preset or "quickstart"
    values = common.config_from_args(args)
    search_id = search.submit(args.kind, search.SearchSpace(), args.trials, training.TrainConfig.from_dict(values),
                              seed=args.seed)
    common.print_id(args, search_id)
    return 0


def cmd_search_list(args):
    """`search [list] [--json]`: one line per search, newest first."""
    found = search.list_searches()
    if getattr(args, "json", False):
        _print_json([{"id": values["id"], "status": values.get("state"), "kind": values.get("kind"),
                      "budget": values.get("budget"), "created": values.get("created")} for values in found])
        return 0
    if not found:
        print("no searches yet; start one with `python -m imgrec search submit --kind random --trials 4`")
        return 0
    for values in found:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(values.get("created") or 0))
        print(f"{values['id']}  {values.get('state', '?'):<9}  {created}  "
              f"{search.KIND_TITLES.get(values.get('kind'), values.get('kind'))}, {values.get('budget')} trials")
    return 0


def _print_search(current):
    print(_status_line(current))
    for trial in current.trials:
        params = ", ".join(f"{name} {value:.3g}" if isinstance(value, float) else f"{name} {value}"
                           for name, value in trial["params"].items())
        accuracy = common.format_percent(trial.get("value"))
        note = f"  {trial['reason']}" if trial.get("reason") else ""
        print(f"  trial {trial['number'] + 1:>3}  {trial['status']:<9}  validation {accuracy:>7}  {params}"
              f"  {trial.get('run_id') or ''}{note}".rstrip())


def _report(args, current):
    """Prints a search as JSON (`--json`) or as a line and one line per trial."""
    if getattr(args, "json", False):
        _print_json(search_view(current))
    else:
        _print_search(current)


def cmd_search_show(args):
    """`search show ID [--json]`: the search's state and every trial's status, settings and accuracy."""
    _report(args, search.load(args.search_id))
    return 0


def cmd_search_wait(args):
    """`search wait ID [--timeout S] [--json]`: exits 0 when the search is done, 1 when it was cancelled."""
    current = search.wait(args.search_id, timeout=common.checked_timeout(args.timeout))
    _report(args, current)
    return 0 if current.state == "done" else 1


def cmd_search_cancel(args):
    """`search cancel ID [--json]`: stops the search and its trials in flight, then prints it."""
    _report(args, search.cancel(args.search_id))
    return 0
