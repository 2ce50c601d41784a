"""Data map: where a model puts the test images, on a 2-D map of the numbers it decides from; click a dot to open it."""

import streamlit as st

from imgrec import datasets
from pages._ui import data_map_view, links, models, navigation, presenter

INTRO = (
    "Before its last layer decides, a classifier turns every image into a list of numbers, its own description of "
    "the image. Images it finds alike get similar lists. Squeeze those lists onto two axes and each test image "
    "becomes a dot: **where the data lies** for this model. Well-separated clouds are classes it tells apart; "
    "where clouds touch, it gets confused. Hover a dot to see its image; click it to open the image with the "
    "model's prediction and the heatmap of why."
)


def main():
    st.title("Where the data lies")
    links.begin("data-map")
    presenter.apply()
    st.markdown(INTRO)
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    base = card.dataset.split(":", 1)[0]
    if base not in datasets.names() or tuple(datasets.input_shape(base)) != tuple(card.input.shape):
        st.info(f"{card.display_title} learned from {card.dataset}, which has no test split here to place on a map. "
                "Choose a model trained on MNIST, Fashion-MNIST, digits or CIFAR-10 in the sidebar.",
                icon=":material/info:")
        return
    if not card.is_classifier:
        st.markdown("This model is an **autoencoder**: the numbers placed here are its code, the few numbers it "
                    "squeezes each image into. It never saw a label; the colours are added to show what it found.")
    data_map_view.map_view(name, key, card.dataset, datasets.class_names(card.dataset), predicts=card.is_classifier)


navigation.run_inside_navigation()
main()
