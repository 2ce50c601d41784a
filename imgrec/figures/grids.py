"""Grids of numbers and maps: feature maps, kernels, one map's values, attention heads, and how far heads look."""

import numpy as np
import plotly.graph_objects as go

from imgrec import overlays, texts
from imgrec.figures import common, images, mosaic

# The colour scales of `heatmap_grid`: each map on its own, one for the layer, one for all layers.
SCALES = ("channel", "layer", "global")
# The heads grid is sized for this many pixels across: the main column's full width at
# 1280x800 (about 820 px) less the layer labels and the colour bar.
HEADS_WIDTH = 660
OVERLAY_ALPHA = 0.55  # How strongly an attention map colours the image under it.
# The overlays' own colours ("jet", `overlays.colorize`) as a Plotly colour scale, for their colour bars.
OVERLAY_COLOURS = [[float(stop), "rgb({}, {}, {})".format(*overlays.colorize(np.array([stop]))[0])]
                   for stop in np.linspace(0.0, 1.0, 11)]
ATTENTION_MAP_PIXELS = 300  # The side of one head's map up close, in half the page's width.
QUERY_COLOUR = "#ff00ff"  # The query patch's outline: magenta, a colour the jet overlay never takes.


def _ordinal(texts, number):
    # English says "every 2nd pixel"; the other catalogs take the plain number.
    return common.ordinal(number) if texts.language == "en" else str(int(number))


def heatmap_grid(maps, columns=8, scale="channel", global_range=None, titles=None, max_channels=64,
                 texts=texts.ENGLISH):
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
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

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
        return common.empty(texts("fig_grids.empty_title"), texts("fig_grids.empty_message"))
    maps, step = mosaic.subsample(np.nan_to_num(maps[..., :count]), mosaic.MAX_TILE)
    tiles = np.moveaxis(maps, -1, 0)  # (channels, h, w)
    columns = max(1, min(int(columns), count))
    labels = list(titles)[:count] if titles is not None else [str(index) for index in range(count)]
    if len(labels) != count:
        raise ValueError(f"Got {len(labels)} titles for {count} channels.")

    if scale == "channel":
        low = tiles.min(axis=(1, 2), keepdims=True)
        spread = tiles.max(axis=(1, 2), keepdims=True) - low
        shown = np.divide(tiles - low, spread, out=np.zeros_like(tiles), where=spread > 0)
        zmin, zmax, colour_title = 0.0, 1.0, texts("fig_grids.scale_channel")
    else:
        shown = tiles
        if scale == "global" and global_range is not None:
            zmin, zmax = float(global_range[0]), float(global_range[1])
            colour_title = texts("fig_grids.scale_global")
        else:
            zmin, zmax = float(tiles.min()), float(tiles.max())
            colour_title = texts("fig_grids.scale_layer")
        if zmax <= zmin:
            zmax = zmin + 1.0
    pixels, band = mosaic.pixel_scale(tiles.shape[1], tiles.shape[2], columns, max_tile_pixels=140)
    z, origins = mosaic.arrange(shown, columns, label_band=band)
    heatmap = go.Heatmap(
        z=z, zmin=zmin, zmax=zmax, colorscale=common.SEQUENTIAL, hoverongaps=False,
        colorbar=mosaic.colour_bar(colour_title, z.shape[0], band),
        hovertemplate=texts("fig_grids.activation", value="%{z:.4g}") + "<extra></extra>",
    )
    if scale == "channel":
        heatmap.colorbar.update(tickvals=[0.0, 1.0], ticktext=[texts("fig_grids.min"), texts("fig_grids.max")])
        # The colours are rescaled per map; hover still tells the raw activation.
        heatmap.update(customdata=mosaic.arrange(tiles, columns, label_band=band)[0],
                       hovertemplate=texts("fig_grids.activation", value="%{customdata:.4g}") + "<extra></extra>")
    figure = mosaic.axes(go.Figure(heatmap))
    title = texts("fig_grids.maps_one" if count == 1 else "fig_grids.maps_other", count=count) + (
        texts("fig_grids.every_nth", nth=_ordinal(texts, step)) if step > 1 else "")
    return mosaic.layout(figure, title, z.shape[0], pixels, mosaic.tile_labels(origins, labels, tiles.shape[2]))


def kernel_grid(kernel, max_kernels=64, input_channel=None, texts=texts.ENGLISH):
    """Draws a convolution's filters, one tile each; red weights are positive, blue negative.

    Args:
        kernel: `(kh, kw, in, out)` (`explain.conv_kernels`).
        max_kernels: draw at most this many filters. Defaults to `64`.
        input_channel: which input channel's weights to draw. Defaults to `None`: the one
            channel when there is one, else the mean over input channels.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with one Heatmap trace and one annotation per filter.
    """
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"Expected a kernel (height, width, in, out), got shape {kernel.shape}.")
    count = min(kernel.shape[3], int(max_kernels))
    if input_channel is None:
        weights = kernel[:, :, :, :count].mean(axis=2)
        what = "" if kernel.shape[2] == 1 else texts("fig_grids.mean_over", count=kernel.shape[2])
    else:
        if not 0 <= int(input_channel) < kernel.shape[2]:
            raise ValueError(f"input_channel must be from 0 to {kernel.shape[2] - 1}, got {input_channel}.")
        weights = kernel[:, :, int(input_channel), :count]
        what = texts("fig_grids.input_channel", channel=int(input_channel))
    tiles = np.moveaxis(weights, -1, 0)
    # Eight across at most: in one row of 16, a 3 x 3 filter's weights are 10 pixels wide.
    columns = max(1, min(8, count))
    pixels, band = mosaic.pixel_scale(tiles.shape[1], tiles.shape[2], columns, max_tile_pixels=110)
    z, origins = mosaic.arrange(tiles, columns, label_band=band)
    # Symmetric around zero, so white means "ignores this pixel".
    limit = float(np.abs(tiles).max()) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=z, zmin=-limit, zmax=limit, zmid=0.0, colorscale=common.DIVERGING, hoverongaps=False,
            colorbar=mosaic.colour_bar(texts("fig_grids.weight"), z.shape[0], band),
            hovertemplate=texts("fig_grids.weight_value", value="%{z:.4f}") + "<extra></extra>",
        )
    )
    mosaic.axes(figure)
    title = texts("fig_grids.filters_one" if count == 1 else "fig_grids.filters_other", count=count,
                  height=kernel.shape[0], width=kernel.shape[1]) + what
    labels = [str(index) for index in range(count)]
    return mosaic.layout(figure, title, z.shape[0], pixels, mosaic.tile_labels(origins, labels, tiles.shape[2]))


def number_grid(values, title, fmt=".2f", texts=texts.ENGLISH):
    """A small heatmap with each cell's number written in it (the convolution arithmetic).

    Args:
        values: 2-D array; NaN cells are left blank.
        title: what the numbers are.
        fmt: a Python format spec for the numbers. Defaults to `".2f"`.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with one Heatmap trace whose `text` holds the formatted numbers.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"Expected a 2-D array of numbers, got shape {values.shape}.")
    text = [[("" if not np.isfinite(value) else common.number_text(value, fmt)) for value in row] for row in values]
    finite = values[np.isfinite(values)]
    signed = finite.size and finite.min() < 0 < finite.max()
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    heatmap = go.Heatmap(
        z=values, text=text, texttemplate="%{text}", textfont={"size": 13 if values.shape[1] <= 8 else 10},
        colorscale=common.DIVERGING if signed else "Blues", showscale=False, hoverongaps=False,
        xgap=1, ygap=1,
        hovertemplate=texts("fig_grids.cell", row="%{y}", column="%{x}", value="%{z:.6g}") + "<extra></extra>",
    )
    if signed:
        heatmap.update(zmin=-limit, zmax=limit, zmid=0.0)
    figure = go.Figure(heatmap)
    # Column numbers below the grid: on top, with their title, they ran into the figure's title.
    # constrain="domain": square cells shrink the axis, rather than widen its range to columns -1 and n.
    figure.update_xaxes(title_text=texts("fig_grids.column"), dtick=1, showgrid=False, zeroline=False, side="bottom",
                        constrain="domain")
    figure.update_yaxes(title_text=texts("fig_grids.row"), dtick=1, autorange="reversed", showgrid=False, zeroline=False,
                        scaleanchor="x", scaleratio=1, constrain="domain")
    cell = min(56, max(24, 420 / max(values.shape)))
    return common.layout(figure, title, 140 + cell * values.shape[0], margin={"b": 70})

def attention_heads_grid(maps, rgb=None, head_labels=None, query=None, texts=texts.ENGLISH):
    """Draws one attention map per layer (rows) and head (columns), with a colour scale and the query marked.

    Args:
        maps: `(layers, heads, rows, cols)` attention over the patch grid, e.g. one query's
            row of `explain.attention_maps` through `explain.token_heatmap`.
        rgb: the image to draw each map over. Defaults to `None` (maps alone).
        head_labels: column titles. Defaults to "Head 1", "Head 2"...; pass e.g.
            `[..., "Mean"]` when the last column is the heads' average.
        query: the query patch `(row, col)`, outlined in every tile. Defaults to `None`
            (the class token, which is no patch).
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with the mosaic (an Image over `rgb`, else a Heatmap), a colour bar, one
        annotation per row and per column, and one outline per tile for the query. It is
        sized for HEADS_WIDTH pixels across, so its tiles fill the page's width.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 4:
        raise ValueError(f"Expected attention maps (layers, heads, rows, cols), got shape {maps.shape}.")
    layers, heads, grid_rows, grid_cols = maps.shape
    labels = (list(head_labels) if head_labels is not None
              else [texts("fig_grids.head", number=index + 1) for index in range(heads)])
    if len(labels) != heads:
        raise ValueError(f"Got {len(labels)} head labels for {heads} heads.")
    # Each map on its own scale: a head's pattern matters here, not its absolute weight.
    flat = np.stack([overlays.stretch(item) for item in maps.reshape(layers * heads, grid_rows, grid_cols)])
    if rgb is not None:
        base = common.to_rgb_uint8(rgb)
        side = min(96, max(base.shape[:2]))
        tile_height = max(1, round(side * base.shape[0] / max(base.shape[:2])))
        tile_width = max(1, round(side * base.shape[1] / max(base.shape[:2])))
        from PIL import Image

        small = np.asarray(Image.fromarray(base).resize((tile_width, tile_height), Image.Resampling.BILINEAR))
        tiles = np.stack([overlays.overlay(small, _nearest(item, tile_height, tile_width), OVERLAY_ALPHA)
                          for item in flat])
        canvas, origins = mosaic.arrange(tiles, heads, gap=2, fill=255)
        traces = [go.Image(source=mosaic.png_source(canvas), hoverinfo="skip"), _colour_bar_only(texts)]
    else:
        tile_height, tile_width = grid_rows, grid_cols
        canvas, origins = mosaic.arrange(flat, heads)
        traces = [go.Heatmap(z=canvas, zmin=0, zmax=1, colorscale=OVERLAY_COLOURS, hoverongaps=False,
                             colorbar=_attention_colour_bar(texts), hovertemplate="%{z:.3f}<extra></extra>")]
    figure = mosaic.axes(go.Figure(traces))
    annotations = mosaic.tile_labels(origins[:heads], labels, tile_width)
    for layer in range(layers):
        top, left = origins[layer * heads]
        annotations.append(
            {"x": left - 1, "y": top + (tile_height - 1) / 2, "text": texts("fig_grids.layer", number=layer + 1),
             "showarrow": False,
             "xanchor": "right", "textangle": -90, "xref": "x", "yref": "y", "font": {"size": 13}}
        )
    if query is not None:
        row, col = query
        cell_height, cell_width = tile_height / grid_rows, tile_width / grid_cols
        figure.update_layout(shapes=[
            {"type": "rect", "xref": "x", "yref": "y", "line": {"color": QUERY_COLOUR, "width": 2},
             "x0": left + col * cell_width - 0.5, "x1": left + (col + 1) * cell_width - 0.5,
             "y0": top + row * cell_height - 0.5, "y1": top + (row + 1) * cell_height - 0.5}
            for top, left in origins
        ])
    # Tiles as wide as the page allows, at most 150 pixels; the height follows, so no blank space is left below.
    scale = min(150.0, HEADS_WIDTH / heads) / tile_width
    margin = {"l": 40, "r": 10, "t": 90, "b": 10}
    return common.layout(figure, texts("fig_grids.heads_title"), margin["t"] + margin["b"]
                         + canvas.shape[0] * scale, margin=margin, annotations=annotations)


def attention_map(weights, rgb, query=None, title=None, texts=texts.ENGLISH):
    """One head's attention over the patches, large, over the image: the colour scale in attention weights.

    Args:
        weights: `(rows, cols)` attention of one query over the patches.
        rgb: the image, e.g. the model's input enlarged.
        query: the query patch `(row, col)` to outline, or `None` (the class token).
        title: the figure's title. Defaults to `None`.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with the overlay (an Image), a colour bar labelled with the smallest and
        largest weight, and an outline around the query patch.
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 2:
        raise ValueError(f"Expected attention weights (rows, cols), got shape {weights.shape}.")
    base = common.to_rgb_uint8(rgb)
    height, width = base.shape[:2]
    figure = images.image_figure(overlays.overlay(base, _nearest(overlays.stretch(weights), height, width),
                                                  OVERLAY_ALPHA), title=title)
    low, high = float(np.nanmin(weights)), float(np.nanmax(weights))
    # The title stands along the bar, and the margins are thin: in half the page's width the
    # image keeps about 300 pixels.
    figure.add_trace(_colour_bar_only(texts, ticktext=[f"{low:.2f}", f"{high:.2f}"],
                                      title={"text": texts("fig_grids.attention_weight"), "side": "right"}))
    figure.update_layout(height=ATTENTION_MAP_PIXELS + 70, margin={"l": 10, "r": 10, "t": 50, "b": 20})
    if query is not None:
        row, col = query
        cell_height, cell_width = height / weights.shape[0], width / weights.shape[1]
        figure.add_shape(type="rect", x0=col * cell_width - 0.5, x1=(col + 1) * cell_width - 0.5,
                         y0=row * cell_height - 0.5, y1=(row + 1) * cell_height - 0.5,
                         line={"color": QUERY_COLOUR, "width": 3})
    return figure


def _attention_colour_bar(texts, ticktext=None, title=None):
    ticktext = ticktext or (texts("fig_grids.least"), texts("fig_grids.most"))
    title = title if isinstance(title, dict) else {"text": title or texts("fig_grids.attention_each_map")}
    return {"title": {**title, "font": {"size": 12}}, "thickness": 14, "tickvals": [0.0, 1.0],
            "ticktext": list(ticktext), "len": 0.9}


def _colour_bar_only(texts, ticktext=None, title=None):
    """A trace with no visible point that only draws the overlays' colour bar (an Image trace has none)."""
    return go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                      marker={"color": [0.0], "cmin": 0.0, "cmax": 1.0, "colorscale": OVERLAY_COLOURS,
                              "showscale": True, "colorbar": _attention_colour_bar(texts, ticktext, title)})


def _nearest(values, height, width):
    # Blocky on purpose: one patch is one block of pixels.
    rows = (np.arange(height) * values.shape[0] // height).clip(0, values.shape[0] - 1)
    cols = (np.arange(width) * values.shape[1] // width).clip(0, values.shape[1] - 1)
    return values[rows[:, None], cols[None, :]]


def mean_distance_scatter(distances, texts=texts.ENGLISH):
    """Plots each head's mean attention distance against its depth (keras.io's probing_vits).

    Args:
        distances: `(layers, heads)` in pixels (`explain.mean_attention_distance`).
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

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
                name=texts("fig_grids.head", number=head + 1), line={"width": 1}, marker={"size": 10},
                hovertemplate=texts("fig_grids.distance_hover", head=head + 1, layer="%{x}", value="%{y:.1f}")
                + "<extra></extra>",
            )
        )
    figure.update_xaxes(title_text=texts("fig_grids.distance_x"), dtick=1)
    figure.update_yaxes(title_text=texts("fig_grids.distance_y"), rangemode="tozero")
    return common.layout(figure, texts("fig_grids.distance_title"), 460)

