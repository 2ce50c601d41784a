"""What a hyperparameter search draws from, and how trials' settings are chosen: grid, random or Bayesian (TPE).

Grid, random and Bayesian (TPE) search, as the classic texts teach them, through Optuna's
ask-and-tell interface: Optuna proposes a trial's settings, and `Search` (in `state`)
submits them as a `jobs` run and reports the run's validation accuracy back. Optuna is our
choice over KerasTuner, whose tuners insist on calling `fit` themselves, in-process, which
the worker-process design of `imgrec.jobs` forbids.

Example:

>>> space = SearchSpace(optimizers=("adam", "sgd"))
>>> [sorted(settings) for settings in plan("random", space, budget=2)]
[['dropout', 'l2', 'learning_rate', 'optimizer'], ['dropout', 'l2', 'learning_rate', 'optimizer']]
"""

import dataclasses
import math

from imgrec import jobs, texts

KINDS = ("grid", "random", "bayesian")
KIND_TITLES = {"grid": "Grid search", "random": "Random search", "bayesian": "Bayesian search (TPE)"}
PARAMETERS = ("learning_rate", "dropout", "l2", "optimizer")
MAX_BUDGET = 100  # Trials per search; more than a lesson needs, few enough to keep the queue usable.

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
            raise texts.said(SearchError, "errors_search.not_an_object")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise texts.said(SearchError, "errors_search.unknown_key", name=unknown[0], known=", ".join(sorted(known)))
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
            if len(bounds) != 2 or not all(is_number(value) for value in bounds):
                raise texts.said(SearchError, "errors_search.range_pair", name=name)
            low, high = (float(value) for value in bounds)
            if not low < high:
                raise texts.said(SearchError, "errors_search.range_order", name=name, low=low, high=high)
            if log and low <= low_limit:
                raise texts.said(SearchError, "errors_search.range_log", name=name, low=low)
            if low < low_limit or high > high_limit:
                raise texts.said(SearchError, "errors_search.range_limits", name=name, low_limit=low_limit,
                                 high_limit=high_limit, low=low, high=high)
        if self.optimizers is not None:
            if not self.optimizers:
                raise texts.said(SearchError, "errors_search.no_optimizer")
            unknown = [name for name in self.optimizers if name not in training.OPTIMIZERS]
            if unknown:
                raise texts.said(SearchError, "errors_search.unknown_optimizer", value=unknown[0],
                                 choices=", ".join(training.OPTIMIZERS))
            if len(set(self.optimizers)) != len(self.optimizers):
                raise texts.said(SearchError, "errors_search.optimizer_twice")
        if isinstance(self.grid_points, bool) or not isinstance(self.grid_points, int) or not 2 <= self.grid_points <= 10:
            raise texts.said(SearchError, "errors_search.grid_points", value=self.grid_points)
        if self.searched() == []:
            raise texts.said(SearchError, "errors_search.empty")
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


def is_number(value):
    """Says whether a value is a finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _rounded(values):
    # Four significant digits: grid points read well in a table and survive a JSON round trip.
    return [float(f"{float(value):.4g}") for value in values]


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def check_kind_and_budget(kind, budget):
    """Raises `SearchError` for an unknown search kind or a budget outside 1 to `MAX_BUDGET`."""
    if kind not in KINDS:
        raise texts.said(SearchError, "errors_search.unknown_kind", kind=kind, choices=", ".join(KINDS))
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_BUDGET:
        raise texts.said(SearchError, "errors_search.budget", limit=MAX_BUDGET, value=budget)


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
    check_kind_and_budget(kind, budget)
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


def suggest_bayesian(space, trials, seed, startup_trials):
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
