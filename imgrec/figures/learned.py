"""Figures of what a model learned: its filters' pictures, the map of its data, reconstructions and the latent walk.

The filter pictures, the image pairs and the walk are mosaics (one Image trace, `mosaic`);
the data map is a Vega-Lite spec (a plain dict) rather than a Plotly figure, because a
Vega-Lite tooltip can show a picture: hovering a point shows the image it stands for.
"""

import json

import numpy as np
import plotly.graph_objects as go

from imgrec import texts
from imgrec.figures import common, mosaic

TILE = 56  # A tile's side in mosaic pixels: small images are enlarged to it with square pixels, large ones shrunk.
GAP = 4  # Mosaic pixels between tiles; twice that between a filter's picture and its examples.
# The main column's width at 1280x800 with the sidebar open: a mosaic drawn wider is shrunk to
# it, and its height, computed for this width, then matches what the browser draws.
COLUMN_PIXELS = 820
# Ten clearly different colours for up to ten classes (Tableau 10), then Vega's 20-colour scheme.
CLASS_SCHEME = "tableau10"
RIGHT_COLOUR, WRONG_COLOUR = "#b0b0b0", "#d62728"


def _tiles(images, side=TILE):
    """Images as uint8 RGB tiles of `side` x `side` (nearest neighbour up, area average down)."""
    from PIL import Image

    tiles = []
    for image in images:
        rgb = common.to_rgb_uint8(image)
        resample = Image.Resampling.NEAREST if max(rgb.shape[:2]) <= side else Image.Resampling.BOX
        tiles.append(np.asarray(Image.fromarray(rgb).resize((side, side), resample)))
    return np.stack(tiles) if tiles else np.zeros((0, side, side, 3), np.uint8)


def _mosaic_figure(groups, labels, columns, title):
    """Lays equal-size RGB groups out in a grid with a label above each; returns the figure."""
    band = 22  # Mosaic pixels above each row for the labels: at the page's scale, room for 11-pixel text.
    canvas, origins = mosaic.arrange(groups, columns, gap=3 * GAP, fill=255, label_band=band)
    figure = mosaic.axes(go.Figure(go.Image(source=mosaic.png_source(canvas), hoverinfo="skip")))
    annotations = mosaic.tile_labels(origins, labels, groups.shape[2])
    scale = min(COLUMN_PIXELS, canvas.shape[1] * 2) / canvas.shape[1]
    margin = {"l": 10, "r": 10, "b": 10, "t": 60 if title else 10}
    return common.layout(figure, title, margin["t"] + margin["b"] + canvas.shape[0] * scale, margin=margin,
                         annotations=annotations)


def filter_grid(pictures, examples=None, labels=None, columns=None, texts=texts.ENGLISH):
    """Each filter's picture, and beside it the images that excite it most.

    Args:
        pictures: uint8 `(n, height, width, channels)` (`maximisation.pictures`).
        examples: for each filter, its strongest images, strongest first (uint8 `(n, k, h, w, c)`,
            or lists of images of any size: each is fitted to a tile). Defaults to `None`.
        labels: one label per filter, e.g. "3". Defaults to the positions.
        columns: filters per row. Defaults to 3 with examples, 8 without.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with one Image trace and one label per filter.
    """
    pictures = np.asarray(pictures)
    count = len(pictures)
    if count == 0:
        return common.empty(texts("fig_learned.filters_empty_title"), texts("fig_learned.filters_empty"))
    labels = [str(label) for label in (labels if labels is not None else range(count))]
    if len(labels) != count:
        raise ValueError(f"Got {len(labels)} labels for {count} pictures.")
    groups = _tiles(pictures)
    if examples is not None:
        if len(examples) != count:
            raise ValueError(f"Got examples for {len(examples)} filters, but {count} pictures.")
        rows = []
        for picture, shown in zip(groups, examples, strict=True):
            gap = np.full((TILE, 2 * GAP, 3), 255, np.uint8)
            parts = [picture, gap]
            for tile in _tiles(shown):
                parts += [tile, np.full((TILE, GAP // 2, 3), 255, np.uint8)]
            rows.append(np.concatenate(parts[:-1], axis=1))
        groups = np.stack(rows)
    columns = int(columns or (3 if examples is not None else 8))
    title = texts("fig_learned.filters_examples" if examples is not None else "fig_learned.filters")
    return _mosaic_figure(groups, labels, max(1, min(columns, count)), title)


def image_pairs(images, reconstructions, labels=None, columns=6, texts=texts.ENGLISH):
    """Each image beside its reconstruction (an autoencoder's output), in pairs.

    Args:
        images: uint8 or 0..255 `(n, height, width, channels)`.
        reconstructions: `(n, height, width, channels)` in 0..1.
        labels: one label per pair, e.g. its class and error. Defaults to none.
        columns: pairs per row. Defaults to `6`.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with one Image trace.
    """
    images = np.asarray(images, dtype=np.float64)
    rebuilt = np.asarray(reconstructions, dtype=np.float64) * 255.0
    if images.shape != rebuilt.shape or not len(images):
        raise ValueError(f"Expected as many images as reconstructions, got {images.shape} and {rebuilt.shape}.")
    gap = np.full((TILE, GAP, 3), 255, np.uint8)
    pairs = np.stack([np.concatenate([original, gap, copy], axis=1)
                      for original, copy in zip(_tiles(images), _tiles(rebuilt), strict=True)])
    labels = [str(label) for label in labels] if labels is not None else [""] * len(pairs)
    return _mosaic_figure(pairs, labels, max(1, min(int(columns), len(pairs))),
                          texts("fig_learned.pairs"))


def latent_walk(images, x, y, axes_are_the_code=True, texts=texts.ENGLISH):
    """The images a decoder draws along a grid over the latent plane ("walking the latent space").

    Args:
        images: `(rows, columns, height, width, channels)` in 0..1 (`reconstruction.LatentWalk.images`).
        x: the grid's coordinates along the plane's first axis, `(columns,)`.
        y: along its second axis, `(rows,)`, top row first.
        axes_are_the_code: True when the two axes are the code's own two numbers, False
            when they are the codes' two principal directions. Defaults to `True`.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A figure with one Image trace, its axes labelled with the coordinates.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 5:
        raise ValueError(f"Expected a grid of images (rows, columns, h, w, c), got shape {images.shape}.")
    rows, columns = images.shape[:2]
    tiles = _tiles(images.reshape(-1, *images.shape[2:]) * 255.0, side=40)
    canvas, _ = mosaic.arrange(tiles, columns, gap=0, fill=255)
    figure = go.Figure(go.Image(source=mosaic.png_source(canvas), hoverinfo="skip"))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False,
                        tickvals=[(row + 0.5) * 40 for row in range(rows)], ticktext=[f"{value:.2g}" for value in y],
                        title_text=texts("fig_learned.code_second" if axes_are_the_code else "fig_learned.direction_second"))
    figure.update_xaxes(showgrid=False, zeroline=False, tickvals=[(column + 0.5) * 40 for column in range(columns)],
                        ticktext=[f"{value:.2g}" for value in x],
                        title_text=texts("fig_learned.code_first" if axes_are_the_code else "fig_learned.direction_first"))
    side = min(460, 46 * columns)  # The whole walk, axes included, on one 1280x800 screen.
    return common.layout(figure, texts("fig_learned.walk"),
                         side * rows / columns + 130, margin={"l": 80, "b": 70})


def embedding_map(points, labels, class_names, *, predicted=None, colour="class", thumbnails=None, indices=None,
                  title=None, axis_titles=None, height=460, texts=texts.ENGLISH):
    """A Vega-Lite scatter spec of images on a 2-D map; hovering shows each image, clicking picks it.

    Args:
        points: `(n, 2)` map positions (`embedding.Embedding.points`).
        labels: `(n,)` true class indices.
        class_names: the class names.
        predicted: `(n,)` the classes the model chose, or None (an autoencoder). Defaults to `None`.
        colour: "class" (true class) or "outcome" (right in grey, wrong in red). Defaults to `"class"`.
        thumbnails: one image per point as a data URL (`image/png`), shown on hover. Defaults to `None`.
        indices: each point's index in its split, the value a click selects. Defaults to 0..n-1.
        title: the chart's title. Defaults to one that says what the map is.
        axis_titles: the two axes' titles. Defaults to `("1st axis", "2nd axis")`.
        height: in pixels. Defaults to `460`.
        texts: the `imgrec.texts.Texts` its words come from (titles, legends, tooltips; the data's
            field names stay as they are). Defaults to English.

    Returns:
        A dict: a Vega-Lite spec with its data inline and a point selection named "picked"
        on the field "index".

    Raises:
        ValueError: for lengths that differ, or a colouring that needs predictions it lacks.
    """
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    count = len(points)
    indices = np.arange(count) if indices is None else np.asarray(indices).astype(np.int64)
    if points.shape != (count, 2) or len(labels) != count or len(indices) != count:
        raise ValueError(f"Expected (n, 2) points with one label and index each, got {points.shape}, "
                         f"{len(labels)} labels and {len(indices)} indices.")
    if colour not in ("class", "outcome") or (colour == "outcome" and predicted is None):
        raise ValueError(f"colour must be 'class', or 'outcome' for a model that predicts, got {colour!r}.")
    names = [str(name) for name in class_names]
    axis_titles = axis_titles or (texts("fig_learned.axis_first"), texts("fig_learned.axis_second"))
    true_class, right, wrong = texts("fig_learned.true_class"), texts("fig_learned.right"), texts("fig_learned.wrong")
    rows = []
    for position in range(count):
        row = {"x": round(float(points[position, 0]), 4), "y": round(float(points[position, 1]), 4),
               "true class": names[labels[position]], "index": int(indices[position])}
        if predicted is not None:
            guess = int(predicted[position])
            row["predicted"] = names[guess]
            row["outcome"] = "right" if guess == labels[position] else "wrong"
        if thumbnails is not None:
            row["image"] = thumbnails[position]  # vega-tooltip shows the key "image" as a picture.
        rows.append(row)
    if colour == "class":
        colour_encoding = {"field": "true class", "type": "nominal", "sort": names,
                           "scale": {"scheme": CLASS_SCHEME if len(names) <= 10 else "category20"},
                           "legend": {"title": true_class, "columns": 1 if len(names) <= 12 else 2}}
    else:
        colour_encoding = {"field": "outcome", "type": "nominal", "sort": ["right", "wrong"],
                           "scale": {"domain": ["right", "wrong"], "range": [RIGHT_COLOUR, WRONG_COLOUR]},
                           # The data says "right" and "wrong"; the legend, in the texts' language (JSON quotes a
                           # string as a Vega expression reads it).
                           "legend": {"title": texts("fig_learned.model_was"),
                                      "labelExpr": f"datum.label == 'right' ? {json.dumps(right)} : "
                                                   f"{json.dumps(wrong)}"}}
    tooltip = ([{"field": "image", "type": "nominal"}] if thumbnails is not None else []) + [
        {"field": "true class", "type": "nominal", "title": true_class}] + (
        [{"field": "predicted", "type": "nominal", "title": texts("fig_learned.predicted")}]
        if predicted is not None else []) + [
        {"field": "index", "type": "quantitative", "title": texts("fig_learned.test_image")}]
    picked = {"param": "picked", "empty": False}
    return {
        "title": {"text": title or texts("fig_learned.map"), "anchor": "start"},
        "height": int(height),
        "width": "container",
        "data": {"values": rows},
        "params": [{"name": "picked", "select": {"type": "point", "fields": ["index"], "on": "click"}}],
        # Wrong ones drawn last, on top: they are the ones worth finding.
        "transform": [{"calculate": "datum.outcome == 'wrong' ? 1 : 0", "as": "order"}] if predicted is not None
        else [],
        "mark": {"type": "circle", "cursor": "pointer"},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "axis": {"title": axis_titles[0], "labels": False,
                                                                  "ticks": False}, "scale": {"zero": False}},
            "y": {"field": "y", "type": "quantitative", "axis": {"title": axis_titles[1], "labels": False,
                                                                  "ticks": False}, "scale": {"zero": False}},
            "color": colour_encoding,
            "size": {"condition": {**picked, "value": 260}, "value": 36},
            "opacity": {"condition": {**picked, "value": 1.0}, "value": 0.72},
            "stroke": {"condition": {**picked, "value": "black"}, "value": None},
            "tooltip": tooltip,
            **({"order": {"field": "order", "type": "quantitative"}} if predicted is not None else {}),
        },
    }

