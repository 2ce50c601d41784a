"""Data map: where a model puts the test images, on a 2-D map of the numbers it decides from; click a dot to open it."""

import streamlit as st

from imgrec import datasets
from pages._ui import data_map_view, links, models, navigation, presenter
from pages._ui.i18n import t


def main():
    st.title(t("data_map.title"))
    links.begin("data-map")
    presenter.apply()
    st.markdown(t("data_map.intro"))
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    base = card.dataset.split(":", 1)[0]
    if base not in datasets.names() or tuple(datasets.input_shape(base)) != tuple(card.input.shape):
        st.info(t("data_map.no_test_split", title=card.display_title, dataset=card.dataset), icon=":material/info:")
        return
    if not card.is_classifier:
        st.markdown(t("data_map.autoencoder"))
    data_map_view.map_view(name, key, card.dataset, datasets.class_names(card.dataset), predicts=card.is_classifier)


navigation.run_inside_navigation()
main()
