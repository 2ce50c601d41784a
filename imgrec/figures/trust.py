"""Figures of a trust check: the deletion and insertion curves of a map beside those of random maps."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from imgrec.figures import common

REFERENCE_COLOUR = "#7f7f7f"


def trust_curves(deletion, insertion, random_deletion, random_insertion, class_name=None):
    """Draws the deletion and insertion curves side by side, each with its random reference dashed.

    Args:
        deletion: the map's deletion curve: anything with `fractions`, `probabilities` and
            `auc` (a `trust.Curve`).
        insertion: the map's insertion curve.
        random_deletion: the random maps' mean deletion curve.
        random_insertion: the random maps' mean insertion curve.
        class_name: the class whose probability is drawn, for the axis title. Defaults to `None`.

    Returns:
        A figure with two panels and four Scatter traces; the panels' titles give the areas.
    """
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, subplot_titles=(
        f"<b>Deletion</b>: lower is better<br>area {deletion.auc:.2f}, random {random_deletion.auc:.2f}",
        f"<b>Insertion</b>: higher is better<br>area {insertion.auc:.2f}, random {random_insertion.auc:.2f}"))
    for column, (curve, reference, verb) in enumerate(
            ((deletion, random_deletion, "removed"), (insertion, random_insertion, "revealed")), start=1):
        for shown, name, style in ((curve, "this map", {"color": common.ACCENT, "width": 3}),
                                   (reference, "random maps", {"color": REFERENCE_COLOUR, "width": 2, "dash": "dash"})):
            figure.add_trace(go.Scatter(
                x=[fraction * 100.0 for fraction in shown.fractions], y=[value * 100.0 for value in shown.probabilities],
                mode="lines+markers", marker={"size": 5}, line=style, legendgroup=name, name=name,
                showlegend=column == 1, hovertemplate=f"{verb} %{{x:.0f}}%: %{{y:.1f}}%<extra>{name}</extra>",
            ), row=1, col=column)
        figure.update_xaxes(title_text=f"Image {verb} (%)", range=[0, 100], row=1, col=column)
        figure.update_yaxes(range=[0, 102], row=1, col=column)
    what = f"Probability of {class_name} (%)" if class_name else "Class probability (%)"
    figure.update_yaxes(title_text=what, row=1, col=1)
    figure.update_annotations(font={"size": common.FONT_SIZE})
    return common.layout(figure, None, 360, margin={"t": 70, "b": 60},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0.0})
