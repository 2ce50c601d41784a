"""AppTest fixtures: a fresh app per test over the session's registry of tiny models."""

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# The first run of a page imports TensorFlow and builds the explainers' graphs: far over AppTest's 3 s default.
TIMEOUT = 60


@pytest.fixture
def app(tiny_registry, tmp_path, monkeypatch):
    """An AppTest of the whole app (navigation included), not yet run.

    For this test only, the registry is `tiny_registry` and runs go to an empty folder.
    """
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tiny_registry))
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
