"""Figures of training and evaluation: learning curves, the confusion matrix, per-class scores, ROC, runs compared."""

import math
import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from imgrec import texts as catalogs
from imgrec.figures import common

TRAIN_COLOUR = "#1f77b4"
LEVEL_LABELS = 12  # Up to this many classes, the confusion matrix's column labels stand level.
VALIDATION_COLOUR = "#ff7f0e"


def smooth(values, weight=0.9):
    """TensorBoard's debiased exponential moving average of a series."""
    if not 0.0 <= float(weight) < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {weight}.")
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        count += 1
        last = weight * last + (1.0 - weight) * value
        # Debiasing: early points are not dragged towards the zero start.
        smoothed.append(last / (1.0 - weight**count))
    return smoothed


def _accuracy_key(record, prefix=""):
    for key in (f"{prefix}accuracy", f"{prefix}sparse_categorical_accuracy", f"{prefix}binary_accuracy",
                f"{prefix}categorical_accuracy"):
        if key in record:
            return key
    return None


MAX_BATCH_POINTS = 600  # Batch-loss points drawn at most: a 1,200-pixel chart has two pixels per point.


def evenly_spaced(count, limit):
    """Returns at most `limit` indices spread evenly over `range(count)`, always the first and the last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(index * (count - 1) / (limit - 1)) for index in range(limit)})


def training_curves(epochs, batches=None, smoothing=0.9, max_batch_points=MAX_BATCH_POINTS, *,
                    texts=catalogs.ENGLISH):
    """Loss and accuracy per epoch, training against validation, plus the smoothed per-batch loss.

    Args:
        epochs: one dict per finished epoch (`TrainResult.history` or the run's metrics):
            `epoch`, `loss`, `accuracy`, `val_loss`, `val_accuracy`.
        batches: batch events (`{"epoch", "batch", "loss", ...}`), drawn at fractional
            epochs. Defaults to `None`.
        smoothing: the moving-average weight of the batch loss, in [0, 1). Defaults to `0.9`.
        max_batch_points: batch points drawn at most, evenly spread (the smoothing still sees
            every batch), so a long run's figure stays small to send and quick to draw.
            Defaults to `600`.
        texts: the language of its words (`imgrec.texts.Texts`). Defaults to English.

    Returns:
        A figure with two panels (loss, accuracy) and one Scatter trace per series present.
    """
    epochs = [record for record in (epochs or []) if isinstance(record, dict)]
    batches = [record for record in (batches or []) if isinstance(record, dict) and "loss" in record]
    if not epochs and not batches:
        return common.empty(texts("fig_training.curves_empty_title"), texts("fig_training.curves_empty"))
    # An autoencoder logs no accuracy: its loss, the reconstruction error, is the whole story.
    with_accuracy = any(_accuracy_key(record) for record in epochs + batches)
    titles = (texts("fig_training.loss_panel"), texts("fig_training.accuracy_panel")) if with_accuracy else (
        texts("fig_training.reconstruction_panel"),)
    figure = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.1)
    if batches:
        steps_per_epoch = max(int(record.get("batch", 1)) for record in batches) or 1
        loss = [float(record["loss"]) for record in batches]
        smoothed = smooth(loss, smoothing)
        kept = evenly_spaced(len(batches), max_batch_points)
        x = [int(batches[index].get("epoch", 1)) - 1 + int(batches[index].get("batch", 0)) / steps_per_epoch
             for index in kept]
        figure.add_trace(go.Scatter(x=x, y=[loss[index] for index in kept], mode="lines", name=texts("fig_training.batch_loss"),
                                    opacity=0.25, line={"color": TRAIN_COLOUR, "width": 1}, hoverinfo="skip"),
                         row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=[smoothed[index] for index in kept], mode="lines",
                                    name=texts("fig_training.batch_loss_smoothed"), line={"color": TRAIN_COLOUR, "width": 2, "dash": "dot"}),
                         row=1, col=1)
    x = [int(record.get("epoch", index + 1)) for index, record in enumerate(epochs)]
    series = [
        ("loss", texts("fig_training.training_loss"), TRAIN_COLOUR, 1),
        ("val_loss", texts("fig_training.validation_loss"), VALIDATION_COLOUR, 1),
        (_accuracy_key(epochs[0]) if epochs else None, texts("fig_training.training_accuracy"), TRAIN_COLOUR, 2),
        (_accuracy_key(epochs[0], "val_") if epochs else None, texts("fig_training.validation_accuracy"), VALIDATION_COLOUR, 2),
    ]
    for key, name, colour, column in series:
        if key is None or not any(key in record for record in epochs) or column > len(titles):
            continue
        y = [record.get(key, float("nan")) for record in epochs]
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, line={"color": colour, "width": 3},
                                    marker={"size": 8}), row=1, col=column)
    figure.update_xaxes(title_text=texts("fig_training.epoch"), row=1, col=1, rangemode="tozero")
    figure.update_yaxes(title_text=texts("fig_training.loss"), row=1, col=1, rangemode="tozero")
    if with_accuracy:
        figure.update_xaxes(title_text=texts("fig_training.epoch"), row=1, col=2, dtick=1 if len(epochs) <= 20 else None)
        figure.update_yaxes(title_text=texts("fig_training.accuracy"), row=1, col=2, range=[0, 1.02])
    return common.layout(figure, texts("fig_training.curves_title"), 440,
                         legend={"orientation": "h", "y": -0.2})


def confusion_matrix(matrix, class_names, normalize=False, clickable=False, highlight=None, *,
                     texts=catalogs.ENGLISH):
    """Which classes the model confuses: true class per row, predicted class per column.

    Args:
        matrix: `(K, K)` counts, rows are true classes (`metrics.from_probabilities`).
        class_names: the K names.
        normalize: show each row as fractions of its true class (recall on the diagonal).
            Defaults to `False`.
        clickable: lay an invisible marker on every cell, so a click selects it (Plotly
            selects points of scatter traces, not heatmap cells); the selected point's `x`
            is the predicted class, its `y` the true class. Defaults to `False`.
        highlight: `(true, predicted)` class indices of a cell to outline, e.g. the one
            opened below the matrix. Defaults to `None`.
        texts: the language of its words (`imgrec.texts.Texts`). Defaults to English.

    Returns:
        A figure with one Heatmap trace (and the clickable Scatter trace); numbers are
        written in the cells up to 20 classes.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    names = [str(name) for name in class_names]
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(names):
        raise ValueError(f"Expected a {len(names)} x {len(names)} matrix, got shape {counts.shape}.")
    totals = counts.sum(axis=1, keepdims=True)
    values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) if normalize else counts
    text = [[(f"{value:.1%}" if normalize else f"{int(value)}") for value in row] for row in values]
    heatmap = go.Heatmap(
        z=values, x=names, y=names, colorscale="Blues", customdata=counts,
        colorbar={"title": {"text": texts("fig_training.share_of_row" if normalize else "fig_training.images")},
                  "thickness": 14},
        hovertemplate=texts("fig_training.cell_hover") + "<extra></extra>",
    )
    if len(names) <= 20:
        heatmap.update(text=text, texttemplate="%{text}")
    figure = go.Figure(heatmap)
    if clickable:
        # One marker per cell, as wide as the cell, drawn fully transparent: hover and click
        # find the nearest marker within its radius, so the whole cell answers.
        rows, columns = np.indices(counts.shape)
        height = min(800, 220 + 34 * len(names))
        figure.data[0].update(hoverinfo="skip", hovertemplate=None)  # The markers answer the hover instead.
        figure.add_trace(go.Scatter(
            x=[names[column] for column in columns.ravel()], y=[names[row] for row in rows.ravel()], mode="markers",
            marker={"size": max(8, (height - 160) / len(names)), "symbol": "square", "opacity": 0},
            selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}}, showlegend=False,
            customdata=counts.ravel(), name="cells",
            hovertemplate=texts("fig_training.cell_hover_click") + "<extra></extra>",
        ))
    # Level labels that read at a glance: long names break into lines rather than tilt; only
    # more classes than fit side by side are turned.
    level = len(names) <= LEVEL_LABELS
    ticktext = ["<br>".join(textwrap.wrap(name, 9, break_long_words=False)) or name for name in names]
    figure.update_xaxes(title_text=texts("fig_training.predicted_class"), side="bottom", type="category", tickangle=0 if level else -45,
                        tickvals=names, ticktext=ticktext if level else names, tickfont={"size": common.FONT_SIZE - 1})
    figure.update_yaxes(title_text=texts("fig_training.true_class"), autorange="reversed", type="category",
                        tickfont={"size": common.FONT_SIZE - 1})
    if highlight is not None:
        row, column = (int(index) for index in highlight)
        figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": common.ACCENT, "width": 3})
    return common.layout(figure, texts("fig_training.confusion_title"), min(800, 220 + 34 * len(names)))


def per_class_bars(per_class, *, texts=catalogs.ENGLISH):
    """Precision, recall and F1 for every class, side by side.

    Args:
        per_class: dicts with `class`, `precision`, `recall`, `f1` (and optionally `support`).
        texts: the language of its words (`imgrec.texts.Texts`). Defaults to English.

    Returns:
        A figure with three Bar traces.
    """
    names = [str(row["class"]) for row in per_class]
    figure = go.Figure()
    meanings = {"precision": texts("fig_training.precision_meaning"), "recall": texts("fig_training.recall_meaning"),
                "f1": texts("fig_training.f1_meaning")}
    names_shown = {"precision": texts("fig_training.precision"), "recall": texts("fig_training.recall"),
                   "f1": texts("fig_training.f1")}
    for key, colour in (("precision", "#1f77b4"), ("recall", "#2ca02c"), ("f1", "#9467bd")):
        figure.add_trace(go.Bar(
            x=names, y=[float(row.get(key, 0.0)) for row in per_class], name=names_shown[key],
            marker_color=colour, hovertemplate=f"%{{x}}: %{{y:.3f}} ({meanings[key]})<extra></extra>",
        ))
    figure.update_xaxes(title_text=texts("fig_training.class"), type="category")
    figure.update_yaxes(title_text=texts("fig_training.score"), range=[0, 1.05])
    return common.layout(figure, texts("fig_training.per_class_title"), 440, barmode="group",
                         legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})


def roc_curves(curves, *, texts=catalogs.ENGLISH):
    """One-vs-rest ROC curves, one per class, with the chance diagonal.

    Args:
        curves: dicts `{"class", "fpr", "tpr", "auc"}` (`metrics.roc_curves`).
        texts: the language of its words (`imgrec.texts.Texts`). Defaults to English.

    Returns:
        A figure with one Scatter trace per curve, plus the diagonal.
    """
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=texts("fig_training.chance"),
                                line={"color": "gray", "dash": "dash", "width": 1}, hoverinfo="skip"))
    for curve in curves:
        figure.add_trace(go.Scatter(
            x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{curve['class']} (AUC {curve['auc']:.3f})",
            hovertemplate=texts("fig_training.roc_hover") + "<extra></extra>",
        ))
    figure.update_xaxes(title_text=texts("fig_training.false_positive_rate"), range=[0, 1], constrain="domain")
    figure.update_yaxes(title_text=texts("fig_training.true_positive_rate"), range=[0, 1.02], scaleanchor="x",
                        scaleratio=1, constrain="domain")
    return common.layout(figure, texts("fig_training.roc_title"), 520)


_METRIC_TITLES = {
    "val_accuracy": "fig_training.validation_accuracy",
    "accuracy": "fig_training.training_accuracy",
    "val_loss": "fig_training.validation_loss",
    "loss": "fig_training.training_loss",
}


def runs_overlay(histories, metric="val_accuracy", *, texts=catalogs.ENGLISH):
    """Several runs on one chart, e.g. an optimizer race.

    Args:
        histories: run name -> list of epoch dicts (`TrainResult.history`).
        metric: the key to plot. Defaults to `"val_accuracy"`.
        texts: the language of its words (`imgrec.texts.Texts`). Defaults to English.

    Returns:
        A figure with one Scatter trace per run that logged `metric`.
    """
    label = texts(_METRIC_TITLES[metric]) if metric in _METRIC_TITLES else metric.replace("_", " ")
    figure = go.Figure()
    for name, history in histories.items():
        points = [(int(record.get("epoch", index + 1)), float(record[metric]))
                  for index, record in enumerate(history or []) if metric in record]
        if not points:
            continue
        x, y = zip(*points, strict=True)
        figure.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers", name=str(name),
                                    line={"width": 3}, marker={"size": 8},
                                    hovertemplate=texts("fig_training.run_hover", name=name) + "<extra></extra>"))
    if not figure.data:
        return common.empty(texts("fig_training.overlay_title", metric=label), texts("fig_training.overlay_empty", metric=label))
    figure.update_xaxes(title_text=texts("fig_training.epoch"), dtick=1 if max(len(trace.x) for trace in figure.data) <= 20 else None)
    better = "fig_training.lower_better" if "loss" in metric else "fig_training.higher_better"
    figure.update_yaxes(title_text=texts(better, metric=label))
    return common.layout(figure, texts("fig_training.overlay_title", metric=label), 440)

