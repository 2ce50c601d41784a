"""The Models page's test-set tab: a classifier's clickable confusion matrix, or what an autoencoder rebuilds."""

import streamlit as st

from imgrec import datasets
from pages._ui import autoencoder, confusion

TAB_MISTAKES, TAB_RECONSTRUCTIONS = ":material/grid_on: Mistakes", ":material/blur_on: Reconstructions"
TITLES = (TAB_MISTAKES, TAB_RECONSTRUCTIONS)


def tab_title(card):
    """The tab's title for a model: its mistakes, or an autoencoder's reconstructions."""
    return TAB_MISTAKES if card.is_classifier else TAB_RECONSTRUCTIONS


def has_test_split(card):
    """Whether the model's dataset has a test split here whose images are the model's input."""
    base = card.dataset.split(":", 1)[0]
    return base in datasets.names() and tuple(datasets.input_shape(base)) == tuple(card.input.shape)


def test_set_tab(card, key):
    """Opens the model's test set: which images it gets wrong, or how it rebuilds them."""
    if not has_test_split(card):
        st.info(f"{card.display_title} was measured on {card.measured_on_text()}, not on a test split this app can "
                "load, so there is no confusion matrix to open here.", icon=":material/info:")
        return
    if not card.is_classifier:
        metrics = card.metrics
        autoencoder.autoencoder_view(card.name, key, card.dataset, mse=card.reconstruction_mse or 0.0,
                                     n=metrics.n if metrics and metrics.n else 0,
                                     per_class=metrics.per_class_mse if metrics else None)
        return
    st.markdown(f"Which test images does **{card.display_title}** get wrong? Click any cell of the matrix, say true "
                "4 and predicted 9, to see exactly those images, each with the model's top 3 classes and the "
                "heatmap of the class it chose.")
    confusion.confusion_view(card.name, key, card.dataset, card.class_names, "models-confusion")
