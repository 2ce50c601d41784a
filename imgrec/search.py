"""Hyperparameter search over learning rate, dropout, L2 and optimizer, one background run per trial.

Grid, random and Bayesian (TPE) search, as the classic texts teach them, through Optuna's
ask-and-tell interface: we ask Optuna for a trial's settings, submit them as a `jobs` run,
and tell Optuna the run's validation accuracy when the run is done. Optuna is our choice
over KerasTuner, whose tuners insist on calling `fit` themselves, in-process, which the
worker-process design of `imgrec.jobs` forbids.

A search is one JSON file, `runs/search-<id>.json`, written atomically and changed only
under a file lock, so any number of pages can watch (and advance) the same search. Nothing
trains here: `Search.advance()` looks at the trials' runs, records finished ones, and
submits new trials while fewer than `concurrency` are in flight (one per free training slot
by default, so a search never floods the queue that a whole class shares). Someone must
call `advance()` for a search to move on: the training page does every two seconds while
the search is on screen, `Search.run_until_done()` does it in a loop for scripts.

Trials are ranked by **validation** accuracy (the last epoch's), never by test accuracy:
choosing hyperparameters on the test set would make its score an optimistic guess.

Example:

>>> space = SearchSpace(optimizers=("adam", "sgd"))
>>> [sorted(settings) for settings in plan("random", space, budget=2)]
[['dropout', 'l2', 'learning_rate', 'optimizer'], ['dropout', 'l2', 'learning_rate', 'optimizer']]
"""

import contextlib
import dataclasses
import fcntl
import json
import math
import os
import pathlib
import re
import secrets
import time

from imgrec import atomic, jobs

KINDS = ("grid", "random", "bayesian")
KIND_TITLES = {"grid": "Grid search", "random": "Random search", "bayesian": "Bayesian search (TPE)"}
PARAMETERS = ("learning_rate", "dropout", "l2", "optimizer")
SEARCH_ID_PATTERN = re.compile(r"^search-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
MAX_BUDGET = 100  # Trials per search; more than a lesson needs, few enough to keep the queue usable.
MAX_SEARCH_BYTES = 4 * 1024 * 1024  # A search file is kilobytes; refuse to parse anything huge.

# Trial states: "planned" (not submitted yet) and the states of its run.
PLANNED = "planned"
IN_FLIGHT = (jobs.QUEUED, jobs.RUNNING)


class SearchError(ValueError):
    """A search that cannot be made or read; `str(e)` is one sentence saying why and what to do."""


@dataclasses.dataclass
class SearchSpace:
    """The ranges a search draws from; a range set to None keeps the base config's value."""

    learning_rate: tuple[float, float] | None = (1e-4, 3e-2)  # Log-uniform: rates matter by factors of 10.
    dropout: tuple[float, float] | None = (0.0, 0.6)  # Uniform.
    l2: tuple[float, float] | None = (1e-6, 1e-3)  # Log-uniform, above 0 (a log scale has no 0).
    optimizers: tuple[str, ...] | None = ("sgd", "momentum", "adagrad", "rmsprop", "adam")  # Categorical.
    grid_points: int = 3  # Grid search only: values per numeric range (log-spaced where the range is).

    def to_dict(self):
        """Returns the space as a JSON-ready dict."""
        values = dataclasses.asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}

    @classmethod
    def from_dict(cls, values):
        """Builds a validated space from a dict (e.g. a search file).

        Raises:
            SearchError: for an unknown key or a bad range.
        """
        if not isinstance(values, dict):
            raise SearchError("A search space must be a JSON object of ranges.")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SearchError(f"Unknown search-space key {unknown[0]!r}; known keys are {', '.join(sorted(known))}.")
        converted = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        return cls(**converted).validate()

    def validate(self):
        """Checks every range against what `TrainConfig` accepts.

        Returns:
            The space itself.

        Raises:
            SearchError: with one sentence naming the first problem.
        """
        from imgrec import training

        limits = {"learning_rate": (0.0, 100.0, True), "dropout": (0.0, 0.95, False), "l2": (0.0, 1.0, True)}
        for name, (low_limit, high_limit, log) in limits.items():
            bounds = getattr(self, name)
            if bounds is None:
                continue
            if len(bounds) != 2 or not all(_is_number(value) for value in bounds):
                raise SearchError(f"The {name} range must be two numbers, low and high.")
            low, high = (float(value) for value in bounds)
            if not low < high:
                raise SearchError(f"The {name} range must have its low end below its high end, got {low:g} to {high:g}.")
            if log and low <= low_limit:
                raise SearchError(f"The {name} range is searched on a log scale, so it must start above 0, got {low:g}.")
            if low < low_limit or high > high_limit:
                raise SearchError(f"The {name} range must lie within {low_limit:g} to {high_limit:g}, got {low:g} to {high:g}.")
        if self.optimizers is not None:
            if not self.optimizers:
                raise SearchError("Choose at least one optimizer to search over.")
            unknown = [name for name in self.optimizers if name not in training.OPTIMIZERS]
            if unknown:
                raise SearchError(f"Unknown optimizer {unknown[0]!r}; choose from {', '.join(training.OPTIMIZERS)}.")
            if len(set(self.optimizers)) != len(self.optimizers):
                raise SearchError("Each optimizer may be listed once.")
        if isinstance(self.grid_points, bool) or not isinstance(self.grid_points, int) or not 2 <= self.grid_points <= 10:
            raise SearchError(f"grid_points must be a whole number from 2 to 10, got {self.grid_points!r}.")
        if self.searched() == []:
            raise SearchError("The search space is empty: search over at least one of the settings.")
        return self

    def searched(self):
        """Returns the names of the settings this space varies, in `PARAMETERS` order."""
        present = {"learning_rate": self.learning_rate, "dropout": self.dropout, "l2": self.l2,
                   "optimizer": self.optimizers}
        return [name for name in PARAMETERS if present[name] is not None]

    def distributions(self):
        """Returns Optuna distributions for random and Bayesian search."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution

        found = {}
        if self.learning_rate is not None:
            found["learning_rate"] = FloatDistribution(*map(float, self.learning_rate), log=True)
        if self.dropout is not None:
            found["dropout"] = FloatDistribution(*map(float, self.dropout))
        if self.l2 is not None:
            found["l2"] = FloatDistribution(*map(float, self.l2), log=True)
        if self.optimizers is not None:
            found["optimizer"] = CategoricalDistribution(list(self.optimizers))
        return found

    def grid(self):
        """Returns the grid's values per setting: `grid_points` per numeric range, every optimizer."""
        import numpy as np

        values = {}
        if self.learning_rate is not None:
            values["learning_rate"] = _rounded(np.geomspace(*self.learning_rate, self.grid_points))
        if self.dropout is not None:
            values["dropout"] = _rounded(np.linspace(*self.dropout, self.grid_points))
        if self.l2 is not None:
            values["l2"] = _rounded(np.geomspace(*self.l2, self.grid_points))
        if self.optimizers is not None:
            values["optimizer"] = list(self.optimizers)
        return values

    def grid_size(self):
        """Returns how many points the full grid has."""
        return math.prod(len(values) for values in self.grid().values())


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rounded(values):
    # Four significant digits: grid points read well in a table and survive a JSON round trip.
    return [float(f"{float(value):.4g}") for value in values]


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _check_kind_and_budget(kind, budget):
    if kind not in KINDS:
        raise SearchError(f"Unknown search kind {kind!r}; choose one of {', '.join(KINDS)}.")
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise SearchError(f"The trial budget must be a whole number from 1 to {MAX_BUDGET}, got {budget!r}.")


def plan(kind, space, budget, seed=0):
    """Returns the settings of every trial of a grid or random search, decided before any result.

    A grid larger than the budget is sampled without repeats in a seeded random order (as
    Optuna's GridSampler does); a budget larger than the grid gives the whole grid once.

    Args:
        kind: "grid" or "random" ("bayesian" needs results, so it cannot be planned).
        space: a `SearchSpace`.
        budget: the number of trials, 1 to 100.
        seed: seeds the sampler. Defaults to `0`.

    Returns:
        A list of dicts, each with the searched settings (`learning_rate`, `dropout`, `l2`,
        `optimizer`), at most `budget` long.

    Raises:
        SearchError: for a bad kind, budget or space, or kind "bayesian".

    Example:
        >>> len(plan("grid", SearchSpace(optimizers=("adam",), grid_points=2), budget=100))
        8
    """
    _check_kind_and_budget(kind, budget)
    space.validate()
    if kind == "bayesian":
        raise SearchError("A Bayesian search chooses each trial from the results so far; it cannot be planned ahead.")
    optuna = _quiet_optuna()
    from optuna.distributions import CategoricalDistribution

    if kind == "grid":
        grid = space.grid()
        distributions = {name: CategoricalDistribution(values) for name, values in grid.items()}
        sampler = optuna.samplers.GridSampler(grid, seed=seed)
        budget = min(budget, space.grid_size())
    else:
        distributions = space.distributions()
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    # Asked trials stay "running" in this throw-away study, so the grid sampler never repeats a point.
    return [dict(study.ask(distributions).params) for _ in range(budget)]


def _suggest_bayesian(space, trials, seed, startup_trials):
    """Asks TPE for the next settings, given every trial so far (finished, failed or in flight)."""
    optuna = _quiet_optuna()
    from optuna.trial import TrialState, create_trial

    distributions = space.distributions()
    sampler = optuna.samplers.TPESampler(
        seed=seed + len(trials), n_startup_trials=startup_trials, constant_liar=True,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for trial in trials:
        params = {name: trial["params"][name] for name in distributions if name in trial["params"]}
        if len(params) != len(distributions):
            continue
        if trial["status"] == jobs.DONE and trial.get("value") is not None:
            frozen = create_trial(params=params, distributions=distributions, value=float(trial["value"]))
        elif trial["status"] in (*IN_FLIGHT, PLANNED):
            # Constant liar: TPE treats trials in flight as bad, so parallel asks spread out.
            frozen = create_trial(params=params, distributions=distributions, state=TrialState.RUNNING)
        else:
            frozen = create_trial(params=params, distributions=distributions, state=TrialState.FAIL)
        study.add_trial(frozen)
    return dict(study.ask(distributions).params)


def startup_trials(budget):
    """Random trials a Bayesian search runs before TPE models the results: half the budget, 2 to 10.

    With fewer, TPE's first model rests on one or two results and keeps proposing the optimizer
    that happened to come first; Optuna's own default is 10.
    """
    return max(2, min(10, budget // 2))


# ---------------------------------------------------------------------------------------
# Files.


def validate_search_id(search_id):
    """Checks a search id (`search-20261121-203015-ab12cd`) before it touches a path.

    Raises:
        SearchError: for anything else.
    """
    if not isinstance(search_id, str) or not SEARCH_ID_PATTERN.fullmatch(search_id):
        raise SearchError(f"Invalid search id {repr(search_id)[:80]}: search ids look like search-20261121-203015-ab12cd.")
    return search_id


def _path(search_id, root):
    return root / f"{validate_search_id(search_id)}.json"


def _write_atomic(path, value):
    atomic.write_json(path, value)


def _read(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SEARCH_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        return None
    if len(raw) > MAX_SEARCH_BYTES:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@contextlib.contextmanager
def _locked(path):
    """Holds an exclusive lock beside a search file (the file itself is replaced on every write)."""
    with open(path.parent / f".{path.name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _finite_or_none(value):
    return float(value) if _is_number(value) else None


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


# ---------------------------------------------------------------------------------------
# A search.


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
        self.space = SearchSpace.from_dict(values["space"])
        self.budget = int(values["budget"])
        self.base_config = dict(values["base_config"])
        self.seed = int(values.get("seed", 0))
        self.concurrency = int(values.get("concurrency", 1))
        self.trials = list(values.get("trials") or [])
        self.state = values.get("state", "running")
        self.created = values.get("created")
        self.finished_at = values.get("finished")
        self.note = values.get("note")

    def to_dict(self):
        """Returns the search as the JSON object of its file."""
        return {
            "id": self.id, "kind": self.kind, "space": self.space.to_dict(), "budget": self.budget,
            "base_config": self.base_config, "seed": self.seed, "concurrency": self.concurrency,
            "trials": self.trials, "state": self.state, "created": self.created, "finished": self.finished_at,
            "note": self.note,
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
            concurrency: most trials in flight at once. Defaults to `jobs.max_runs()`.
            runs_dir: the runs folder. Defaults to `jobs.runs_dir()`.

        Returns:
            The `Search`.

        Raises:
            SearchError: for a bad kind, budget, space or concurrency, or no validation data.
            training.ConfigError: for a base config that (with the space's ends) is invalid.
        """
        from imgrec import training

        _check_kind_and_budget(kind, budget)
        space.validate()
        if isinstance(base_config, training.TrainConfig):
            base_config = base_config.to_dict()
        base = training.TrainConfig.from_dict(dict(base_config)).to_dict()
        if not base["validation_fraction"] > 0:
            raise SearchError("A search ranks trials by validation accuracy: set the validation fraction above 0.")
        _check_ends(space, base)
        concurrency = jobs.max_runs() if concurrency is None else concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 16:
            raise SearchError(f"concurrency must be a whole number from 1 to 16, got {concurrency!r}.")
        root = pathlib.Path(runs_dir) if runs_dir is not None else jobs.runs_dir()
        root.mkdir(parents=True, exist_ok=True)
        planned = [] if kind == "bayesian" else plan(kind, space, budget, seed)
        while True:
            search_id = "search-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            if not _path(search_id, root).exists():
                break
        trials = [{"number": index, "params": params, "status": PLANNED, "run_id": None, "value": None,
                   "test_accuracy": None, "reason": None} for index, params in enumerate(planned)]
        search = cls({
            "id": search_id, "kind": kind, "space": space.to_dict(), "budget": len(planned) or budget,
            "base_config": base, "seed": seed, "concurrency": concurrency, "trials": trials, "state": "running",
            "created": time.time(), "finished": None,
            "note": (f"The grid has {space.grid_size()} points; {len(planned)} are tried, in a random order."
                     if kind == "grid" and space.grid_size() > len(planned) else None),
        }, root)
        with _locked(search.path):
            _write_atomic(search.path, search.to_dict())
        return search

    @classmethod
    def load(cls, search_id, *, runs_dir=None):
        """Reads a search from its file.

        Raises:
            SearchError: for a bad or unknown id, or an unreadable file.
        """
        root = pathlib.Path(runs_dir) if runs_dir is not None else jobs.runs_dir()
        path = _path(search_id, root)
        values = _read(path)
        if values is None:
            raise SearchError(f"There is no search {search_id!r} (or its file is unreadable).")
        try:
            return cls(values, root)
        except (KeyError, TypeError, ValueError) as error:
            raise SearchError(f"The file of search {search_id} is damaged ({error}); delete it.") from None

    def _reload(self):
        values = _read(self.path)
        if values is None:
            raise SearchError(f"The file of search {self.id} disappeared or is unreadable.")
        self._load_values(values)

    def config_for(self, params):
        """Returns the `TrainConfig` settings of one trial: the base config with the trial's values."""
        return {**self.base_config, **params}

    def in_flight(self):
        """Returns the trials whose runs are queued or running."""
        return [trial for trial in self.trials if trial["status"] in IN_FLIGHT]

    @property
    def finished(self):
        """True once every trial has finished (or the search was cancelled)."""
        return self.state != "running"

    def advance(self):
        """Records finished trials and submits new ones, up to `concurrency` in flight and `budget` in all.

        Safe to call from many sessions at once and cheap enough to call every second.

        Returns:
            The search itself, refreshed.
        """
        with _locked(self.path):
            self._reload()
            if self.state != "running":
                return self
            self._poll_runs()
            self._submit_trials()
            if all(trial["status"] not in (*IN_FLIGHT, PLANNED) for trial in self.trials) and \
                    len(self.trials) >= self.budget:
                self.state, self.finished_at = "done", time.time()
            _write_atomic(self.path, self.to_dict())
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
            trial = next((trial for trial in self.trials if trial["status"] == PLANNED), None)
            if trial is None:
                if self.kind != "bayesian" or len(self.trials) >= self.budget:
                    return
                params = _suggest_bayesian(self.space, self.trials, self.seed, startup_trials(self.budget))
                trial = {"number": len(self.trials), "params": params, "status": PLANNED, "run_id": None,
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
                if trial["status"] == PLANNED:
                    trial.update(status=jobs.CANCELLED, reason="The search was cancelled before this trial started.")
            if self.state == "running":
                self.state, self.finished_at = "cancelled", time.time()
            _write_atomic(self.path, self.to_dict())
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
        while not self.advance().finished:
            if deadline is not None and time.monotonic() > deadline:
                raise SearchError(f"Search {self.id} is still running after {timeout:g} s.")
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
    root = pathlib.Path(runs_dir) if runs_dir is not None else jobs.runs_dir()
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
