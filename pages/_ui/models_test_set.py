"""The Models page's test-set tab: a classifier's clickable confusion matrix, or what an autoencoder rebuilds."""

import streamlit as st

from imgrec import datasets
from pages._ui import autoencoder, confusion, models
from pages._ui.i18n import t


def tab_name(card):
    """The tab's name in the address for a model: its mistakes, or an autoencoder's reconstructions."""
    return "mistakes" if card.is_classifier else "reconstructions"


def has_test_split(card):
    """Whether the model's dataset has a test split here whose images are the model's input."""
    base = card.dataset.split(":", 1)[0]
    return base in datasets.names() and tuple(datasets.input_shape(base)) == tuple(card.input.shape)


def test_set_tab(card, key):
    """Opens the model's test set: which images it gets wrong, or how it rebuilds them."""
    if not has_test_split(card):
        st.info(t("models_test_set.no_test_split", title=card.display_title, measured=models.measured_on_text(card)),
                icon=":material/info:")
        return
    if not card.is_classifier:
        metrics = card.metrics
        autoencoder.autoencoder_view(card.name, key, card.dataset, mse=card.reconstruction_mse or 0.0,
                                     n=metrics.n if metrics and metrics.n else 0,
                                     per_class=metrics.per_class_mse if metrics else None)
        return
    st.markdown(t("models_test_set.intro", title=card.display_title))
    confusion.confusion_view(card.name, key, card.dataset, card.class_names, "models-confusion")
