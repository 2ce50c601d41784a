"""Hyperparameter search over learning rate, dropout, L2 and optimizer, one background run per trial.

- `space`: what a search draws from (`SearchSpace`) and how trials' settings are chosen
  (grid and random plans, Bayesian TPE suggestions through Optuna).
- `state`: a search kept in `runs/search-<id>.json` (`Search`): advancing, cancelling, listing.
- `driver`: the process that advances a search in the background (`submit`, `wait`, `cancel`,
  `recover`); `python -m imgrec search ...` is its command line.
"""

from imgrec.search.driver import cancel, ensure_driver, load, recover, submit, wait
from imgrec.search.space import (
    IN_FLIGHT,
    KIND_TITLES,
    KINDS,
    MAX_BUDGET,
    PARAMETERS,
    PLANNED,
    SearchError,
    SearchSpace,
    plan,
    startup_trials,
)
from imgrec.search.state import (
    MAX_SEARCH_BYTES,
    SEARCH_ID_PATTERN,
    Search,
    list_searches,
    validate_search_id,
    validation_accuracy,
)

__all__ = [
    "IN_FLIGHT", "KIND_TITLES", "KINDS", "MAX_BUDGET", "MAX_SEARCH_BYTES", "PARAMETERS", "PLANNED",
    "SEARCH_ID_PATTERN", "Search", "SearchError", "SearchSpace", "list_searches", "plan", "startup_trials",
    "validate_search_id", "validation_accuracy", "cancel", "ensure_driver", "load", "recover", "submit", "wait",
]
