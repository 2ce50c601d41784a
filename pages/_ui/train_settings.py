"""The settings of the next training run: kept in session state across tabs and pages, checked, submitted."""

import re
import secrets

import streamlit as st

from imgrec import datasets, jobs, training
from pages._ui import i18n
from pages._ui.i18n import t

OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD + momentum", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                    "adam": "Adam"}
# Widgets show some settings differently: 0 stands for None (all samples, automatic patch size).
_TO_WIDGET = {"max_samples": lambda value: value or 0, "patch_size": lambda value: value or 0}
_FROM_WIDGET = {"max_samples": lambda value: int(value) or None, "patch_size": lambda value: int(value) or None}
_COUNT_WORDS = {2: "train_settings.two", 3: "train_settings.three", 4: "train_settings.four"}
# The shipped datasets' titles without their sizes (the caption has them); another dataset keeps its own title.
DATASET_TITLES = {"MNIST handwritten digits": "train_settings.title_mnist",
                  "MNIST 5k subset": "train_settings.title_mnist_5k",
                  "Fashion-MNIST clothing": "train_settings.title_fashion_mnist",
                  "UCI optical digits 8x8": "train_settings.title_digits",
                  "CIFAR-10 small photos": "train_settings.title_cifar10",
                  "Drawn shapes, 64x64 colour": "train_settings.title_shapes"}
COLOURS = {"grey": "train_settings.grey", "colour": "train_settings.colour"}


def optimizer_title(name):
    """An optimizer as people write it ("SGD + momentum"); an unknown name as it is."""
    return OPTIMIZER_TITLES.get(name, name)


def _count_text(count):
    """A small count as a word ("two"), a larger one as digits."""
    return t(_COUNT_WORDS[count]) if count in _COUNT_WORDS else str(count)


def _base_title(description):
    """A dataset's title without its sizes, in the session's language when it is a shipped one."""
    title = re.sub(r" \([\d,+ ]+\)$", "", description.title)  # "MNIST handwritten digits (60,000 + 10,000)"
    return t(DATASET_TITLES[title]) if title in DATASET_TITLES else title


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
        return t("train_settings.subset_title", name=name, count=_count_text(description.num_classes))
    title = _base_title(description)
    return title if description.source else t("train_settings.not_here_title", title=title)


def dataset_caption(name):
    """One sentence of facts about a dataset (sizes, shape, colour, classes, source), or that it is not here.

    A class subset gives its own sizes and classes, not those of the dataset it is cut from.
    """
    description = dataset_description(name)
    if description.source is None:
        sizes = description.title[len(re.sub(r" \([\d,+ ]+\)$", "", description.title)):]  # " (50,000 + 10,000)"
        return t("train_settings.not_here", title=_base_title(description) + sizes)
    sizes = (t("train_settings.sizes", train=f"{description.train_size:,}", test=f"{description.test_size:,}")
             if description.train_size else t("train_settings.sizes_unknown"))
    height, width, _ = description.shape
    classes = t("train_settings.classes", count=description.num_classes)
    if description.subset:
        names = t("train_settings.and").join(i18n.class_name(name) for name in description.class_names)
        sizes = t("train_settings.subset_sizes", names=names, base=_base_title(description), sizes=sizes)
        classes = t("train_settings.classes", count=_count_text(description.num_classes))
    colour = t(COLOURS[description.colour]) if description.colour in COLOURS else description.colour
    return t("train_settings.caption", sizes=sizes, width=width, height=height, colour=colour, classes=classes,
             source=description.source)


# What stops a run from being queued: the same check as `jobs.submit` and the command line.
SUBMIT_ERRORS = (training.ConfigError, datasets.DatasetUnavailable, jobs.JobError)


def config_problem(values):
    """The reason a config cannot start (a sentence, with what to do), or None: `jobs.check_config`'s."""
    try:
        jobs.check_config(dict(values))
    except SUBMIT_ERRORS as error:
        return i18n.error_text(error)
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
        st.error(i18n.error_text(error), icon=":material/error:")
        return None
