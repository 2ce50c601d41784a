"""What every figure shares: one look (template, font, colours), the layout call, empty figures and plain words.

The words (`article`, `number_text`, `ordinal`, `plural`) are here because titles need them and pages reuse them.
"""

import numpy as np
import plotly.graph_objects as go

# One look for every chart: light template, readable font, tight margins.
TEMPLATE = "plotly_white"
FONT_SIZE = 14
ACCENT = "#d62728"  # The highlighted bar (the true class, or the class being explained).
BASE_COLOUR = "#1f77b4"
# Diverging, red for positive: a kernel weight that adds the pixel under it is red.
DIVERGING = "RdBu_r"
SEQUENTIAL = "Viridis"


def layout(figure, title, height, margin=None, **kwargs):
    """Gives a figure the common look, a left-aligned title and a height in pixels; returns it."""
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


def article(word):
    """Returns "a" or "an" for a word, by its first letter: "an Activation", "a BatchNormalization"."""
    return "an" if str(word)[:1].lower() in "aeiou" else "a"


def number_text(value, fmt=".2f"):
    """Formats a number, never as "-0.000": a value that rounds to zero is written without a sign."""
    text = format(value, fmt)
    return text[1:] if text.startswith("-") and not any(digit in text for digit in "123456789") else text


def plural(count, noun, nouns=None):
    """Returns "1 feature map", "2 feature maps"; `nouns` for irregular plurals."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def empty(title, message, height=300):
    """Returns a figure with no data that says why, e.g. "No prediction yet."."""
    figure = go.Figure()
    figure.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                          font={"size": FONT_SIZE + 2})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return layout(figure, title, height)


def hide_axes(figure):
    """Hides ticks, grid and zero lines, for images and mosaics."""
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    return figure


def to_rgb_uint8(image):
    """Returns an image as uint8 `(H, W, 3)`; grayscale is repeated, alpha dropped, floats rounded and clipped."""
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

