"""Heatmap colours on Predict through AppTest: a colour-blind-safe map chosen by a link (`?cmap=`) or by hand
colours the heatmap, names its ends in the caption, and travels in the address."""

import base64
import json

import numpy as np
import pytest

from imgrec import overlays
from tests.support.apptest import open_page

pytestmark = pytest.mark.filterwarnings("ignore")
LINK = {"model": "tiny-cnn", "sample": "mnist-04", "method": "saliency"}


def explanation_pixels(at):
    """The explanation overlay's pixels, as an array (Plotly 7 encodes the Image trace's `z` as base64)."""
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        title = figure.get("layout", {}).get("title", {})
        if "Saliency" in (title.get("text", "") if isinstance(title, dict) else str(title)):
            z = figure["data"][0]["z"]
            shape = [int(size) for size in str(z["shape"]).split(",")]
            return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    raise AssertionError("no explanation chart")


def test_a_link_chooses_cividis_and_the_caption_names_its_ends(app):
    at = open_page(app, "pages/predict.py", cmap="cividis", opacity="1", **LINK)
    assert at.selectbox(key="explain-colours").value == "cividis" and not at.warning
    assert any(caption.value.startswith("Yellow marks what speaks most") and "dark blue the least" in caption.value
               for caption in at.caption)
    assert at.query_params["cmap"] in ("cividis", ["cividis"])
    # At full opacity every pixel of the overlay is a cividis colour: none of jet's saturated reds or cyans.
    pixels = explanation_pixels(at).reshape(-1, 3).astype(int)
    palette = overlays.colorize(np.linspace(0, 1, 256), "cividis").astype(int)
    nearest = np.abs(pixels[:, None, :] - palette[None, :, :]).sum(-1).min(axis=1)
    assert nearest.max() <= 6


def test_the_default_stays_jet_out_of_the_address_and_a_bad_cmap_is_named(app):
    at = open_page(app, "pages/predict.py", cmap="rainbow", **LINK)
    [said] = [warning.value.replace("\\", "") for warning in at.warning]
    assert said.startswith("The link asked for cmap 'rainbow', but the heatmap colours are jet, viridis, cividis")
    assert "cmap" not in at.query_params
    at.selectbox(key="explain-colours").set_value("viridis").run()
    assert at.query_params["cmap"] in ("viridis", ["viridis"])
    assert any(caption.value.startswith("Yellow marks") and "dark purple" in caption.value for caption in at.caption)
