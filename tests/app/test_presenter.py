"""Presenter mode through AppTest: `?present=1` styles every page for a projector, stays on from page to page
and in every link the app writes, and `?present=0` turns it off."""

import urllib.parse

import pytest

from pages._ui import presenter
from tests.support.apptest import open_page

pytestmark = pytest.mark.filterwarnings("ignore")
# Each page with a link that gives it something to show (the tiny registry's models).
PAGES = {
    None: {},
    "pages/learn.py": {"lesson": "pooling", "step": "2"},
    "pages/predict.py": {"model": "tiny-cnn", "sample": "mnist-04"},
    "pages/feature_maps.py": {"model": "tiny-cnn", "sample": "mnist-04", "layer": "conv1"},
    "pages/attention.py": {"model": "tiny-vit", "sample": "mnist-04"},
    "pages/train.py": {"tab": "new"},
    "pages/models.py": {"model": "tiny-cnn", "tab": "card"},
    "pages/filters.py": {"model": "tiny-cnn"},
    "pages/data_map.py": {"model": "tiny-cnn"},
}


def styled(at):
    """Whether the page carries presenter mode's style sheet."""
    return any(presenter.STYLE.strip() in element.proto.body for element in at.get("html"))


def address(at):
    return {name: value[-1] if isinstance(value, list) else value for name, value in at.query_params.items()}


@pytest.mark.parametrize("page", list(PAGES), ids=lambda page: page or "home")
def test_every_page_presents_and_keeps_present_in_its_address(app, page):
    at = open_page(app, page, present="1", **PAGES[page])
    assert styled(at) and not at.error and not at.warning
    assert address(at)["present"] == "1"
    assert {name: address(at).get(name) for name in PAGES[page]} == PAGES[page]  # The view is restored as ever.


def test_without_present_a_page_is_as_before(app):
    at = open_page(app, "pages/predict.py", **PAGES["pages/predict.py"])
    assert not styled(at) and "present" not in address(at)


def test_the_mode_stays_on_across_pages_and_in_the_links_the_app_shows_until_present_0(app):
    at = open_page(app, "pages/learn.py", present="1", lesson="pixels", step="1")
    [link] = [element.proto for element in at.get("page_link")]
    assert dict(urllib.parse.parse_qsl(link.query_string))["present"] == "1"
    at.query_params.clear()  # The menu's links carry no parameters.
    at.switch_page("pages/models.py").run()
    assert styled(at) and address(at)["present"] == "1"
    at.query_params.clear()
    at.switch_page("pages/home.py").run()  # Home: the gallery's links keep the mode.
    gallery = [dict(urllib.parse.parse_qsl(element.proto.query_string)) for element in at.get("page_link")]
    assert [query["present"] for query in gallery if "sample" in query] and all(
        query["present"] == "1" for query in gallery if "sample" in query)
    at.query_params["present"] = "0"
    at.switch_page("pages/train.py").run()
    assert not styled(at) and "present" not in address(at)
