"""Edit and compare on /predict: paint over what the model sees and watch the classes and the heatmap change.

The original (the model's view of the chosen image, or an edit pinned in its place) stays on
the left; the edited copy is predicted and explained on the right with the same method and
class, and can be trust-checked like any other image.
"""

import numpy as np
import streamlit as st
from PIL import Image

from imgrec import edits, figures, overlays
from pages._ui import charts, compute, drawing, i18n, inputs, trust_panel, views
from pages._ui.i18n import t

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


def compare(name, key, class_names, original, edited, method, class_index, options, *, colormap="jet"):
    """The original and the edited input side by side: the top classes, the class's probability and the heatmap."""
    probabilities = compute.probabilities(name, key, np.stack([original, edited]))
    shown_names = [i18n.class_name(name) for name in class_names]
    label = shown_names[class_index]
    columns = st.columns(2, gap="large")
    # The chart keys keep the English words: they name widgets, not what a visitor reads.
    for column, side, title, image, row in zip(columns, ("Original", "Edited"), (t("edit.original"), t("edit.edited")),
                                               (original, edited), probabilities, strict=True):
        with column:
            st.markdown(f"**{title}**")
            ranked = views.ranked(row, shown_names, TOP)
            charts.show(figures.topk_bar([p.label for p in ranked], [p.probability for p in ranked], highlight=label,
                                         texts=i18n.texts_now()), key=f"compare-top-{side}")
            heatmap = compute.explanation(name, key, image, method, int(class_index), **options)
            base = views.enlarge(views.model_view(image), 224)
            st.image(overlays.overlay(base, heatmap, colormap=colormap), caption=t("edit.speaks_for", label=label),
                     width=224)
    change = (probabilities[1, class_index] - probabilities[0, class_index]) * 100
    st.metric(t("edit.after", label=label), f"{probabilities[1, class_index]:.1%}",
              delta=t("edit.points", change=f"{change:+.1f}"), delta_color="normal")


def editor(name, key, card, model_input, method, class_index, options, *, colormap="jet"):
    """The canvas over the model's view (on request), its brush, the pin, and the comparison once something is painted."""
    st.subheader(t("edit.title"))
    st.markdown(t("edit.intro"))
    # On request, as the trust checks are: the canvas and its background image cost the server
    # ~15 ms of CPU on every upload and every change of the heatmap (bench/serving, 2 cores).
    if not st.toggle(t("edit.paint"), key="edit-open", help=t("edit.paint_help")):
        return
    st_canvas = drawing.canvas_component()
    if st_canvas is None:
        st.info(t("edit.no_canvas"), icon=":material/draw:")
        return
    state = _pinned(model_input)
    original = state["image"]
    height, width = original.shape[:2]
    factor = max(1, -(-CANVAS_SIDE // max(height, width)))
    canvas_column, controls = st.columns([1, 1], gap="large")
    with controls:
        brush = st.slider(t("edit.brush"), 1, max(2, max(height, width) // 4),
                          max(1, max(height, width) // 14), key="edit-brush")
        grey_model = original.shape[-1] == 1
        colour = st.color_picker(t("edit.colour"), "#000000" if grey_model else "#808080", key="edit-colour",
                                 help=t("edit.colour_help"))
        st.caption(t("edit.how_to_draw"))
    with canvas_column:
        result = st_canvas(
            stroke_width=brush * factor, stroke_color=colour, background_image=Image.fromarray(
                views.enlarge(views.model_view(original), factor * max(height, width))),
            height=height * factor, width=width * factor, drawing_mode="freedraw", return_image_data=True,
            key=f"edit-canvas-{state['source']}-{state['version']}",
        )
    strokes = result.image_data if result is not None else None
    if strokes is None or not strokes[..., 3].any():
        st.caption(t("edit.nothing_yet"))
        return
    edited = edits.paint_over(original, strokes)
    compare(name, key, card.class_names, original, edited, method, class_index, options, colormap=colormap)
    if st.button(t("edit.pin"), key="edit-pin", icon=":material/push_pin:", help=t("edit.pin_help")):
        _pin(edited)
        st.rerun()
    trust_panel.panel(name, key, edited, method, class_index, card.class_names[class_index], options,
                      widget_key="trust-edited", title=t("edit.trust_title"), colormap=colormap)
