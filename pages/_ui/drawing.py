"""The drawing canvas (streamlit-drawable-canvas, when the server has it): Predict's drawing source and its tips."""

import streamlit as st

from pages._ui.i18n import t

TOOLBAR_ROOM = 56  # Pixels kept free above the drawing canvas for its floating toolbar.


def canvas_component():
    """Returns streamlit-drawable-canvas's `st_canvas`, or None when the package is missing or broken."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # Missing, or a version that does not register with this Streamlit.
        return None
    return st_canvas


def drawing_png(*, key="canvas"):
    """A canvas to draw a digit or a piece of clothing on, with its tips; returns the drawing's PNG bytes, or None.

    The bytes come from the browser: the caller decodes them with the same checks as an upload.
    """
    st_canvas = canvas_component()
    if st_canvas is None:
        st.info(t("inputs.no_canvas"), icon=":material/draw:")
        return None
    canvas, tips = st.columns([1, 1], gap="large")
    with canvas:
        # The canvas's toolbar floats 46 pixels above its top edge: without this room it covered the
        # lower half of the Upload and Camera buttons, and took their clicks.
        st.space(TOOLBAR_ROOM)
        result = st_canvas(
            stroke_width=18, stroke_color="#000000", background_color="#ffffff",
            height=280, width=280, drawing_mode="freedraw", return_image_data=True, key=key,
        )
    tips.markdown(t("inputs.drawing_tips"))
    return (result.image_bytes if result is not None else None) or None
