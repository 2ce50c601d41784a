"""A search kept in one file, `runs/search-<id>.json`: its trials, their runs, and advancing or cancelling it.

The file is written atomically and changed only under a file lock, so any number of pages
can watch (and advance) the same search. Nothing trains here: `Search.advance()` looks at
the trials' runs, records finished ones, and submits new trials while fewer than
`concurrency` are in flight (by default one per run that can train at once: this machine's
slots, or on a Ray cluster its capacity, so trials run in parallel across its nodes and a
search never floods the queue that a whole class shares). Someone must call `advance()` for
a search to move on: its driver process does (`driver`: started with the search, recorded in
the file, restarted by `search.recover()` when it died); `Search.run_until_done()` does it in
a loop in-process.

Trials are ranked by **validation** accuracy (the last epoch's), never by test accuracy:
choosing hyperparameters on the test set would make its score an optimistic guess.
"""

import contextlib
import os
import pathlib
import re
import secrets
import time

from imgrec import architectures, atomic, jobs, paths, texts
from imgrec.search import space as search_space

SEARCH_ID_PATTERN = re.compile(r"^search-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
MAX_SEARCH_BYTES = 4 * 1024 * 1024  # A search file is kilobytes; refuse to parse anything huge.


def validate_search_id(search_id):
    """Checks a search id (`search-20261121-203015-ab12cd`) before it touches a path.

    Raises:
        SearchError: for anything else.
    """
    if not isinstance(search_id, str) or not SEARCH_ID_PATTERN.fullmatch(search_id):
        raise texts.said(search_space.SearchError, "errors_search.invalid_search_id", shown=repr(search_id)[:80])
    return search_id


def _path(search_id, root):
    return root / f"{validate_search_id(search_id)}.json"


def _read(path):
    return atomic.read_json(path, max_bytes=MAX_SEARCH_BYTES)


def _locked(path):
    """Holds the exclusive lock beside a search file (the file itself is replaced on every write)."""
    return atomic.locked(path.parent / f".{path.name}.lock")


def _finite_or_none(value):
    return float(value) if search_space.is_number(value) else None


def validation_accuracy(run_result):
    """Returns the last epoch's validation accuracy of a `jobs.result()`, or None when it has none."""
    history = ((run_result or {}).get("training") or {}).get("history") or []
    if not history:
        return None
    last = history[-1]
    for key in ("val_accuracy", "val_binary_accuracy", "val_sparse_categorical_accuracy"):
        if key in last:
            return _finite_or_none(last[key])
    return None


class Search:
    """One search: its settings, its trials and their runs, kept in `runs/search-<id>.json`.

    Attributes:
        id: the search id.
        kind: "grid", "random" or "bayesian".
        space: the `SearchSpace`.
        budget: the number of trials (a grid smaller than the budget has fewer).
        base_config: the `TrainConfig` settings every trial starts from (a dict).
        seed: seeds the samplers.
        concurrency: most trials in flight at once.
        trials: one dict per trial: `number`, `params`, `status` ("planned", then the run's
            status), `run_id`, `value` (validation accuracy), `test_accuracy`, `reason`.
        state: "running", "done" (every trial finished) or "cancelled".
    """

    def __init__(self, values, root):
        self._root = root
        self._load_values(values)

    def _load_values(self, values):
        self.id = validate_search_id(values.get("id"))
        self.kind = values["kind"]
        self.space = search_space.SearchSpace.from_dict(values["space"])
        self.budget = int(values["budget"])
        self.base_config = dict(values["base_config"])
        self.seed = int(values.get("seed", 0))
        self.concurrency = int(values.get("concurrency", 1))
        self.trials = list(values.get("trials") or [])
        self.state = values.get("state", "running")
        self.created = values.get("created")
        self.finished_at = values.get("finished")
        self.note = values.get("note")
        self.driver = values.get("driver")  # {"pid", "pid_start", "started"} of its driver process, or None.

    def to_dict(self):
        """Returns the search as the JSON object of its file."""
        return {
            "id": self.id, "kind": self.kind, "space": self.space.to_dict(), "budget": self.budget,
            "base_config": self.base_config, "seed": self.seed, "concurrency": self.concurrency,
            "trials": self.trials, "state": self.state, "created": self.created, "finished": self.finished_at,
            "note": self.note, "driver": self.driver,
        }

    @property
    def path(self):
        return _path(self.id, self._root)

    @classmethod
    def create(cls, kind, space, budget, base_config, *, seed=0, concurrency=None, runs_dir=None):
        """Makes a search and writes its file; call `advance()` to start its first trials.

        Args:
            kind: "grid", "random" or "bayesian".
            space: a `SearchSpace`.
            budget: trials to run, 1 to 100.
            base_config: a `TrainConfig` or dict; the searched settings replace its values.
                It needs a validation fraction above 0, since trials are ranked on validation data.
            seed: seeds the samplers. Defaults to `0`.
            concurrency: most trials in flight at once, 1 to 100. Defaults to `jobs.max_runs()` (the
                cluster's capacity on Ray), at most the budget.
            runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

        Returns:
            The `Search`.

        Raises:
            SearchError: for a bad kind, budget, space or concurrency, or no validation data.
            training.ConfigError: for a base config that (with the space's ends) is invalid.
            datasets.DatasetUnavailable: when the base config's dataset is not on this machine.
        """
        search_space.check_kind_and_budget(kind, budget)
        space.validate()
        base = jobs.check_config(base_config)
        if not base["validation_fraction"] > 0:
            raise search_space.SearchError(
                "A search ranks trials by validation accuracy: set the validation fraction above 0.")
        if architectures.task_of(base["architecture"]) != "classification":
            raise search_space.SearchError(
                "A search ranks trials by validation accuracy, which an autoencoder has none of; choose a classifier.")
        _check_ends(space, base)
        concurrency = min(jobs.max_runs(), budget) if concurrency is None else concurrency
        if (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                or not 1 <= concurrency <= search_space.MAX_BUDGET):
            raise search_space.SearchError(
                f"concurrency must be a whole number from 1 to {search_space.MAX_BUDGET}, got {concurrency!r}.")
        root = pathlib.Path(runs_dir) if runs_dir is not None else paths.runs_dir()
        root.mkdir(parents=True, exist_ok=True)
        planned = [] if kind == "bayesian" else search_space.plan(kind, space, budget, seed)
        while True:
            search_id = "search-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            if not _path(search_id, root).exists():
                break
        trials = [{"number": index, "params": params, "status": search_space.PLANNED, "run_id": None, "value": None,
                   "test_accuracy": None, "reason": None} for index, params in enumerate(planned)]
        search = cls({
            "id": search_id, "kind": kind, "space": space.to_dict(), "budget": len(planned) or budget,
            "base_config": base, "seed": seed, "concurrency": concurrency, "trials": trials, "state": "running",
            "created": time.time(), "finished": None,
            "note": (f"The grid has {space.grid_size()} points; {len(planned)} are tried, in a random order."
                     if kind == "grid" and space.grid_size() > len(planned) else None),
        }, root)
        with _locked(search.path):
            atomic.write_json(search.path, search.to_dict())
        return search

    @classmethod
    def load(cls, search_id, *, runs_dir=None):
        """Reads a search from its file.

        Raises:
            SearchError: for a bad or unknown id, or an unreadable file.
        """
        root = pathlib.Path(runs_dir) if runs_dir is not None else paths.runs_dir()
        path = _path(search_id, root)
        values = _read(path)
        if values is None:
            raise texts.said(search_space.SearchError, "errors_search.no_search", search_id=search_id)
        try:
            return cls(values, root)
        except (KeyError, TypeError, ValueError) as error:
            raise search_space.SearchError(f"The file of search {search_id} is damaged ({error}); delete it.") from None

    def _reload(self):
        values = _read(self.path)
        if values is None:
            raise texts.said(search_space.SearchError, "errors_search.disappeared", search_id=self.id)
        self._load_values(values)

    def config_for(self, params):
        """Returns the `TrainConfig` settings of one trial: the base config with the trial's values."""
        return {**self.base_config, **params}

    def in_flight(self):
        """Returns the trials whose runs are queued or running."""
        return [trial for trial in self.trials if trial["status"] in search_space.IN_FLIGHT]

    @property
    def finished(self):
        """True once every trial has finished (or the search was cancelled)."""
        return self.state != "running"

    @property
    def settled(self):
        """True once the search has finished and none of its trials' runs is still queued or running."""
        return self.finished and not self.in_flight()

    @contextlib.contextmanager
    def editing(self):
        """Holds the search's lock with its latest values loaded, and writes them back when the block ends.

        Raises:
            SearchError: when the search's file has disappeared or is unreadable.
        """
        with _locked(self.path):
            self._reload()
            yield self
            atomic.write_json(self.path, self.to_dict())

    def advance(self):
        """Records finished trials and submits new ones, up to `concurrency` in flight and `budget` in all.

        A cancelled search submits nothing more, but still records how its trials' runs end, so
        no trial is left looking "running" after its run stopped. Safe to call from many
        processes at once and cheap enough to call every second.

        Returns:
            The search itself, refreshed.
        """
        with _locked(self.path):
            self._reload()
            if self.settled:
                return self
            self._poll_runs()
            if self.state == "running":
                self._submit_trials()
                settled = all(trial["status"] not in (*search_space.IN_FLIGHT, search_space.PLANNED)
                              for trial in self.trials)
                if settled and len(self.trials) >= self.budget:
                    self.state, self.finished_at = "done", time.time()
            atomic.write_json(self.path, self.to_dict())
        return self

    def _poll_runs(self):
        for trial in self.in_flight():
            try:
                view = jobs.status(trial["run_id"], runs_dir=self._root)
            except jobs.JobError:
                trial.update(status=jobs.FAILED, reason="Its run was deleted.")
                continue
            trial["status"] = view["status"]
            if view["status"] == jobs.DONE:
                outcome = jobs.result(trial["run_id"], runs_dir=self._root)
                trial["value"] = validation_accuracy(outcome)
                trial["test_accuracy"] = _finite_or_none((outcome or {}).get("accuracy"))
                if trial["value"] is None:
                    trial.update(status=jobs.FAILED, reason="The run logged no validation accuracy.")
            elif view["status"] in jobs.FINISHED_STATES:
                trial["reason"] = view.get("reason")

    def _submit_trials(self):
        while len(self.in_flight()) < self.concurrency:
            trial = next((trial for trial in self.trials if trial["status"] == search_space.PLANNED), None)
            if trial is None:
                if self.kind != "bayesian" or len(self.trials) >= self.budget:
                    return
                params = search_space.suggest_bayesian(self.space, self.trials, self.seed,
                                                       search_space.startup_trials(self.budget))
                trial = {"number": len(self.trials), "params": params, "status": search_space.PLANNED, "run_id": None,
                         "value": None, "test_accuracy": None, "reason": None}
                self.trials.append(trial)
            try:
                trial["run_id"] = jobs.submit(self.config_for(trial["params"]), runs_dir=self._root)
            except jobs.JobError as error:
                trial["reason"] = str(error)  # The queue is full: try again at the next advance.
                return
            trial.update(status=jobs.QUEUED, reason=None)

    def cancel(self):
        """Stops the search: cancels its trials in flight and plans no more.

        Returns:
            The search itself.
        """
        with _locked(self.path):
            self._reload()
            for trial in self.in_flight():
                with contextlib.suppress(jobs.JobError):
                    trial["status"] = jobs.cancel(trial["run_id"], wait=False, runs_dir=self._root)["status"]
            for trial in self.trials:
                if trial["status"] == search_space.PLANNED:
                    trial.update(status=jobs.CANCELLED, reason="The search was cancelled before this trial started.")
            if self.state == "running":
                self.state, self.finished_at = "cancelled", time.time()
            atomic.write_json(self.path, self.to_dict())
        return self

    def best(self):
        """Returns the finished trial with the highest validation accuracy, or None."""
        scored = [trial for trial in self.trials if trial["status"] == jobs.DONE and trial.get("value") is not None]
        return max(scored, key=lambda trial: (trial["value"], -trial["number"]), default=None)

    def run_until_done(self, *, timeout=None, poll=1.0):
        """Advances the search until every trial has finished; for scripts, tests and benchmarks.

        Raises:
            SearchError: when `timeout` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.advance().settled:
            if deadline is not None and time.monotonic() > deadline:
                raise search_space.SearchError(f"Search {self.id} is still running after {timeout:g} s.")
            time.sleep(poll)
        return self


def _check_ends(space, base):
    """Validates the base config at both ends of every range, so no trial can fail on its settings."""
    from imgrec import training

    for end in (0, 1):
        settings = dict(base)
        for name, bounds in (("learning_rate", space.learning_rate), ("dropout", space.dropout), ("l2", space.l2)):
            if bounds is not None:
                settings[name] = float(bounds[end])
        if space.optimizers is not None:
            settings["optimizer"] = space.optimizers[end % len(space.optimizers)]
        training.TrainConfig.from_dict(settings)


def list_searches(runs_dir=None):
    """Lists every search, newest first, as the dicts of their files; unreadable files are skipped."""
    root = pathlib.Path(runs_dir) if runs_dir is not None else paths.runs_dir()
    found = []
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        stem = entry.name[: -len(".json")] if entry.name.endswith(".json") else ""
        if not SEARCH_ID_PATTERN.fullmatch(stem) or entry.is_symlink():
            continue
        values = _read(pathlib.Path(entry.path))
        if values is not None and values.get("id") == stem:
            found.append(values)
    return sorted(found, key=lambda values: (values.get("created") or 0.0, values["id"]), reverse=True)
