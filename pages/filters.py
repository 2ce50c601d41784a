"""Filters: what each filter of a layer looks for, grown from a grey image, beside the test images that excite it most."""

import time

import numpy as np
import streamlit as st

from imgrec import datasets, figures, images
from imgrec.explain import maximisation
from imgrec.jobs import filters as filter_jobs
from pages._ui import charts, compute_learned, i18n, links, models, navigation, presenter
from pages._ui.i18n import t

BLOCK = 32  # Filters drawn at once on a small model: a whole first layer of the MNIST models.


def layer_ui(name, key):
    """The layer and the block of its filters to show; returns (layer, channels) or None when there are none."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    counts, first = compute_learned.filter_layers(name, key)
    if not counts:
        return None
    layer_names = list(counts)
    chosen = st.selectbox(text("filters_page.layer"), layer_names,
                          index=layer_names.index(first) if first in layer_names else 0, key=f"filters-layer-{name}",
                          format_func=lambda item: text("filters_page.layer_option", name=item, count=counts[item]),
                          help=text("filters_page.layer_help"))
    block = filter_jobs.BLOCK if filter_jobs.needs_background(models.card_for(name)) else BLOCK
    starts = list(range(0, counts[chosen], block))
    start = st.selectbox(text("filters_page.block"), starts, key=f"filters-block-{name}-{chosen}",
                         format_func=lambda item: text("filters_page.block_option", first=item,
                                                       last=min(item + block, counts[chosen]) - 1,
                                                       count=counts[chosen])) if len(starts) > 1 else 0
    return chosen, tuple(range(start, min(start + block, counts[chosen])))


def test_images_of(card):
    """The dataset whose test images stand beside the filters, or None when it has none here."""
    base = card.dataset.split(":", 1)[0]
    if base in datasets.names() and tuple(datasets.input_shape(base)) == tuple(card.input.shape):
        return card.dataset
    return None


def show(pictures, activations, channels, examples):
    labels = [t("filters_page.filter", channel=channel) for channel in channels]
    charts.show(figures.filter_grid(pictures, examples, labels, texts=i18n.texts_now()), key="filters-grid")
    quiet = [str(channel) for channel, value in zip(channels, activations, strict=True) if value <= 0]
    st.caption(t("filters_page.grid_caption") + (t("filters_page.dead", filters=", ".join(quiet)) if quiet else ""))


def inline_view(name, key, card, layer, channels):
    dataset = test_images_of(card)
    pictures, activations, seconds, strongest = compute_learned.filter_pictures(name, key, layer, channels, dataset)
    examples = None
    if strongest is not None:
        test_images = datasets.load(dataset).x_test
        examples = np.stack([test_images[row] for row in strongest])
    show(pictures, activations, channels, examples)
    st.caption(t("filters_page.computed", seconds=f"{seconds:.1f}", count=len(channels)))


@st.fragment(run_every=1.0)
def progress_view(folder):
    """Polls a background job every second; reruns the page once it has finished."""
    state = filter_jobs.status(folder) or {}
    if state.get("status") != filter_jobs.RUNNING:
        st.rerun()
    done, total = state.get("done") or 0, state.get("total")
    elapsed = f"{time.time() - (state.get('started') or time.time()):.0f}"
    text = t("filters_page.progress", done=done, total=total, seconds=elapsed) if total else t("filters_page.starting",
                                                                                          seconds=elapsed)
    st.progress(done / total if total else 0.0, text=text)


def background_view(card, layer, channels):
    folder = filter_jobs.folder_for(card, layer, channels[0], len(channels))
    state = filter_jobs.status(folder)
    if state is None or state["status"] == filter_jobs.FAILED:
        if state is not None:
            reason = state.get("reason")  # The job's own sentence, in English.
            st.error(i18n.error_text(reason) if reason else t("filters_page.failed"), icon=":material/error:")
        st.info(t("filters_page.background", height=card.input.shape[0], width=card.input.shape[1], count=len(channels)),
                icon=":material/schedule:")
        if st.button(t("filters_page.start"), type="primary", icon=":material/play_arrow:", key="filters-start"):
            filter_jobs.start(card, layer, channels[0], len(channels))
            st.rerun()
        return
    if state["status"] == filter_jobs.RUNNING:
        progress_view(folder)
        return
    stored = filter_jobs.result(folder)
    samples = [_square(datasets.load_sample(str(sample_id))) for sample_id in stored["sample_ids"]]
    examples = [[samples[index] for index in row] for row in stored["strongest"]]
    show(maximisation.pictures(stored["images"]), stored["activations"], [int(c) for c in stored["channels"]],
         examples)
    st.caption(t("filters_page.background_caption"))


def _square(rgb):
    """The central square of a photo, shrunk to at most 96 pixels a side."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return images.thumbnail(rgb[top : top + side, left : left + side], 96)


def main():
    st.title(t("filters_page.title"))
    links.begin("filters")
    presenter.apply()
    st.markdown(t("filters_page.intro"))
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    chosen = layer_ui(name, key)
    if chosen is None:
        st.info(t("filters_page.no_layers"), icon=":material/info:")
        return
    layer, channels = chosen
    if filter_jobs.needs_background(card):
        background_view(card, layer, channels)
    else:
        inline_view(name, key, card, layer, channels)


navigation.run_inside_navigation()
main()
