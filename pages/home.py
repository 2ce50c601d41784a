"""Home: what imgrec is, the models with their measured accuracy, a small gallery and the way in."""

import re

import streamlit as st

from imgrec import datasets
from pages._ui import inputs, links, models, navigation, presenter, views
from pages._ui.i18n import t

# One sample per collection for the gallery; each tile opens a model that knows it (no tile when none does).
GALLERY = ("mnist-00", "fashion-mnist-00", "cifar10-00", "imagenet-07", "photos-chelsea", "photos-coffee")


def intro():
    st.title(t("home.title"))
    st.markdown(t("home.intro"))


def page_links():
    pages = (
        ("pages/predict.py", "nav.predict", ":material/image_search:", "home.about_predict"),
        ("pages/feature_maps.py", "nav.feature_maps", ":material/grid_view:", "home.about_feature_maps"),
        ("pages/attention.py", "nav.attention", ":material/visibility:", "home.about_attention"),
        ("pages/filters.py", "nav.filters", ":material/filter_vintage:", "home.about_filters"),
        ("pages/data_map.py", "nav.data_map", ":material/scatter_plot:", "home.about_data_map"),
    )
    for column, (page, label, icon, text) in zip(st.columns(len(pages)), pages, strict=True):
        with column.container(border=True):
            st.page_link(page, label=t(label), icon=icon)
            st.caption(t(text))


def models_table(cards):
    st.subheader(t("home.models"))
    st.markdown(t("home.models_intro"))
    rows = []
    for card in cards:
        # The measured accuracy comes right after the title: it is what the table is for. Five
        # columns, each as wide as its content, fit the page at 1280 pixels; the Models page has the rest.
        rows.append({
            "Model": card.display_title,
            "Accuracy": views.in_percent(card.accuracy),
            "Reconstruction error": card.reconstruction_mse,
            "Measured on": models.measured_on_text(card),
            "Classes": len(card.class_names) if card.is_classifier else None,
            "Parameters": card.parameters,
        })
    st.dataframe(
        rows, hide_index=True,
        column_config={
            "Model": st.column_config.TextColumn(t("home.column_model")),
            "Accuracy": views.percent_column(t("home.column_accuracy")),
            "Reconstruction error": st.column_config.NumberColumn(
                t("home.column_reconstruction"), format="%.4f", help=t("home.reconstruction_help")),
            "Measured on": st.column_config.TextColumn(t("home.column_measured_on")),
            "Classes": st.column_config.NumberColumn(t("home.column_classes")),
            "Parameters": st.column_config.NumberColumn(t("home.column_parameters"), format="localized"),
        },
    )


def _model_for(sample, cards):
    """The name of a model that knows a sample (its own collection's model first), or None."""
    ranked = []
    for card in cards:
        if not card.is_classifier:  # An autoencoder names no class, so it opens no sample on Predict.
            continue
        if datasets.domain_mismatch(card.dataset, card.class_names, sample.collection, sample.label_name) is None:
            collections = datasets.collections_for(card.dataset)
            if sample.collection in collections:
                ranked.append((collections.index(sample.collection), card.name))
    return min(ranked)[1] if ranked else None


def _square(rgb):
    """The central square of an image, so the gallery's tiles line up."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top : top + side, left : left + side]


def _short_title(sample):
    """'MNIST sample 0: 7' -> 'Digit 7'; 'Chelsea the cat' -> 'Chelsea the cat' (in this run's language); at most 16 characters."""
    short = re.split(": |：", inputs.sample_title(sample))[-1]
    if short.isdigit():
        return t("home.digit", digit=short)
    return short if len(short) <= 16 else short[:15].rstrip() + "..."


def gallery(cards):
    """One tile per collection, each opening Predict on a model that knows it; a collection no model knows has none."""
    st.subheader(t("home.try_one"))
    listing = {sample.id: sample for sample in inputs.sample_list()}
    tiles = [(listing[sample_id], _model_for(listing[sample_id], cards)) for sample_id in GALLERY if sample_id in listing]
    tiles = [(sample, model) for sample, model in tiles if model is not None]
    if not tiles:
        st.caption(t("home.no_gallery"))
        return
    for column, (sample, model) in zip(st.columns(len(tiles)), tiles, strict=True):
        with column:
            st.image(views.thumbnail_png(_square(inputs.sample_image(sample.id)), 128), width=112)
            st.page_link("pages/predict.py", label=_short_title(sample),
                         query_params=presenter.keep({"model": model, "sample": sample.id}))


def main():
    links.begin("home")  # Home keeps no view of its own in the address; presenter mode does.
    presenter.apply()
    intro()
    page_links()
    cards = models.model_cards()
    gallery(cards)
    models_table(cards)


navigation.run_inside_navigation()
main()
