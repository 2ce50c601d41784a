"""Static charts as inline SVG: bars, lines on axes, and a matrix of shaded cells with numbers.

Hand-written SVG rather than Plotly (its script is about 4 MB) or matplotlib (present here
only through mlxtend, and it builds a font cache on first use): text stays text, sharp on
paper and searchable, and a chart is a few kilobytes. Every series differs by its dash and
marker as well as its colour, and every shade has its number beside it, so a report printed
in black and white still reads.
"""

import math
import unicodedata

import numpy as np

from imgrec.report import markup

FONT = 12  # Pixels in the SVG's own units; a 640-unit chart prints 18 cm wide, so about 9 pt.
CHAR_WIDTH = 0.6 * FONT  # A generous average advance of a sans-serif character, for fitting labels.
WIDE_CHAR_WIDTH = 1.0 * FONT  # A Chinese character is a full square: "短靴" at 0.6 each ran 9 px off the chart.
INK = "#222"
GRID = "#ccc"
BAR = "#6baed6"  # A light blue: the highlighted bar stays darker in grey print.
ACCENT = "#b2182b"  # The highlighted bar (the class being explained).
# Line series: colour, dash pattern and marker together, so each reads without colour.
STYLES = (
    ("#1f77b4", None, "circle"),
    ("#ff7f0e", "6 4", "square"),
    ("#2ca02c", "2 3", "triangle"),
    ("#7f7f7f", "8 3 2 3", None),
    ("#9467bd", "4 2", "circle"),
    ("#8c564b", "1 2", "square"),
    ("#e377c2", "10 4", "triangle"),
    ("#17becf", "3 3 8 3", None),
    ("#bcbd22", "5 5", "circle"),
    ("#d62728", "12 3 3 3", "square"),
)
REFERENCE = ("#555", "4 4", None)  # A reference line (chance, random maps): grey and dashed.
MAX_LABEL_CHARACTERS = 34  # Longer labels are cut with an ellipsis; the full text is the element's tooltip.


def _svg(width, height, title, *children):
    # Drawn at its own size (a unit is a CSS pixel, 640 of them 17 cm) and shrunk to its column when narrower.
    return markup.element("svg", markup.element("title", title), *children, viewBox=f"0 0 {width} {height:.0f}",
                          width=width, height=round(height), role="img", class_="chart", font_size=FONT)


def _text(x, y, content, anchor="start", **attributes):
    return markup.element("text", content, x=x, y=y, text_anchor=anchor, fill=INK, **attributes)


def shortened(label, limit=MAX_LABEL_CHARACTERS):
    """Returns a label cut to `limit` characters with an ellipsis when longer."""
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def text_width(label):
    """Returns about how wide a label is drawn, in SVG units: wide (CJK) characters count a full font size.

    Example:

    >>> text_width("cat"), text_width("猫")
    (21.6, 12.0)
    """
    return round(sum(WIDE_CHAR_WIDTH if unicodedata.east_asian_width(character) in "WF" else CHAR_WIDTH
                     for character in str(label)), 6)


def nice_ticks(low, high, count=5):
    """Returns round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high].

    Example:

    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not math.isfinite(low) or not math.isfinite(high):
        raise ValueError(f"Ticks need finite bounds, got {low!r} and {high!r}.")
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(multiple * magnitude for multiple in (1, 2, 5, 10) if multiple * magnitude >= raw * 0.999)
    first = math.floor(low / step + 1e-9) * step
    ticks = [round(first, 10)]
    while ticks[-1] < high - step * 1e-6:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_text(value):
    return f"{value:g}"


def bars(labels, values, *, title, value_text, highlight=None, width=640):
    """Horizontal bars, one row per label, longest first as given, each value written after its bar.

    Args:
        labels: the row labels, in the order drawn (top to bottom).
        values: their values from 0 to 1 (a bar's length is its share of the width).
        title: what the chart shows (its SVG title, read by screen readers).
        value_text: turns a value into the text written after its bar, e.g. a percentage.
        highlight: the position of a row drawn in the accent colour. Defaults to `None`.
        width: the chart's width in SVG units. Defaults to `640`.

    Returns:
        `markup.Html` of one `<svg>`.
    """
    labels = [str(label) for label in labels]
    values = [float(value) for value in values]
    if len(labels) != len(values):
        raise ValueError(f"Got {len(labels)} labels but {len(values)} values.")
    row, gap = 22, 6
    label_width = min(width * 0.4, max((text_width(shortened(label)) for label in labels), default=CHAR_WIDTH) + 10)
    track = width - label_width - 70  # Room after the bar for its value.
    height = len(labels) * (row + gap) + gap
    children = []
    for position, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = gap + position * (row + gap)
        middle = top + row / 2 + FONT * 0.35
        length = max(0.0, min(1.0, value if math.isfinite(value) else 0.0)) * track
        accent = position == highlight
        children.append(markup.element(
            "g",
            markup.element("title", label),
            _text(label_width - 8, middle, shortened(label), anchor="end", font_weight="bold" if accent else None),
            markup.element("rect", x=label_width, y=top, width=max(length, 0.5), height=row,
                           fill=ACCENT if accent else BAR, stroke=INK, stroke_width=0.5),
            _text(label_width + length + 6, middle, value_text(value), font_weight="bold" if accent else None),
        ))
    return _svg(width, height, title, *children)


def _marker(kind, x, y, colour):
    if kind == "circle":
        return markup.element("circle", cx=x, cy=y, r=3.5, fill="white", stroke=colour, stroke_width=1.5)
    if kind == "square":
        return markup.element("rect", x=x - 3.5, y=y - 3.5, width=7, height=7, fill=colour)
    if kind == "triangle":
        return markup.element("path", d=f"M{x:.2f} {y - 4:.2f}L{x + 4:.2f} {y + 3:.2f}L{x - 4:.2f} {y + 3:.2f}Z",
                              fill=colour)
    return None


def lines(series, *, title, x_label, y_label, y_range=None, x_range=None, width=320, height=240, markers=True):
    """Lines on axes with round ticks and a legend under the plot.

    Args:
        series: `(name, xs, ys)` triples, or `(name, xs, ys, style)` with a style of `STYLES`'
            shape `(colour, dash, marker)`; a value that is not finite breaks its line.
        title: the chart's heading, written above the plot.
        x_label: the x axis's title.
        y_label: the y axis's title.
        y_range: `(low, high)`, or `None` to fit the data (from 0 when every value is positive).
        x_range: `(low, high)`, or `None` to fit the data.
        width: the chart's width in SVG units. Defaults to `320` (half a page).
        height: the plot's height in SVG units, the legend below it excluded. Defaults to `240`.
        markers: draw each series' marker at its points (up to 60 points). Defaults to `True`.

    Returns:
        `markup.Html` of one `<svg>`.
    """
    series = [(str(name), np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64),
               style[0] if style else STYLES[index % len(STYLES)])
              for index, (name, xs, ys, *style) in enumerate(series)]
    finite_x = np.concatenate([xs[np.isfinite(xs)] for _, xs, _, _ in series] or [np.zeros(1)])
    finite_y = np.concatenate([ys[np.isfinite(ys)] for _, _, ys, _ in series] or [np.zeros(1)])
    finite_x = finite_x if finite_x.size else np.zeros(1)
    finite_y = finite_y if finite_y.size else np.zeros(1)
    x_ticks = nice_ticks(*(x_range or (float(finite_x.min()), float(finite_x.max()))))
    low_y = min(0.0, float(finite_y.min()))
    y_ticks = nice_ticks(*(y_range or (low_y, float(finite_y.max()))))
    left, right, top, bottom = 52, 12, 28, 44
    plot_width, plot_height = width - left - right, height - top - bottom

    def x_position(value):
        return left + (value - x_ticks[0]) / (x_ticks[-1] - x_ticks[0]) * plot_width

    def y_position(value):
        return top + plot_height - (value - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * plot_height

    children = [_text(0, 16, title, font_weight="bold")]
    for tick in y_ticks:
        y = y_position(tick)
        children.append(markup.element("line", x1=left, x2=width - right, y1=y, y2=y, stroke=GRID, stroke_width=0.7))
        children.append(_text(left - 6, y + FONT * 0.35, _tick_text(tick), anchor="end"))
    for tick in x_ticks:
        x = x_position(tick)
        children.append(markup.element("line", x1=x, x2=x, y1=top + plot_height, y2=top + plot_height + 4, stroke=INK))
        children.append(_text(x, top + plot_height + 16, _tick_text(tick), anchor="middle"))
    children.append(markup.element("rect", x=left, y=top, width=plot_width, height=plot_height, fill="none",
                                   stroke=INK, stroke_width=0.8))
    children.append(_text(left + plot_width / 2, top + plot_height + 34, x_label, anchor="middle"))
    children.append(_text(14, top + plot_height / 2, y_label, anchor="middle",
                          transform=f"rotate(-90 14 {top + plot_height / 2:.2f})"))
    legend_top = height + 4
    for index, (name, xs, ys, (colour, dash, marker)) in enumerate(series):
        for run in _finite_runs(xs, ys):
            points = " ".join(f"{x_position(x):.2f},{y_position(y):.2f}" for x, y in run)
            children.append(markup.element("polyline", points=points, fill="none", stroke=colour, stroke_width=2,
                                           stroke_dasharray=dash))
        if markers and len(xs) <= 60:
            children.extend(_marker(marker, x_position(x), y_position(y), colour)
                            for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y))
        y = legend_top + 16 * index + 8
        children.append(markup.element("line", x1=left, x2=left + 28, y1=y, y2=y, stroke=colour, stroke_width=2,
                                       stroke_dasharray=dash))
        children.append(_marker(marker, left + 14, y, colour))
        children.append(_text(left + 36, y + FONT * 0.35, name))
    return _svg(width, legend_top + 16 * len(series) + 4, title, *children)


def _finite_runs(xs, ys):
    """The stretches of consecutive finite points of a series, as lists of (x, y)."""
    runs, current = [], []
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(x) and math.isfinite(y):
            current.append((x, y))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _blue(share):
    # Matplotlib's "Blues" from its lightest to its darkest stop: darker always means more,
    # in colour and in grey.
    light, dark = np.array([247, 251, 255]), np.array([8, 48, 107])
    red, green, blue = np.rint(light + (dark - light) * min(1.0, max(0.0, share))).astype(int)
    return f"#{red:02x}{green:02x}{blue:02x}"


def matrix(counts, names, *, title, row_label, column_label, width=640, numbers_up_to=20):
    """A square matrix of counts as shaded cells, each row shaded by its share of the row's total.

    Args:
        counts: `(K, K)` counts; rows are true classes, columns predicted ones.
        names: the K class names.
        title: what the chart shows (its SVG title).
        row_label: the rows' title, e.g. "true class".
        column_label: the columns' title, e.g. "predicted class".
        width: the chart's width in SVG units. Defaults to `640`.
        numbers_up_to: write each cell's count up to this many classes. Defaults to `20`.

    Returns:
        `markup.Html` of one `<svg>`.
    """
    counts = np.asarray(counts, dtype=np.float64)
    names = [str(name) for name in names]
    if counts.ndim != 2 or counts.shape != (len(names), len(names)):
        raise ValueError(f"Expected a {len(names)} x {len(names)} matrix, got shape {counts.shape}.")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    label_width = min(150, max((text_width(shortened(name, 20)) for name in names), default=CHAR_WIDTH) + 10)
    upright = max((len(name) for name in names), default=0) <= 3  # Short names stand upright over their column.
    left, top = label_width + 22, (40 if upright else label_width + 22)
    cell = (width - left - 4) / max(1, len(names))
    children = [
        _text(left + cell * len(names) / 2, 12, column_label, anchor="middle", font_weight="bold"),
        _text(12, top + cell * len(names) / 2, row_label, anchor="middle", font_weight="bold",
              transform=f"rotate(-90 12 {top + cell * len(names) / 2:.2f})"),
    ]
    numbers = len(names) <= numbers_up_to
    for index, name in enumerate(names):
        children.append(_text(left - 6, top + cell * (index + 0.5) + FONT * 0.35, shortened(name, 20), anchor="end"))
        x = left + cell * (index + 0.5)
        children.append(_text(x, top - 6, shortened(name, 20), anchor="middle") if upright else
                        _text(x, top - 6, shortened(name, 20), transform=f"rotate(-60 {x:.2f} {top - 6})"))
    for row in range(len(names)):
        for column in range(len(names)):
            share = shares[row, column]
            children.append(markup.element(
                "rect", markup.element("title", f"{names[row]} \u2192 {names[column]}: {int(counts[row, column])}"),
                x=left + cell * column, y=top + cell * row, width=cell, height=cell, fill=_blue(share),
                stroke=GRID, stroke_width=0.5))
            if numbers and counts[row, column]:
                children.append(markup.element(
                    "text", f"{int(counts[row, column])}", x=left + cell * (column + 0.5),
                    y=top + cell * (row + 0.5) + FONT * 0.35, text_anchor="middle",
                    fill="white" if share > 0.5 else INK, font_size=min(FONT, cell * 0.4)))
    # The diagonal (right answers) outlined last, so no neighbouring cell covers its edges.
    children.extend(markup.element("rect", x=left + cell * index, y=top + cell * index, width=cell, height=cell,
                                   fill="none", stroke=INK, stroke_width=1.2) for index in range(len(names)))
    return _svg(width, top + cell * len(names) + 4, title, *children)
