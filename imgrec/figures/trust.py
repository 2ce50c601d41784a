"""Figures of a trust check: the deletion and insertion curves of a map beside those of random maps."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from imgrec import texts
from imgrec.figures import common

REFERENCE_COLOUR = "#7f7f7f"


def trust_curves(deletion, insertion, random_deletion, random_insertion, class_name=None, *, texts=texts.ENGLISH):
    """Draws the deletion and insertion curves side by side, each with its random reference dashed.

    Args:
        deletion: the map's deletion curve: anything with `fractions`, `probabilities` and
            `auc` (a `trust.Curve`).
        insertion: the map's insertion curve.
        random_deletion: the random maps' mean deletion curve.
        random_insertion: the random maps' mean insertion curve.
        class_name: the class whose probability is drawn, for the axis title. Defaults to `None`.
        texts: the `imgrec.texts.Texts` of the words drawn. Defaults to English.

    Returns:
        A figure with two panels and four Scatter traces; the panels' titles give the areas.
    """
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, subplot_titles=(
        texts("fig_trust.deletion_title", area=f"{deletion.auc:.2f}", random=f"{random_deletion.auc:.2f}"),
        texts("fig_trust.insertion_title", area=f"{insertion.auc:.2f}", random=f"{random_insertion.auc:.2f}")))
    for column, (curve, reference, verb) in enumerate(
            ((deletion, random_deletion, texts("fig_trust.removed")), (insertion, random_insertion, texts("fig_trust.revealed"))),
            start=1):
        for shown, name, style in ((curve, texts("fig_trust.this_map"), {"color": common.ACCENT, "width": 3}),
                                   (reference, texts("fig_trust.random_maps"),
                                    {"color": REFERENCE_COLOUR, "width": 2, "dash": "dash"})):
            figure.add_trace(go.Scatter(
                x=[fraction * 100.0 for fraction in shown.fractions], y=[value * 100.0 for value in shown.probabilities],
                mode="lines+markers", marker={"size": 5}, line=style, legendgroup=name, name=name,
                showlegend=column == 1, hovertemplate=texts("fig_trust.hover", verb=verb, name=name),
            ), row=1, col=column)
        figure.update_xaxes(title_text=texts("fig_trust.x_axis", verb=verb), range=[0, 100], row=1, col=column)
        figure.update_yaxes(range=[0, 102], row=1, col=column)
    what = texts("fig_trust.y_axis_class", name=class_name) if class_name else texts("fig_trust.y_axis")
    figure.update_yaxes(title_text=what, row=1, col=1)
    figure.update_annotations(font={"size": common.FONT_SIZE})
    return common.layout(figure, None, 360, margin={"t": 70, "b": 60},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0.0})
