"""Figures of one prediction: the top classes as bars, and an image shown pixel for pixel."""

import numpy as np
import plotly.graph_objects as go

from imgrec import texts
from imgrec.figures import common


def topk_bar(labels, probabilities, highlight=None, *, texts=texts.ENGLISH):
    """Horizontal bars of the top classes, best on top, in percent.

    Args:
        labels: class names, in rank order.
        probabilities: their probabilities in [0, 1].
        highlight: a label (or rank index) drawn in the accent colour, e.g. the class being
            explained. Defaults to `None`.
        texts: the `imgrec.texts.Texts` of the words drawn. Defaults to English.

    Returns:
        A figure with one Bar trace.
    """
    labels = [str(label) for label in labels]
    percentages = np.asarray(probabilities, dtype=np.float64).reshape(-1) * 100.0
    if len(labels) != len(percentages):
        raise ValueError(f"Got {len(labels)} labels but {len(percentages)} probabilities.")
    if not labels:
        return common.empty(texts("fig_images.topk_empty_title"), texts("fig_images.no_prediction"))
    highlighted = {highlight} if isinstance(highlight, str) else set()
    if isinstance(highlight, int | np.integer) and not isinstance(highlight, bool):
        highlighted = {labels[int(highlight)]} if 0 <= int(highlight) < len(labels) else set()
    colours = [common.ACCENT if label in highlighted else common.BASE_COLOUR for label in labels]
    figure = go.Figure(
        go.Bar(
            x=percentages,
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{value:.1f}%" for value in percentages],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        )
    )
    # A short title: with long class names the plot narrows, and a long title was cut at its edge.
    figure.update_xaxes(title_text=texts("fig_images.probability_axis"), range=[0, 100])
    # Reversed, so rank 1 sits on top as in a list.
    figure.update_yaxes(autorange="reversed", automargin=True)
    return common.layout(figure, texts("fig_images.topk_title"), 120 + 36 * len(labels), showlegend=False)


def image_figure(rgb_or_gray, title=None, height=None, *, texts=texts.ENGLISH):
    """Shows an image pixel for pixel, without ticks; clicks report (x = column, y = row).

    Args:
        rgb_or_gray: uint8 (or float 0..255) `(H, W)`, `(H, W, 1)` or `(H, W, 3)`.
        title: a caption above the image. Defaults to `None`.
        height: the figure's height in pixels, title included, e.g. to match a column's
            width. Defaults to `None`: from the image's size (2 screen pixels per pixel,
            240 to 560 pixels for the longer side).
        texts: the `imgrec.texts.Texts` of the words drawn. Defaults to English.

    Returns:
        A figure with one Image trace; the y axis runs downwards, as image rows do.
    """
    rgb = common.to_rgb_uint8(rgb_or_gray)
    rows, columns = rgb.shape[:2]
    figure = go.Figure(go.Image(z=rgb, hovertemplate=texts("fig_images.pixel_hover")))
    common.hide_axes(figure)
    if height is None:
        display = min(560, max(240, 2 * max(rows, columns)))
        height = display * rows / max(columns, 1) + (80 if title else 40)
    elif not height > 0:
        raise ValueError(f"height must be a positive number of pixels, got {height!r}.")
    return common.layout(figure, title, height)

