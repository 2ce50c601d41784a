"""Shows a Plotly figure the app's way: its toolbar config, and larger text in presenter mode."""

import plotly.graph_objects as go
import streamlit as st

from pages._ui import presenter, views

# Presenter mode's chart text, in px: Plotly draws its text in an SVG at sizes of its own, which the
# page's larger root font does not reach (imgrec's figures use 14 px).
PRESENTER_FONT_SIZE = 20


def show(figure, *, key, where=None, **kwargs):
    """Draws `figure` (from `imgrec.figures`) in `where` (default: the page) with the app's chart config.

    In presenter mode its text is enlarged for the back of the room, on a copy: a figure may be
    shared by every session (`st.cache_resource`). Other arguments go to `st.plotly_chart`.
    """
    if presenter.active():
        figure = go.Figure(figure)
        figure.update_layout(font={"size": PRESENTER_FONT_SIZE})
        if figure.layout.title.text:
            figure.update_layout(title_font_size=PRESENTER_FONT_SIZE + 4)
    return (where or st).plotly_chart(figure, key=key, config=views.CHART_CONFIG, **kwargs)
