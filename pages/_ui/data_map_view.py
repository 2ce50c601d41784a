"""The data map: test images placed by what a model sees in them; hover shows an image, a click opens it.

Shared by the Data map page and a finished run's results; the model is a `source` as
`compute_learned` names it (a registry name, or `compute_learned.run_source(run_id)`).
"""

import numpy as np
import streamlit as st

from imgrec import datasets, embedding, figures, images
from pages._ui import compute_learned, i18n, spinners, views
from pages._ui.i18n import t

SAMPLES = 1500  # Test images on the map: every class a visible cloud; t-SNE of them takes seconds.
COLOURS = {"class": "data_map.colour_class", "outcome": "data_map.colour_outcome"}


@st.cache_data(max_entries=8, show_spinner=False)
def thumbnails(dataset, indices):
    """Small PNG data URLs of test images, enlarged twice with square pixels, for the map's hover."""
    data = datasets.load(dataset)
    return [views.data_url(images.encode_png(views.enlarge(views.model_view(data.x_test[index]), 56)))
            for index in indices]


@spinners.spoken("data_map.placing_pixels")
@st.cache_data(max_entries=8, show_spinner=False)
def pixel_map(dataset, indices, method):
    """The same test images placed by their raw pixels: the map a model has to improve on."""
    pixels = embedding.pixel_features(datasets.load(dataset).x_test[list(indices)])
    return embedding.project(pixels, method)


def controls(predicts, key):
    """The projection, the colouring and the comparison; returns (method, colour, compare)."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    left, middle, right = st.columns([2, 2, 2])
    method = left.radio(text("data_map.projection"), embedding.METHODS, format_func=embedding.METHOD_TITLES.get,
                        horizontal=True, key=f"{key}-method", help=text("data_map.projection_help"))
    colour = "class"
    if predicts:
        colour = middle.radio(text("data_map.colour_by"), list(COLOURS), format_func=lambda item: text(COLOURS[item]),
                              horizontal=True, key=f"{key}-colour")
    compare = right.toggle(text("data_map.compare"), key=f"{key}-compare", help=text("data_map.compare_help"))
    return method, colour, compare


def picked_view(source, key, dataset, placed, index):
    """The clicked image: what the model predicted and why, or for an autoencoder, what it rebuilt."""
    if placed.predicted is None:
        rebuilt, _ = compute_learned.autoencoder_views(source, key, dataset, (index,), walk=False)
        original = datasets.load(dataset).x_test[index]
        st.image(reconstruction_pair(original, rebuilt[0]), caption=t("data_map.rebuilt", index=index))
        return
    case = compute_learned.cases(source, key, dataset, (index,))[0]
    st.image(views.case_image(case, 160))
    st.markdown(views.case_caption(case))
    st.caption(t("data_map.heatmap", explainer=case.explainer, label=i18n.class_name(case.predicted_label)))


def reconstruction_pair(original, rebuilt):
    """An image and its reconstruction side by side, enlarged with square pixels."""
    left = views.enlarge(views.model_view(original), 160)
    right = views.enlarge(views.model_view(np.asarray(rebuilt) * 255.0), 160)
    return np.concatenate([left, np.full((left.shape[0], 6, 3), 255, np.uint8), right], axis=1)


def separation_text(placed, pixels=None):
    """How well the map groups the classes, in words, against the raw pixels' map when there is one."""
    own = embedding.separation(placed.points, placed.labels)
    if pixels is None:
        return t("data_map.separation", neighbours=embedding.NEIGHBOURS, share=f"{own['neighbour_accuracy']:.0%}")
    raw = embedding.separation(pixels, placed.labels)
    return t("data_map.separation_raw", neighbours=embedding.NEIGHBOURS, share=f"{own['neighbour_accuracy']:.0%}",
             raw=f"{raw['neighbour_accuracy']:.0%}")


def map_view(source, key, dataset, class_names, *, predicts=True, chart_key="data-map"):
    """The whole view: controls, the map, the clicked image, and the raw pixels' map when asked.

    Args:
        source, key: the model, as `compute` names it.
        dataset: the dataset whose test images are placed.
        class_names: the dataset's class names.
        predicts: False for an autoencoder, which chose no class. Defaults to `True`.
        chart_key: the map's widget key; its controls' keys start with it. Defaults to `"data-map"`.
    """
    names = [i18n.class_name(str(name)) for name in class_names]
    text = i18n.texts_now()
    method, colour, compare = controls(predicts, chart_key)
    placed = compute_learned.data_map(source, key, dataset, SAMPLES, method)
    indices = tuple(int(index) for index in placed.indices)
    title = embedding.METHOD_TITLES[method]
    spec = figures.embedding_map(placed.points, placed.labels, names, predicted=placed.predicted, colour=colour,
                                 thumbnails=thumbnails(dataset, indices), indices=placed.indices,
                                 axis_titles=(f"{title} 1", f"{title} 2"), texts=text)
    chart, detail = st.columns([5, 2], gap="medium")
    with chart:
        st.vega_lite_chart(spec=spec, on_select="rerun", selection_mode="picked", key=chart_key,
                           width="stretch")
        st.caption(t("data_map.map_caption", count=f"{len(indices):,}", dimensions=placed.dimensions,
                     layer=placed.layer, method=title))
    picked = [point.get("index") for point in views.selected_points(chart_key, "picked")]
    with detail:
        if picked and picked[0] in indices:
            picked_view(source, key, dataset, placed, int(picked[0]))
        else:
            st.info(t("data_map.click"), icon=":material/ads_click:")
    pixels = None
    if compare:
        pixels = pixel_map(dataset, indices, method)
        raw = figures.embedding_map(pixels, placed.labels, names, predicted=placed.predicted, colour=colour,
                                    thumbnails=thumbnails(dataset, indices), indices=placed.indices, height=360,
                                    title=t("data_map.raw_title"), axis_titles=(f"{title} 1", f"{title} 2"),
                                    texts=text)
        st.vega_lite_chart(spec=raw, key=f"{chart_key}-pixels", width="stretch")
    st.markdown(separation_text(placed, pixels))
