"""AppTest fixtures: a registry of tiny untrained models and a fresh app per test."""

import io
import pathlib

import numpy as np
import pytest
from PIL import Image

from tests.app.tiny_models import models_dir_env, save_tiny_models

REPO = pathlib.Path(__file__).resolve().parents[2]
# The first run of a page imports TensorFlow and builds the explainers' graphs: far over AppTest's 3 s default.
TIMEOUT = 60


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """A registry folder holding tiny-cnn and tiny-vit, used for every test in this session."""
    with models_dir_env(save_tiny_models(tmp_path_factory.mktemp("models"))) as folder:
        yield folder


@pytest.fixture
def app(models_dir):
    """An AppTest of the whole app (navigation included), not yet run."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)


def png_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def digit_png():
    """A white 64x64 image with a black vertical bar, like a drawn 1."""
    rgb = np.full((64, 64, 3), 255, np.uint8)
    rgb[10:54, 28:36] = 0
    return png_bytes(rgb)
