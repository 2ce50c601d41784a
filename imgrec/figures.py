"""Arrays in, Plotly figures out: predictions, images, feature maps, kernels, attention and training charts.

Every function is pure (no Streamlit, no model): it takes numpy arrays or plain lists and
dicts and returns a `plotly.graph_objects.Figure` sized to read at a glance in a 1280x800
window. Titles and axis labels say what the reader is looking at.

Grids of many small maps (64 channels, 4 layers x 4 heads) are drawn as ONE mosaic trace
with blank gaps rather than 64 subplots: a figure of 64 subplots takes Plotly about a
second to build and a browser longer to draw, a mosaic a few milliseconds.
"""

import base64
import io
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# One look for every chart: light template, readable font, tight margins.
TEMPLATE = "plotly_white"
FONT_SIZE = 14
ACCENT = "#d62728"  # The highlighted bar (the true class, or the class being explained).
BASE_COLOUR = "#1f77b4"
TRAIN_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
MAX_TILE = 48  # Feature-map tiles above this side are shown subsampled: 64 maps of 112x112 would be ~3 MB.
# A mosaic's grid is sized for this many pixels across: the wide page's main column at
# 1280x800 with the sidebar open, less the colour bar. A wider column leaves room at the
# sides; the height is fixed from this, so rows never stretch apart.
MOSAIC_WIDTH = 600
# Each row of tiles has a blank band this tall above it for the tiles' numbers (11 px text
# and its padding), so a number sits over its own tile and never on the row above.
LABEL_PIXELS = 20
LABEL_FONT_SIZE = 11
MOSAIC_MARGIN = {"l": 10, "r": 10, "b": 10}
SCALES = ("channel", "layer", "global")
# Diverging, red for positive: a kernel weight that adds the pixel under it is red.
DIVERGING = "RdBu_r"
SEQUENTIAL = "Viridis"


def _layout(figure, title, height, margin=None, **kwargs):
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.0, "xanchor": "left"} if title else None,
        font={"size": FONT_SIZE},
        height=int(round(height)),
        margin={"l": 60, "r": 20, "t": 60 if title else 20, "b": 50, **(margin or {})},
        **kwargs,
    )
    return figure


def ordinal(number):
    """Returns "1st", "2nd", "3rd", "4th"... ("11th" to "13th", "21st")."""
    number = int(number)
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def plural(count, noun, nouns=None):
    """Returns "1 feature map", "2 feature maps"; `nouns` for irregular plurals."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def _empty(title, message, height=300):
    figure = go.Figure()
    figure.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                          font={"size": FONT_SIZE + 2})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure, title, height)


def _hide_axes(figure):
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    return figure


# ---------------------------------------------------------------------------------------
# Predictions and images.
# ---------------------------------------------------------------------------------------


def topk_bar(labels, probabilities, highlight=None):
    """Horizontal bars of the top classes, best on top, in percent.

    Args:
        labels: class names, in rank order.
        probabilities: their probabilities in [0, 1].
        highlight: a label (or rank index) drawn in the accent colour, e.g. the class being
            explained. Defaults to `None`.

    Returns:
        A figure with one Bar trace.
    """
    labels = [str(label) for label in labels]
    percentages = np.asarray(probabilities, dtype=np.float64).reshape(-1) * 100.0
    if len(labels) != len(percentages):
        raise ValueError(f"Got {len(labels)} labels but {len(percentages)} probabilities.")
    if not labels:
        return _empty("Top predictions", "No prediction yet.")
    highlighted = {highlight} if isinstance(highlight, str) else set()
    if isinstance(highlight, int | np.integer) and not isinstance(highlight, bool):
        highlighted = {labels[int(highlight)]} if 0 <= int(highlight) < len(labels) else set()
    colours = [ACCENT if label in highlighted else BASE_COLOUR for label in labels]
    figure = go.Figure(
        go.Bar(
            x=percentages,
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{value:.1f}%" for value in percentages],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2f}%<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="Probability the model gives (%)", range=[0, 100])
    # Reversed, so rank 1 sits on top as in a list.
    figure.update_yaxes(autorange="reversed", automargin=True)
    return _layout(figure, "What the model thinks it sees", 120 + 36 * len(labels), showlegend=False)


def _to_rgb_uint8(image):
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ValueError(f"Expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {np.shape(image)}.")
    array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.clip(np.rint(np.nan_to_num(array.astype(np.float64))), 0, 255).astype(np.uint8)
    return array


def image_figure(rgb_or_gray, title=None, height=None):
    """Shows an image pixel for pixel, without ticks; clicks report (x = column, y = row).

    Args:
        rgb_or_gray: uint8 (or float 0..255) `(H, W)`, `(H, W, 1)` or `(H, W, 3)`.
        title: a caption above the image. Defaults to `None`.
        height: the figure's height in pixels, title included, e.g. to match a column's
            width. Defaults to `None`: from the image's size (2 screen pixels per pixel,
            240 to 560 pixels for the longer side).

    Returns:
        A figure with one Image trace; the y axis runs downwards, as image rows do.
    """
    rgb = _to_rgb_uint8(rgb_or_gray)
    rows, columns = rgb.shape[:2]
    figure = go.Figure(go.Image(z=rgb, hovertemplate="row %{y}, column %{x}<extra></extra>"))
    _hide_axes(figure)
    if height is None:
        display = min(560, max(240, 2 * max(rows, columns)))
        height = display * rows / max(columns, 1) + (80 if title else 40)
    elif not height > 0:
        raise ValueError(f"height must be a positive number of pixels, got {height!r}.")
    return _layout(figure, title, height)


# ---------------------------------------------------------------------------------------
# Mosaics of many small maps.
# ---------------------------------------------------------------------------------------


def _subsample(maps, max_side):
    step = max(1, math.ceil(max(maps.shape[0], maps.shape[1]) / max_side))
    return maps[::step, ::step], step


def _mosaic(tiles, columns, gap=1, fill=np.nan, label_band=0):
    """Lays tiles `(n, h, w, ...)` out in a grid; returns (mosaic, tile origins (top, left)).

    With `label_band`, every row of tiles gets that many blank rows above it (the first row
    too) instead of `gap`, to hold the tiles' labels.
    """
    count, height, width = tiles.shape[:3]
    rows = math.ceil(count / columns)
    row_gap = label_band or gap
    shape = (label_band + rows * height + (rows - 1) * row_gap, columns * width + (columns - 1) * gap,
             *tiles.shape[3:])
    mosaic = np.full(shape, fill, dtype=tiles.dtype)
    origins = []
    for index in range(count):
        top, left = label_band + (index // columns) * (height + row_gap), (index % columns) * (width + gap)
        mosaic[top : top + height, left : left + width] = tiles[index]
        origins.append((top, left))
    return mosaic, origins


def _tile_labels(origins, labels, tile_width):
    # Plain dicts set in one update_layout: add_annotation validates each call, ~30 ms apiece.
    # Anchored at the bottom on the tile's top edge: the text rises into the gap above its
    # own tile.
    return [
        {"x": left + (tile_width - 1) / 2, "y": top - 0.5, "text": str(label), "showarrow": False,
         "yanchor": "bottom", "font": {"size": LABEL_FONT_SIZE}, "xref": "x", "yref": "y"}
        for (top, left), label in zip(origins, labels, strict=True)
    ]


def _mosaic_axes(figure):
    _hide_axes(figure)
    # Pinned to the top left: in a column narrower than MOSAIC_WIDTH the spare room is below.
    figure.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, constrain="domain",
                        constraintoward="top")
    figure.update_xaxes(constrain="domain", constraintoward="left")
    return figure


def _mosaic_scale(tile_height, tile_width, columns, max_tile_pixels):
    """Returns (screen pixels per map pixel, label band in map pixels) for a grid of tiles.

    The grid takes at most MOSAIC_WIDTH pixels across and tiles at most `max_tile_pixels`;
    the band above each row is at least LABEL_PIXELS tall on screen.
    """
    width = columns * tile_width + (columns - 1)  # One-pixel gaps between columns.
    scale = min(MOSAIC_WIDTH / width, max_tile_pixels / max(tile_height, tile_width))
    return scale, math.ceil(LABEL_PIXELS / scale)


def _colour_bar(title, mosaic_height, label_band):
    """A colour bar as long as the tiles: from the first row's top edge to the grid's bottom.

    Its title is one short line: Plotly draws it inside `len`, and on a one-row grid a
    two-line title would leave little of the bar.
    """
    return {
        "title": {"text": title, "font": {"size": 12}}, "thickness": 14,
        "lenmode": "fraction", "len": (mosaic_height - label_band) / mosaic_height,
        "y": 1.0 - label_band / mosaic_height, "yanchor": "top", "yref": "paper",
    }


def _mosaic_layout(figure, title, mosaic_height, scale, annotations):
    """Sizes the figure so the plot area is exactly the grid's height at `scale`."""
    top = 60 if title else 10
    margin = {**MOSAIC_MARGIN, "t": top}
    return _layout(figure, title, top + MOSAIC_MARGIN["b"] + mosaic_height * scale, margin=margin,
                   annotations=annotations)


def heatmap_grid(maps, columns=8, scale="channel", global_range=None, titles=None, max_channels=64):
    """Draws every channel of a feature map side by side, as CNN Explainer does.

    Args:
        maps: `(h, w, channels)` activations (`explain.feature_maps`).
        columns: tiles per row. Defaults to `8`.
        scale: the colour scale. "channel": each map spans the full colours on its own
            (faint maps stay visible, strengths are not comparable). "layer": one range for
            all shown maps (compare channels). "global": the range `global_range`, e.g. the
            min and max over every layer (compare layers); without it, the layer's range.
            Defaults to `"channel"`.
        global_range: `(low, high)` for `scale="global"`. Defaults to `None`.
        titles: one label per shown channel. Defaults to the channel numbers.
        max_channels: draw at most this many channels (the first ones). Defaults to `64`.

    Returns:
        A figure with one Heatmap trace (the mosaic) and one annotation per tile. Hover
        shows the channel and the raw activation.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[..., None]
    if maps.ndim != 3:
        raise ValueError(f"Expected feature maps (height, width, channels), got shape {maps.shape}.")
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALES)}.")
    count = min(maps.shape[-1], int(max_channels))
    if count < 1:
        return _empty("Feature maps", "This layer has no channels to show.")
    maps, step = _subsample(np.nan_to_num(maps[..., :count]), MAX_TILE)
    tiles = np.moveaxis(maps, -1, 0)  # (channels, h, w)
    columns = max(1, min(int(columns), count))
    labels = list(titles)[:count] if titles is not None else [str(index) for index in range(count)]
    if len(labels) != count:
        raise ValueError(f"Got {len(labels)} titles for {count} channels.")

    if scale == "channel":
        low = tiles.min(axis=(1, 2), keepdims=True)
        spread = tiles.max(axis=(1, 2), keepdims=True) - low
        shown = np.divide(tiles - low, spread, out=np.zeros_like(tiles), where=spread > 0)
        zmin, zmax, colour_title = 0.0, 1.0, "each map"
    else:
        shown = tiles
        if scale == "global" and global_range is not None:
            zmin, zmax = float(global_range[0]), float(global_range[1])
            colour_title = "all layers"
        else:
            zmin, zmax = float(tiles.min()), float(tiles.max())
            colour_title = "this layer"
        if zmax <= zmin:
            zmax = zmin + 1.0
    pixels, band = _mosaic_scale(tiles.shape[1], tiles.shape[2], columns, max_tile_pixels=140)
    z, origins = _mosaic(shown, columns, label_band=band)
    heatmap = go.Heatmap(
        z=z, zmin=zmin, zmax=zmax, colorscale=SEQUENTIAL, hoverongaps=False,
        colorbar=_colour_bar(colour_title, z.shape[0], band),
        hovertemplate="activation %{z:.4g}<extra></extra>",
    )
    if scale == "channel":
        heatmap.colorbar.update(tickvals=[0.0, 1.0], ticktext=["min", "max"])
        # The colours are rescaled per map; hover still tells the raw activation.
        heatmap.update(customdata=_mosaic(tiles, columns, label_band=band)[0],
                       hovertemplate="activation %{customdata:.4g}<extra></extra>")
    figure = _mosaic_axes(go.Figure(heatmap))
    title = plural(count, "feature map") + (f" (every {ordinal(step)} pixel)" if step > 1 else "")
    return _mosaic_layout(figure, title, z.shape[0], pixels, _tile_labels(origins, labels, tiles.shape[2]))


def kernel_grid(kernel, max_kernels=64, input_channel=None):
    """Draws a convolution's filters, one tile each; red weights are positive, blue negative.

    Args:
        kernel: `(kh, kw, in, out)` (`explain.conv_kernels`).
        max_kernels: draw at most this many filters. Defaults to `64`.
        input_channel: which input channel's weights to draw. Defaults to `None`: the one
            channel when there is one, else the mean over input channels.

    Returns:
        A figure with one Heatmap trace and one annotation per filter.
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"Expected a kernel (height, width, in, out), got shape {kernel.shape}.")
    count = min(kernel.shape[3], int(max_kernels))
    if input_channel is None:
        weights = kernel[:, :, :, :count].mean(axis=2)
        what = "" if kernel.shape[2] == 1 else f", mean over {kernel.shape[2]} input channels"
    else:
        if not 0 <= int(input_channel) < kernel.shape[2]:
            raise ValueError(f"input_channel must be from 0 to {kernel.shape[2] - 1}, got {input_channel}.")
        weights = kernel[:, :, int(input_channel), :count]
        what = f", input channel {int(input_channel)}"
    tiles = np.moveaxis(weights, -1, 0)
    # Eight across at most: in one row of 16, a 3 x 3 filter's weights are 10 pixels wide.
    columns = max(1, min(8, count))
    pixels, band = _mosaic_scale(tiles.shape[1], tiles.shape[2], columns, max_tile_pixels=110)
    z, origins = _mosaic(tiles, columns, label_band=band)
    # Symmetric around zero, so white means "ignores this pixel".
    limit = float(np.abs(tiles).max()) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=z, zmin=-limit, zmax=limit, zmid=0.0, colorscale=DIVERGING, hoverongaps=False,
            colorbar=_colour_bar("weight", z.shape[0], band),
            hovertemplate="weight %{z:.4f}<extra></extra>",
        )
    )
    _mosaic_axes(figure)
    title = f"{plural(count, 'filter')} of {kernel.shape[0]} x {kernel.shape[1]} weights{what}"
    labels = [str(index) for index in range(count)]
    return _mosaic_layout(figure, title, z.shape[0], pixels, _tile_labels(origins, labels, tiles.shape[2]))


def number_grid(values, title, fmt=".2f"):
    """A small heatmap with each cell's number written in it (the convolution arithmetic).

    Args:
        values: 2-D array; NaN cells are left blank.
        title: what the numbers are.
        fmt: a Python format spec for the numbers. Defaults to `".2f"`.

    Returns:
        A figure with one Heatmap trace whose `text` holds the formatted numbers.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"Expected a 2-D array of numbers, got shape {values.shape}.")
    text = [[("" if not np.isfinite(value) else format(value, fmt)) for value in row] for row in values]
    finite = values[np.isfinite(values)]
    signed = finite.size and finite.min() < 0 < finite.max()
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    heatmap = go.Heatmap(
        z=values, text=text, texttemplate="%{text}", textfont={"size": 13 if values.shape[1] <= 8 else 10},
        colorscale=DIVERGING if signed else "Blues", showscale=False, hoverongaps=False,
        xgap=1, ygap=1, hovertemplate="row %{y}, column %{x}: %{z:.6g}<extra></extra>",
    )
    if signed:
        heatmap.update(zmin=-limit, zmax=limit, zmid=0.0)
    figure = go.Figure(heatmap)
    # Column numbers below the grid: on top, with their title, they ran into the figure's title.
    # constrain="domain": square cells shrink the axis, rather than widen its range to columns -1 and n.
    figure.update_xaxes(title_text="column", dtick=1, showgrid=False, zeroline=False, side="bottom",
                        constrain="domain")
    figure.update_yaxes(title_text="row", dtick=1, autorange="reversed", showgrid=False, zeroline=False,
                        scaleanchor="x", scaleratio=1, constrain="domain")
    cell = min(56, max(24, 420 / max(values.shape)))
    return _layout(figure, title, 140 + cell * values.shape[0], margin={"b": 70})


def _png_source(rgb):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def attention_heads_grid(maps, rgb=None, head_labels=None):
    """Draws one attention map per layer (rows) and head (columns).

    Args:
        maps: `(layers, heads, rows, cols)` attention over the patch grid, e.g. one query's
            row of `explain.attention_maps` through `explain.token_heatmap`.
        rgb: the image to draw each map over. Defaults to `None` (maps alone).
        head_labels: column titles. Defaults to "Head 1", "Head 2"...; pass e.g.
            `[..., "Mean"]` when the last column is the heads' average.

    Returns:
        A figure with one trace (an Image mosaic over `rgb`, else a Heatmap mosaic) and one
        annotation per row and per column.
    """
    from imgrec import explain

    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 4:
        raise ValueError(f"Expected attention maps (layers, heads, rows, cols), got shape {maps.shape}.")
    layers, heads = maps.shape[:2]
    labels = list(head_labels) if head_labels is not None else [f"Head {index + 1}" for index in range(heads)]
    if len(labels) != heads:
        raise ValueError(f"Got {len(labels)} head labels for {heads} heads.")
    flat = maps.reshape(layers * heads, *maps.shape[2:])
    if rgb is not None:
        base = _to_rgb_uint8(rgb)
        side = min(96, max(base.shape[:2]))
        # Each map on its own scale: a head's pattern matters here, not its absolute weight.
        tile_height = max(1, round(side * base.shape[0] / max(base.shape[:2])))
        tile_width = max(1, round(side * base.shape[1] / max(base.shape[:2])))
        from PIL import Image

        small = np.asarray(Image.fromarray(base).resize((tile_width, tile_height), Image.Resampling.BILINEAR))
        tiles = np.stack([explain.overlay(small, _nearest(_unit(item), tile_height, tile_width), 0.55) for item in flat])
        mosaic, origins = _mosaic(tiles, heads, gap=2, fill=255)
        trace = go.Image(source=_png_source(mosaic), hoverinfo="skip")
        width = tile_width
    else:
        tiles = np.stack([_unit(item) for item in flat])
        mosaic, origins = _mosaic(tiles, heads)
        trace = go.Heatmap(z=mosaic, zmin=0, zmax=1, colorscale=SEQUENTIAL, hoverongaps=False,
                           colorbar={"title": {"text": "attention<br>(each map<br>max = 1)"}, "thickness": 14},
                           hovertemplate="%{z:.3f}<extra></extra>")
        width = tiles.shape[2]
    figure = _mosaic_axes(go.Figure(trace))
    annotations = _tile_labels(origins[:heads], labels, width)
    for layer in range(layers):
        top, left = origins[layer * heads]
        annotations.append(
            {"x": left - 1, "y": top + (tiles.shape[1] - 1) / 2, "text": f"Layer {layer + 1}", "showarrow": False,
             "xanchor": "right", "textangle": -90, "xref": "x", "yref": "y", "font": {"size": 12}}
        )
    tile_pixels = min(150, 1000 / heads)
    return _layout(figure, "Where each head looks, layer by layer", 100 + layers * (tile_pixels + 20),
                   annotations=annotations)


def _unit(values):
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _nearest(values, height, width):
    # Blocky on purpose: one patch is one block of pixels.
    rows = (np.arange(height) * values.shape[0] // height).clip(0, values.shape[0] - 1)
    cols = (np.arange(width) * values.shape[1] // width).clip(0, values.shape[1] - 1)
    return values[rows[:, None], cols[None, :]]


def mean_distance_scatter(distances):
    """Plots each head's mean attention distance against its depth (keras.io's probing_vits).

    Args:
        distances: `(layers, heads)` in pixels (`explain.mean_attention_distance`).

    Returns:
        A figure with one Scatter trace per head.
    """
    distances = np.asarray(distances, dtype=np.float64)
    if distances.ndim == 1:
        distances = distances[None, :]
    if distances.ndim != 2:
        raise ValueError(f"Expected distances (layers, heads), got shape {distances.shape}.")
    layers, heads = distances.shape
    figure = go.Figure()
    for head in range(heads):
        figure.add_trace(
            go.Scatter(
                x=np.arange(1, layers + 1), y=distances[:, head], mode="markers+lines",
                name=f"Head {head + 1}", line={"width": 1}, marker={"size": 10},
                hovertemplate=f"head {head + 1}, layer %{{x}}: %{{y:.1f}} px<extra></extra>",
            )
        )
    figure.update_xaxes(title_text="Transformer block (depth)", dtick=1)
    figure.update_yaxes(title_text="Mean attention distance (pixels)", rangemode="tozero")
    return _layout(figure, "How far each head looks: near like a convolution, or across the image", 460)


# ---------------------------------------------------------------------------------------
# Training and evaluation.
# ---------------------------------------------------------------------------------------


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


def training_curves(epochs, batches=None, smoothing=0.9):
    """Loss and accuracy per epoch, training against validation, plus the smoothed per-batch loss.

    Args:
        epochs: one dict per finished epoch (`TrainResult.history` or the run's metrics):
            `epoch`, `loss`, `accuracy`, `val_loss`, `val_accuracy`.
        batches: batch events (`{"epoch", "batch", "loss", ...}`), drawn at fractional
            epochs. Defaults to `None`.
        smoothing: the moving-average weight of the batch loss, in [0, 1). Defaults to `0.9`.

    Returns:
        A figure with two panels (loss, accuracy) and one Scatter trace per series present.
    """
    epochs = [record for record in (epochs or []) if isinstance(record, dict)]
    batches = [record for record in (batches or []) if isinstance(record, dict) and "loss" in record]
    if not epochs and not batches:
        return _empty("Training curves", "No finished batch or epoch yet.")
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss (lower is better)", "Accuracy (higher is better)"),
                           horizontal_spacing=0.1)
    if batches:
        steps_per_epoch = max(int(record.get("batch", 1)) for record in batches) or 1
        x = [int(record.get("epoch", 1)) - 1 + int(record.get("batch", 0)) / steps_per_epoch for record in batches]
        loss = [float(record["loss"]) for record in batches]
        figure.add_trace(go.Scatter(x=x, y=loss, mode="lines", name="batch loss", opacity=0.25,
                                    line={"color": TRAIN_COLOUR, "width": 1}, hoverinfo="skip"), row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=smooth(loss, smoothing), mode="lines", name="batch loss (smoothed)",
                                    line={"color": TRAIN_COLOUR, "width": 2, "dash": "dot"}), row=1, col=1)
    x = [int(record.get("epoch", index + 1)) for index, record in enumerate(epochs)]
    series = [
        ("loss", "training loss", TRAIN_COLOUR, 1),
        ("val_loss", "validation loss", VALIDATION_COLOUR, 1),
        (_accuracy_key(epochs[0]) if epochs else None, "training accuracy", TRAIN_COLOUR, 2),
        (_accuracy_key(epochs[0], "val_") if epochs else None, "validation accuracy", VALIDATION_COLOUR, 2),
    ]
    for key, name, colour, column in series:
        if key is None or not any(key in record for record in epochs):
            continue
        y = [record.get(key, float("nan")) for record in epochs]
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, line={"color": colour, "width": 3},
                                    marker={"size": 8}), row=1, col=column)
    figure.update_xaxes(title_text="epoch", row=1, col=1, rangemode="tozero")
    figure.update_xaxes(title_text="epoch", row=1, col=2, dtick=1 if len(epochs) <= 20 else None)
    figure.update_yaxes(title_text="loss", row=1, col=1, rangemode="tozero")
    figure.update_yaxes(title_text="accuracy", row=1, col=2, range=[0, 1.02])
    return _layout(figure, "Training: is the model still learning, and does it generalise?", 440,
                   legend={"orientation": "h", "y": -0.2})


def confusion_matrix(matrix, class_names, normalize=False):
    """Which classes the model confuses: true class per row, predicted class per column.

    Args:
        matrix: `(K, K)` counts, rows are true classes (`metrics.from_probabilities`).
        class_names: the K names.
        normalize: show each row as fractions of its true class (recall on the diagonal).
            Defaults to `False`.

    Returns:
        A figure with one Heatmap trace; numbers are written in the cells up to 20 classes.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    names = [str(name) for name in class_names]
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] != len(names):
        raise ValueError(f"Expected a {len(names)} x {len(names)} matrix, got shape {counts.shape}.")
    totals = counts.sum(axis=1, keepdims=True)
    values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) if normalize else counts
    text = [[(f"{value:.0%}" if normalize else f"{int(value)}") for value in row] for row in values]
    heatmap = go.Heatmap(
        z=values, x=names, y=names, colorscale="Blues", customdata=counts,
        colorbar={"title": {"text": "share of row" if normalize else "images"}, "thickness": 14},
        hovertemplate="true %{y}, predicted %{x}: %{customdata:.0f} images<extra></extra>",
    )
    if len(names) <= 20:
        heatmap.update(text=text, texttemplate="%{text}")
    figure = go.Figure(heatmap)
    figure.update_xaxes(title_text="predicted class", side="bottom", type="category", tickangle=-45)
    figure.update_yaxes(title_text="true class", autorange="reversed", type="category")
    title = "Confusion matrix: the diagonal is right, everything else is a mix-up"
    return _layout(figure, title, min(800, 220 + 34 * len(names)))


def per_class_bars(per_class):
    """Precision, recall and F1 for every class, side by side.

    Args:
        per_class: dicts with `class`, `precision`, `recall`, `f1` (and optionally `support`).

    Returns:
        A figure with three Bar traces.
    """
    names = [str(row["class"]) for row in per_class]
    figure = go.Figure()
    meanings = {
        "precision": "of the images called this class, the share that were",
        "recall": "of the images of this class, the share found",
        "f1": "the harmonic mean of the two",
    }
    for key, colour in (("precision", "#1f77b4"), ("recall", "#2ca02c"), ("f1", "#9467bd")):
        figure.add_trace(go.Bar(
            x=names, y=[float(row.get(key, 0.0)) for row in per_class], name=key if key != "f1" else "F1",
            marker_color=colour, hovertemplate=f"%{{x}}: %{{y:.3f}} ({meanings[key]})<extra></extra>",
        ))
    figure.update_xaxes(title_text="class", type="category")
    figure.update_yaxes(title_text="score (1 is perfect)", range=[0, 1.05])
    return _layout(figure, "Per class: precision, recall and F1", 440, barmode="group",
                   legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})


def roc_curves(curves):
    """One-vs-rest ROC curves, one per class, with the chance diagonal.

    Args:
        curves: dicts `{"class", "fpr", "tpr", "auc"}` (`metrics.roc_curves`).

    Returns:
        A figure with one Scatter trace per curve, plus the diagonal.
    """
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance (AUC 0.50)",
                                line={"color": "gray", "dash": "dash", "width": 1}, hoverinfo="skip"))
    for curve in curves:
        figure.add_trace(go.Scatter(
            x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{curve['class']} (AUC {curve['auc']:.3f})",
            hovertemplate="false positives %{x:.3f}, true positives %{y:.3f}<extra></extra>",
        ))
    figure.update_xaxes(title_text="false positive rate (others wrongly flagged)", range=[0, 1], constrain="domain")
    figure.update_yaxes(title_text="true positive rate (class found)", range=[0, 1.02], scaleanchor="x",
                        scaleratio=1, constrain="domain")
    return _layout(figure, "ROC curves: the closer to the top-left corner, the better", 520)


_METRIC_TITLES = {
    "val_accuracy": "validation accuracy",
    "accuracy": "training accuracy",
    "val_loss": "validation loss",
    "loss": "training loss",
}


def runs_overlay(histories, metric="val_accuracy"):
    """Several runs on one chart, e.g. an optimizer race.

    Args:
        histories: run name -> list of epoch dicts (`TrainResult.history`).
        metric: the key to plot. Defaults to `"val_accuracy"`.

    Returns:
        A figure with one Scatter trace per run that logged `metric`.
    """
    label = _METRIC_TITLES.get(metric, metric.replace("_", " "))
    figure = go.Figure()
    for name, history in histories.items():
        points = [(int(record.get("epoch", index + 1)), float(record[metric]))
                  for index, record in enumerate(history or []) if metric in record]
        if not points:
            continue
        x, y = zip(*points, strict=True)
        figure.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers", name=str(name),
                                    line={"width": 3}, marker={"size": 8},
                                    hovertemplate=f"{name}, epoch %{{x}}: %{{y:.4f}}<extra></extra>"))
    if not figure.data:
        return _empty(f"Runs compared by {label}", f"No run has logged {label} yet.")
    figure.update_xaxes(title_text="epoch", dtick=1 if max(len(trace.x) for trace in figure.data) <= 20 else None)
    better = "lower" if "loss" in metric else "higher"
    figure.update_yaxes(title_text=f"{label} ({better} is better)")
    return _layout(figure, f"Runs compared by {label}", 440)
