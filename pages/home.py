"""Home: what imgrec is, the models with their measured accuracy, a small gallery and the way in."""

import streamlit as st

from imgrec import datasets
from pages._ui import inputs, links, models, navigation, presenter, views

# One sample per collection for the gallery; each tile opens a model that knows it (no tile when none does).
GALLERY = ("mnist-00", "fashion-mnist-00", "cifar10-00", "imagenet-07", "photos-chelsea", "photos-coffee")


def intro():
    st.title("How does a computer recognise an image?")
    st.markdown(
        "To a computer, a picture is only a grid of numbers: one brightness per pixel, or three "
        "(red, green, blue) for a colour photo. An **image classifier** is a neural network that turns "
        "that grid into one probability per class, such as *cat*, *digit 7* or *sneaker*. It does this "
        "in layers. The first layers slide small **filters** (3 x 3 grids of weights) over the image and "
        "light up where they find an edge, a corner or a stroke; later layers combine those findings into "
        "parts and whole objects, and the last layer weighs all the evidence into the probabilities. "
        "Nobody writes the filters by hand: the network **learns** them from thousands of labelled examples, "
        "nudging every weight a little after each mistake. A **vision transformer** works differently: it "
        "cuts the image into patches and lets every patch *attend* to the others. The pages below let you "
        "watch each of these steps on your own images."
    )


def page_links():
    pages = (
        ("pages/predict.py", "Predict", ":material/image_search:",
         "Upload, photograph, draw or pick an image; see the top classes and which pixels made the model "
         "choose each one."),
        ("pages/feature_maps.py", "Feature maps", ":material/grid_view:",
         "Look inside the network: what every filter of a layer lights up on, and the arithmetic behind one "
         "number, small enough to check by hand."),
        ("pages/attention.py", "Attention", ":material/visibility:",
         "For a vision transformer: where each patch looks, head by head and layer by layer, and how the "
         "attention flows to the decision."),
        ("pages/filters.py", "Filters", ":material/filter_vintage:",
         "What each filter looks for: the pattern it answers to most, grown from grey, beside the test images "
         "that excite it."),
        ("pages/data_map.py", "Data map", ":material/scatter_plot:",
         "Where the test images lie for a model: one dot each, close when the model finds them alike; click one "
         "to open it."),
    )
    for column, (page, label, icon, text) in zip(st.columns(len(pages)), pages, strict=True):
        with column.container(border=True):
            st.page_link(page, label=label, icon=icon)
            st.caption(text)


def models_table(cards):
    st.subheader("The models")
    st.markdown(
        "Each model below was trained here and then **measured on images it never saw during training** "
        "(the split named beside the number). That measured accuracy is the honest score: a model can be "
        "perfect on its training images and still fail on new ones."
    )
    rows = []
    for card in cards:
        # The measured accuracy comes right after the title: it is what the table is for. Five
        # columns, each as wide as its content, fit the page at 1280 pixels; the Models page has the rest.
        rows.append({
            "Model": card.display_title,
            "Accuracy": views.in_percent(card.accuracy),
            "Reconstruction error": card.reconstruction_mse,
            "Measured on": card.measured_on_text(),
            "Classes": len(card.class_names) if card.is_classifier else None,
            "Parameters": card.parameters,
        })
    st.dataframe(
        rows, hide_index=True,
        column_config={
            "Accuracy": views.percent_column("Accuracy"),
            "Reconstruction error": st.column_config.NumberColumn(
                format="%.4f", help="An autoencoder's score: how far its rebuilt images are from the originals "
                                    "(mean squared, pixels 0..1); lower is better."),
            "Parameters": st.column_config.NumberColumn("Parameters", format="localized"),
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


def _short_title(title):
    """'MNIST sample 0: 7' -> '7'; 'Chelsea the cat' -> 'Chelsea the cat'; at most 16 characters."""
    short = title.split(": ")[-1]
    if short.isdigit():
        return f"Digit {short}"
    return short if len(short) <= 16 else short[:15].rstrip() + "..."


def gallery(cards):
    """One tile per collection, each opening Predict on a model that knows it; a collection no model knows has none."""
    st.subheader("Try one")
    listing = {sample.id: sample for sample in inputs.sample_list()}
    tiles = [(listing[sample_id], _model_for(listing[sample_id], cards)) for sample_id in GALLERY if sample_id in listing]
    tiles = [(sample, model) for sample, model in tiles if model is not None]
    if not tiles:
        st.caption("No sample images that a model here knows are installed on this server; upload your own on the "
                   "Predict page.")
        return
    for column, (sample, model) in zip(st.columns(len(tiles)), tiles, strict=True):
        with column:
            st.image(views.thumbnail_png(_square(inputs.sample_image(sample.id)), 128), width=112)
            st.page_link("pages/predict.py", label=_short_title(sample.title),
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
