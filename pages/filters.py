"""Filters: what each filter of a layer looks for, grown from a grey image, beside the test images that excite it most."""

import time

import numpy as np
import streamlit as st

from imgrec import datasets, figures, images
from imgrec.explain import maximisation
from imgrec.jobs import filters as filter_jobs
from pages._ui import compute_learned, links, models, navigation, presenter, views

BLOCK = 32  # Filters drawn at once on a small model: a whole first layer of the MNIST models.
INTRO = (
    "Each filter of a convolutional layer answers to one pattern. To see which, start from a plain grey image and "
    "change its pixels, step by step, in whatever direction makes the filter answer more strongly (**activation "
    "maximisation**, gradient ascent on the image). What grows is the pattern the filter looks for. Beside it are "
    "the test images that make it answer most: the real examples of that pattern."
)


def layer_ui(name, key):
    """The layer and the block of its filters to show; returns (layer, channels) or None when there are none."""
    counts, first = compute_learned.filter_layers(name, key)
    if not counts:
        return None
    layer_names = list(counts)
    chosen = st.selectbox("Layer", layer_names, index=layer_names.index(first) if first in layer_names else 0,
                          key=f"filters-layer-{name}", format_func=lambda item: f"{item} ({counts[item]} filters)",
                          help="Early layers look for edges and strokes; later ones for combinations of them.")
    block = filter_jobs.BLOCK if filter_jobs.needs_background(models.card_for(name)) else BLOCK
    starts = list(range(0, counts[chosen], block))
    start = st.selectbox("Filters", starts, key=f"filters-block-{name}-{chosen}",
                         format_func=lambda item: f"{item} to {min(item + block, counts[chosen]) - 1} of "
                                                  f"{counts[chosen]}") if len(starts) > 1 else 0
    return chosen, tuple(range(start, min(start + block, counts[chosen])))


def test_images_of(card):
    """The dataset whose test images stand beside the filters, or None when it has none here."""
    base = card.dataset.split(":", 1)[0]
    if base in datasets.names() and tuple(datasets.input_shape(base)) == tuple(card.input.shape):
        return card.dataset
    return None


def show(pictures, activations, channels, examples):
    labels = [f"filter {channel}" for channel in channels]
    st.plotly_chart(figures.filter_grid(pictures, examples, labels), key="filters-grid", config=views.CHART_CONFIG)
    quiet = [str(channel) for channel, value in zip(channels, activations, strict=True) if value <= 0]
    st.caption("Each picture is stretched to show its pattern: mid grey is where the image stayed as it started. "
               "Stripes at one angle mean an edge detector of that angle; a plain light or dark square, a filter "
               "that answers to brightness itself; later layers grow textures and parts of shapes."
               + (f" Filters {', '.join(quiet)} never answered: no image made them fire (dead filters)."
                  if quiet else ""))


def inline_view(name, key, card, layer, channels):
    dataset = test_images_of(card)
    pictures, activations, seconds, strongest = compute_learned.filter_pictures(name, key, layer, channels, dataset)
    examples = None
    if strongest is not None:
        test_images = datasets.load(dataset).x_test
        examples = np.stack([test_images[row] for row in strongest])
    show(pictures, activations, channels, examples)
    st.caption(f"Computed in {seconds:.1f} s ({len(channels)} filters at once) the first time; now from memory.")


@st.fragment(run_every=1.0)
def progress_view(folder):
    """Polls a background job every second; reruns the page once it has finished."""
    state = filter_jobs.status(folder) or {}
    if state.get("status") != filter_jobs.RUNNING:
        st.rerun()
    done, total = state.get("done") or 0, state.get("total")
    text = f"{done} of {total} filters pictured" if total else "Starting: loading the model (a few seconds)"
    elapsed = time.time() - (state.get("started") or time.time())
    st.progress(done / total if total else 0.0, text=f"{text}, {elapsed:.0f} s so far.")


def background_view(card, layer, channels):
    folder = filter_jobs.folder_for(card, layer, channels[0], len(channels))
    state = filter_jobs.status(folder)
    if state is None or state["status"] == filter_jobs.FAILED:
        if state is not None:
            st.error(state.get("reason") or "The background job failed.", icon=":material/error:")
        st.info(f"On a {card.input.shape[0]} x {card.input.shape[1]} network each filter takes about a second, so "
                f"these {len(channels)} are pictured in the background and kept for every visitor after you.",
                icon=":material/schedule:")
        if st.button("Picture these filters", type="primary", icon=":material/play_arrow:", key="filters-start"):
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
    st.caption("Beside each filter: the sample photos that excite it most. Pictured once in the background, then "
               "kept beside the model.")


def _square(rgb):
    """The central square of a photo, shrunk to at most 96 pixels a side."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return images.thumbnail(rgb[top : top + side, left : left + side], 96)


def main():
    st.title("What the filters look for")
    links.begin("filters")
    presenter.apply()
    st.markdown(INTRO)
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    chosen = layer_ui(name, key)
    if chosen is None:
        st.info("This model has no layer that keeps the image's shape (a recurrent network or a perceptron), so it "
                "has no filters to picture. Choose a convolutional model in the sidebar.", icon=":material/info:")
        return
    layer, channels = chosen
    if filter_jobs.needs_background(card):
        background_view(card, layer, channels)
    else:
        inline_view(name, key, card, layer, channels)


navigation.run_inside_navigation()
main()
