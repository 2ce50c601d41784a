"""The settings of the next training run: kept in session state across tabs and pages, checked, submitted."""

import re
import secrets

import streamlit as st

from imgrec import datasets, jobs, training

OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD + momentum", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                    "adam": "Adam"}
# Widgets show some settings differently: 0 stands for None (all samples, automatic patch size).
_TO_WIDGET = {"max_samples": lambda value: value or 0, "patch_size": lambda value: value or 0}
_FROM_WIDGET = {"max_samples": lambda value: int(value) or None, "patch_size": lambda value: int(value) or None}
_COUNT_WORDS = {2: "two", 3: "three", 4: "four"}


def optimizer_title(name):
    """An optimizer as people write it ("SGD + momentum"); an unknown name as it is."""
    return OPTIMIZER_TITLES.get(name, name)


def settings():
    """The settings of the next run, as a `TrainConfig` dict; the quickstart preset at first."""
    if "train_settings" not in st.session_state:
        st.session_state.train_settings = training.preset("quickstart").to_dict()
    return st.session_state.train_settings


def apply_settings(values):
    """Replaces some settings (e.g. a search's best) and resets their widgets to show them."""
    settings().update(values)
    for name in values:
        st.session_state.pop(f"cfg-{name}", None)


def field(widget, name, label, **options):
    """Draws one setting's widget bound to the settings dict; returns the setting's value."""
    key = f"cfg-{name}"
    if key not in st.session_state:
        st.session_state[key] = _TO_WIDGET.get(name, lambda value: value)(settings()[name])
    value = widget(label, key=key, **options)
    settings()[name] = _FROM_WIDGET.get(name, lambda value: value)(value)
    return settings()[name]


@st.cache_data(ttl=60, show_spinner=False)
def dataset_description(name):
    """`datasets.describe(name)`; it checks the network at most once a minute, so it is cached as long."""
    return datasets.describe(name)


def dataset_title(name):
    """How the dataset picker names a dataset: its title without the sizes (the caption has them), or the subset's
    name and class count; short enough for the picker at 1280 pixels."""
    description = dataset_description(name)
    if description.subset:
        return f"{name} ({_COUNT_WORDS.get(description.num_classes, description.num_classes)} classes)"
    title = re.sub(r" \([\d,+ ]+\)$", "", description.title)  # "MNIST handwritten digits (60,000 + 10,000)"
    return title + ("" if description.source else " (not on this machine)")


def dataset_caption(name):
    """One sentence of facts about a dataset (sizes, shape, colour, classes, source), or that it is not here.

    A class subset gives its own sizes and classes, not those of the dataset it is cut from.
    """
    description = dataset_description(name)
    if description.source is None:
        return f"No copy of {description.title} is on this machine."
    sizes = (f"{description.train_size:,} training and {description.test_size:,} test images"
             if description.train_size else "sizes unknown")
    height, width, _ = description.shape
    classes = f"{description.num_classes} classes"
    if description.subset:
        base = re.sub(r" \(.*\)$", "", description.title)
        sizes = f"The {' and '.join(description.class_names)} images of {base}: {sizes}"
        classes = f"{_COUNT_WORDS.get(description.num_classes, description.num_classes)} classes"
    return f"{sizes}, {width} x {height} {description.colour}, {classes}, from {description.source}."


# What stops a run from being queued: the same check as `jobs.submit` and the command line.
SUBMIT_ERRORS = (training.ConfigError, datasets.DatasetUnavailable, jobs.JobError)


def config_problem(values):
    """The reason a config cannot start (a sentence, with what to do), or None: `jobs.check_config`'s."""
    try:
        jobs.check_config(dict(values))
    except SUBMIT_ERRORS as error:
        return str(error)
    return None


def session_owner():
    """This browser session's id as a run owner: a session may have IMGREC_MAX_RUNS_PER_SESSION runs at once."""
    if "run-owner" not in st.session_state:
        st.session_state["run-owner"] = secrets.token_hex(8)
    return st.session_state["run-owner"]


def submit_run(values, owner=None):
    """Submits a run (counted against `owner`'s limit when given); returns its id, or shows why it could not start."""
    try:
        return jobs.submit(dict(values), **({"owner": owner} if owner else {}))
    except SUBMIT_ERRORS as error:
        st.error(str(error), icon=":material/error:")
        return None
