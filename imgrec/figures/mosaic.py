"""Mosaics: many small maps laid out as ONE trace with blank gaps, their labels, colour bar and size.

A figure of 64 subplots takes Plotly about a second to build and a browser longer to draw,
a mosaic a few milliseconds.
"""

import base64
import io
import math

import numpy as np

from imgrec.figures import common

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


def subsample(maps, max_side):
    """Returns (maps[::step, ::step], step) with the longer side at most `max_side`."""
    step = max(1, math.ceil(max(maps.shape[0], maps.shape[1]) / max_side))
    return maps[::step, ::step], step


def arrange(tiles, columns, gap=1, fill=np.nan, label_band=0):
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


def tile_labels(origins, labels, tile_width):
    """Returns one annotation per tile, centred in the band above it."""
    # Plain dicts set in one update_layout: add_annotation validates each call, ~30 ms apiece.
    # Anchored at the bottom on the tile's top edge: the text rises into the gap above its
    # own tile.
    return [
        {"x": left + (tile_width - 1) / 2, "y": top - 0.5, "text": str(label), "showarrow": False,
         "yanchor": "bottom", "font": {"size": LABEL_FONT_SIZE}, "xref": "x", "yref": "y"}
        for (top, left), label in zip(origins, labels, strict=True)
    ]


def axes(figure):
    """Hides the axes and keeps map pixels square, the grid pinned to the top left."""
    common.hide_axes(figure)
    # Pinned to the top left: in a column narrower than MOSAIC_WIDTH the spare room is below.
    figure.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, constrain="domain",
                        constraintoward="top")
    figure.update_xaxes(constrain="domain", constraintoward="left")
    return figure


def pixel_scale(tile_height, tile_width, columns, max_tile_pixels):
    """Returns (screen pixels per map pixel, label band in map pixels) for a grid of tiles.

    The grid takes at most MOSAIC_WIDTH pixels across and tiles at most `max_tile_pixels`;
    the band above each row is at least LABEL_PIXELS tall on screen.
    """
    width = columns * tile_width + (columns - 1)  # One-pixel gaps between columns.
    scale = min(MOSAIC_WIDTH / width, max_tile_pixels / max(tile_height, tile_width))
    return scale, math.ceil(LABEL_PIXELS / scale)


def colour_bar(title, mosaic_height, label_band):
    """A colour bar as long as the tiles: from the first row's top edge to the grid's bottom.

    Its title is one short line: Plotly draws it inside `len`, and on a one-row grid a
    two-line title would leave little of the bar.
    """
    return {
        "title": {"text": title, "font": {"size": 12}}, "thickness": 14,
        "lenmode": "fraction", "len": (mosaic_height - label_band) / mosaic_height,
        "y": 1.0 - label_band / mosaic_height, "yanchor": "top", "yref": "paper",
    }


def layout(figure, title, mosaic_height, scale, annotations):
    """Sizes the figure so the plot area is exactly the grid's height at `scale`."""
    top = 60 if title else 10
    margin = {**MOSAIC_MARGIN, "t": top}
    return common.layout(figure, title, top + MOSAIC_MARGIN["b"] + mosaic_height * scale, margin=margin,
                         annotations=annotations)


def png_source(rgb):
    """Returns an RGB mosaic as a PNG data URL, for a `go.Image` source (smaller than a `z` array)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

