"""Small display helpers the pages share: the chart config, square-pixel enlarging, the model's view, thumbnails, cases."""

import base64
import re

import numpy as np
import streamlit as st

from imgrec import images, overlays, registry
from pages._ui import i18n

# Plotly's mode bar (zoom, pan, download) only gets in the way on small teaching charts.
CHART_CONFIG = {"displayModeBar": False}
# One rule for every percentage on screen (a probability, an accuracy, a share): one decimal.
# Tables get their values in percent (0 to 100): Streamlit's "percent" format shows 0 to 2
# decimals, so "85%" stood beside "92.52%".
PERCENT_FORMAT = "%.1f%%"


def percent(fraction):
    """A fraction in [0, 1] as every page writes it, e.g. "99.4%"; "-" when there is none."""
    return "-" if fraction is None else f"{fraction:.1%}"


def in_percent(fraction):
    """A fraction in [0, 1] as a table cell of a `percent_column` (0 to 100), or None."""
    return None if fraction is None else 100.0 * float(fraction)


def percent_column(label=None, *, bar=False, width=None, help=None):
    """A table column of percentages (values from `in_percent`), as a bar from 0 to 100% when `bar`."""
    if bar:
        return st.column_config.ProgressColumn(label, format=PERCENT_FORMAT, min_value=0.0, max_value=100.0,
                                               width=width, help=help)
    return st.column_config.NumberColumn(label, format=PERCENT_FORMAT, width=width, help=help)


def enlarge(rgb, side=280):
    """Enlarges a small image with visible square pixels (nearest neighbour), for looking at what a model sees."""
    height, width = rgb.shape[:2]
    factor = max(1, side // max(height, width))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def model_view(model_input):
    """The model's input as a displayable uint8 RGB image (grey inputs repeated into three channels)."""
    pixels = np.clip(np.rint(np.asarray(model_input, dtype=np.float32)), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return pixels


def ranked(probabilities, class_names, k):
    """The k most probable classes of a probability vector, as `registry.Prediction`s, best first."""
    k = max(1, min(int(k), len(class_names)))
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:k]
    return [registry.Prediction(class_names[index], int(index), float(probabilities[index])) for index in order]


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail_png(rgb, size=96):
    """A small PNG of an image (never the original upload's bytes)."""
    return images.encode_png(images.thumbnail(rgb, size))


def data_url(png):
    """A PNG as a data URL, for table cells."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def size_text(size):
    """A file size in words ("1.2 MB", "340 kB"); empty for anything but a number."""
    if not isinstance(size, int | float):
        return ""
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def case_image(case, side=112):
    """A test image enlarged, a white gap, and the same image under its heatmap (a `mistakes.Case`)."""
    seen = enlarge(model_view(case.image), side)
    gap = np.full((seen.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([seen, gap, overlays.overlay(seen, case.heatmap, 0.5)], axis=1)


def case_caption(case):
    """What the model said about a case: true and chosen class, then its top classes with their probabilities."""
    top = ", ".join(f"{i18n.class_name(label)} {probability:.0%}" for label, probability in case.top)
    return i18n.t("views.case", index=case.index, true=i18n.class_name(case.true_label),
                  predicted=i18n.class_name(case.predicted_label), top=top)


def selected_points(chart_key, parameter=None):
    """The points a visitor clicked in a chart (Plotly: its points; Vega-Lite: the selection `parameter`)."""
    state = st.session_state.get(chart_key)
    selection = state.get("selection") if state else None
    if not selection:
        return []
    return list(selection.get(parameter) or []) if parameter else list(selection.get("points") or [])


def plain(text, limit=60):
    """Text from outside (a file name, a link's value) made safe to show in Markdown: short, special characters escaped."""
    text = str(text)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~$:-])", r"\\\1", text)
