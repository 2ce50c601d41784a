"""The data map: test images placed by what a model sees in them; hover shows an image, a click opens it.

Shared by the Data map page and a finished run's results; the model is a `source` as
`compute_learned` names it (a registry name, or `compute_learned.run_source(run_id)`).
"""

import numpy as np
import streamlit as st

from imgrec import datasets, embedding, figures, images
from pages._ui import compute_learned, views

SAMPLES = 1500  # Test images on the map: every class a visible cloud; t-SNE of them takes seconds.
METHOD_HELP = ("PCA turns the map so the two directions where the images differ most lie flat: distances mean "
               "something, but classes may overlap. t-SNE keeps each image's nearest neighbours near it: clusters "
               "are clearer, but distances between clusters mean little.")
COLOURS = {"class": "True class", "outcome": "Right or wrong"}


@st.cache_data(max_entries=8, show_spinner=False)
def thumbnails(dataset, indices):
    """Small PNG data URLs of test images, enlarged twice with square pixels, for the map's hover."""
    data = datasets.load(dataset)
    return [views.data_url(images.encode_png(views.enlarge(views.model_view(data.x_test[index]), 56)))
            for index in indices]


@st.cache_data(max_entries=8, show_spinner="Placing the raw pixels on a map of their own...")
def pixel_map(dataset, indices, method):
    """The same test images placed by their raw pixels: the map a model has to improve on."""
    pixels = embedding.pixel_features(datasets.load(dataset).x_test[list(indices)])
    return embedding.project(pixels, method)


def controls(predicts, key):
    """The projection, the colouring and the comparison; returns (method, colour, compare)."""
    left, middle, right = st.columns([2, 2, 2])
    method = left.radio("Projection", embedding.METHODS, format_func=embedding.METHOD_TITLES.get, horizontal=True,
                        key=f"{key}-method", help=METHOD_HELP)
    colour = "class"
    if predicts:
        colour = middle.radio("Colour by", list(COLOURS), format_func=COLOURS.get, horizontal=True,
                              key=f"{key}-colour")
    compare = right.toggle("Compare with the raw pixels", key=f"{key}-compare",
                           help="Place the same images by their pixels alone, with no model: how much does the "
                                "model's view group the classes better?")
    return method, colour, compare


def picked_view(source, key, dataset, placed, index):
    """The clicked image: what the model predicted and why, or for an autoencoder, what it rebuilt."""
    if placed.predicted is None:
        rebuilt, _ = compute_learned.autoencoder_views(source, key, dataset, (index,), walk=False)
        original = datasets.load(dataset).x_test[index]
        st.image(reconstruction_pair(original, rebuilt[0]), caption=f"Test image {index} (left) and what the autoencoder "
                                                            "rebuilt from its code (right).")
        return
    case = compute_learned.cases(source, key, dataset, (index,))[0]
    st.image(views.case_image(case, 160))
    st.markdown(views.case_caption(case))
    st.caption(f"Right: the {case.explainer} of **{case.predicted_label}**, the regions that spoke most for it.")


def reconstruction_pair(original, rebuilt):
    """An image and its reconstruction side by side, enlarged with square pixels."""
    left = views.enlarge(views.model_view(original), 160)
    right = views.enlarge(views.model_view(np.asarray(rebuilt) * 255.0), 160)
    return np.concatenate([left, np.full((left.shape[0], 6, 3), 255, np.uint8), right], axis=1)


def separation_text(placed, pixels=None):
    """How well the map groups the classes, in words, against the raw pixels' map when there is one."""
    own = embedding.separation(placed.points, placed.labels)
    text = (f"On this map, the {embedding.NEIGHBOURS} nearest neighbours of an image mostly share its class "
            f"**{own['neighbour_accuracy']:.0%}** of the time")
    if pixels is not None:
        raw = embedding.separation(pixels, placed.labels)
        text += f"; on the raw pixels' map, {raw['neighbour_accuracy']:.0%}"
    return text + "."


def map_view(source, key, dataset, class_names, *, predicts=True, chart_key="data-map"):
    """The whole view: controls, the map, the clicked image, and the raw pixels' map when asked.

    Args:
        source, key: the model, as `compute` names it.
        dataset: the dataset whose test images are placed.
        class_names: the dataset's class names.
        predicts: False for an autoencoder, which chose no class. Defaults to `True`.
        chart_key: the map's widget key; its controls' keys start with it. Defaults to `"data-map"`.
    """
    names = [str(name) for name in class_names]
    method, colour, compare = controls(predicts, chart_key)
    placed = compute_learned.data_map(source, key, dataset, SAMPLES, method)
    indices = tuple(int(index) for index in placed.indices)
    title = embedding.METHOD_TITLES[method]
    spec = figures.embedding_map(placed.points, placed.labels, names, predicted=placed.predicted, colour=colour,
                                 thumbnails=thumbnails(dataset, indices), indices=placed.indices,
                                 axis_titles=(f"{title} 1", f"{title} 2"))
    chart, detail = st.columns([5, 2], gap="medium")
    with chart:
        st.vega_lite_chart(spec=spec, on_select="rerun", selection_mode="picked", key=chart_key,
                           width="stretch")
        st.caption(f"{len(indices):,} test images, placed by the {placed.dimensions} numbers of layer "
                   f"`{placed.layer}` ({title}). Hover a dot to see its image; click it to open it.")
    picked = [point.get("index") for point in views.selected_points(chart_key, "picked")]
    with detail:
        if picked and picked[0] in indices:
            picked_view(source, key, dataset, placed, int(picked[0]))
        else:
            st.info("Click a dot on the map to open its image here.", icon=":material/ads_click:")
    pixels = None
    if compare:
        pixels = pixel_map(dataset, indices, method)
        raw = figures.embedding_map(pixels, placed.labels, names, predicted=placed.predicted, colour=colour,
                                    thumbnails=thumbnails(dataset, indices), indices=placed.indices, height=360,
                                    title="The same images placed by their raw pixels, with no model",
                                    axis_titles=(f"{title} 1", f"{title} 2"))
        st.vega_lite_chart(spec=raw, key=f"{chart_key}-pixels", width="stretch")
    st.markdown(separation_text(placed, pixels))
