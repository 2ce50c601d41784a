"""Edit and compare on /predict: paint over what the model sees and watch the classes and the heatmap change.

The original (the model's view of the chosen image, or an edit pinned in its place) stays on
the left; the edited copy is predicted and explained on the right with the same method and
class, and can be trust-checked like any other image.
"""

import numpy as np
import streamlit as st
from PIL import Image

from imgrec import edits, figures, overlays
from pages._ui import compute, inputs, trust_panel, views

# The canvas shows the model's view enlarged by a whole factor to at least this many pixels a
# side, so a 28-pixel digit is painted at 10 screen pixels per input pixel.
CANVAS_SIDE = 224
TOP = 3


def _pinned(model_input):
    """The original the edits start from: the chosen image's model view, or an edit pinned in its place."""
    source = inputs.digest(model_input)
    state = st.session_state.get("edit-pinned")
    if state is None or state["source"] != source:
        state = st.session_state["edit-pinned"] = {"source": source, "image": model_input, "version": 0}
    return state


def _pin(edited):
    state = st.session_state["edit-pinned"]
    state["image"], state["version"] = edited, state["version"] + 1


def compare(name, key, class_names, original, edited, method, class_index, options):
    """The original and the edited input side by side: the top classes, the class's probability and the heatmap."""
    probabilities = compute.probabilities(name, key, np.stack([original, edited]))
    label = class_names[class_index]
    columns = st.columns(2, gap="large")
    for column, title, image, row in zip(columns, ("Original", "Edited"), (original, edited), probabilities,
                                         strict=True):
        with column:
            st.markdown(f"**{title}**")
            ranked = views.ranked(row, class_names, TOP)
            st.plotly_chart(figures.topk_bar([p.label for p in ranked], [p.probability for p in ranked],
                                             highlight=label), key=f"compare-top-{title}", config=views.CHART_CONFIG)
            heatmap = compute.explanation(name, key, image, method, int(class_index), **options)
            base = views.enlarge(views.model_view(image), 224)
            st.image(overlays.overlay(base, heatmap), caption=f"What speaks for {label}", width=224)
    change = (probabilities[1, class_index] - probabilities[0, class_index]) * 100
    st.metric(f"Probability of {label} after the edit", f"{probabilities[1, class_index]:.1%}",
              delta=f"{change:+.1f} points", delta_color="normal")


def editor(name, key, card, model_input, method, class_index, options):
    """The canvas over the model's view, its brush, the pin, and the comparison once something is painted."""
    st.subheader("Edit and compare")
    st.markdown("Paint over part of what the model sees (cover the cat's face, erase a stroke of the digit) and "
                "watch the score fall or rise: cause and effect, with the original pinned beside the edit.")
    st_canvas = inputs.canvas_component()
    if st_canvas is None:
        st.info("Editing needs the `streamlit-drawable-canvas` package (0.13 or newer) on the server.",
                icon=":material/draw:")
        return
    state = _pinned(model_input)
    original = state["image"]
    height, width = original.shape[:2]
    factor = max(1, -(-CANVAS_SIDE // max(height, width)))
    canvas_column, controls = st.columns([1, 1], gap="large")
    with controls:
        brush = st.slider("Brush size (pixels of the model's view)", 1, max(2, max(height, width) // 4),
                          max(1, max(height, width) // 14), key="edit-brush")
        grey_model = original.shape[-1] == 1
        colour = st.color_picker("Paint colour", "#000000" if grey_model else "#808080", key="edit-colour",
                                 help="Black erases a digit's ink (MNIST is light ink on black); grey covers part "
                                      "of a photo without adding an object of its own.")
        st.caption("Draw with the mouse or a finger; the arrows above the canvas undo and redo, the bin clears it.")
    with canvas_column:
        result = st_canvas(
            stroke_width=brush * factor, stroke_color=colour, background_image=Image.fromarray(
                views.enlarge(views.model_view(original), factor * max(height, width))),
            height=height * factor, width=width * factor, drawing_mode="freedraw", return_image_data=True,
            key=f"edit-canvas-{state['source']}-{state['version']}",
        )
    strokes = result.image_data if result is not None else None
    if strokes is None or not strokes[..., 3].any():
        st.caption("Nothing painted yet: the comparison appears here as soon as you lift the pen.")
        return
    edited = edits.paint_over(original, strokes)
    compare(name, key, card.class_names, original, edited, method, class_index, options)
    if st.button("Pin this edit as the original", key="edit-pin", icon=":material/push_pin:",
                 help="Keep editing from here: the edit becomes the left-hand image and the canvas starts clean."):
        _pin(edited)
        st.rerun()
    trust_panel.panel(name, key, edited, method, class_index, card.class_names[class_index], options,
                      widget_key="trust-edited", title="Can you trust the edited image's heatmap?")
