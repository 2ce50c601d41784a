"""The app in a real browser: pages load, an upload is recognised and explained, nothing raises."""

import pytest

from imgrec import datasets, images
from tests.support.browser import screenshot, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def charts(tab, at_least=0):
    """The Plotly charts on the page, after waiting for the first `at_least` (they load lazily)."""
    found = tab.locator("[data-testid='stPlotlyChart']")
    if at_least:
        found.nth(at_least - 1).wait_for()
    return found


def test_home_links_to_the_pages(tiny_server, page, debug_screenshots):
    page.goto(tiny_server + "/")
    wait_for_app(page)
    page.get_by_text("How does a computer recognise an image?").wait_for()
    assert page.locator("[data-testid='stPageLink']").count() >= 3
    no_exception(page)
    screenshot(page, debug_screenshots, "home")


def test_predict_recognises_an_uploaded_photo_and_explains_it(tiny_server, page, debug_screenshots, tmp_path):
    photo = tmp_path / "coffee.png"
    photo.write_bytes(images.encode_png(datasets.load_sample("photos-coffee")))
    # A deep link as a teacher would share it; the first request to this server, so it also
    # checks that a page reached directly still runs under the app's navigation.
    page.goto(tiny_server + "/predict?model=imagenet-efficientnet-lite0")
    wait_for_app(page)
    assert "Feature maps" in page.get_by_test_id("stSidebarNav").inner_text()
    page.get_by_test_id("stButtonGroup").locator("button").filter(has_text="Upload").click()
    wait_for_app(page)
    page.locator("input[type=file]").set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text("Grad-CAM for espresso").wait_for()
    assert "espresso" in charts(page, 2).first.inner_text()  # the top-k bars name it
    assert charts(page).count() == 2
    no_exception(page)
    screenshot(page, debug_screenshots, "predict")
    # Clicking the second bar explains that class instead of the winner.
    second = charts(page).first.locator("g.point path").nth(1)
    second.click(force=True)
    wait_for_app(page)
    selector = page.get_by_test_id("stSelectbox").filter(has_text="Explain the class").locator("input")
    assert not selector.input_value().startswith("espresso")
    no_exception(page)


def test_feature_maps_and_attention_show_their_charts(tiny_server, page, debug_screenshots):
    page.goto(tiny_server + "/feature-maps?model=tiny-cnn&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("Check one number by hand", exact=True).wait_for()
    # For a convolution: the maps, one channel, window x kernel = products, and the kernels; each keyed.
    for key in ("maps-chart", "zoom-chart", "arith-patch", "arith-kernel", "arith-products", "kernels-chart"):
        page.locator(f".st-key-{key} [data-testid='stPlotlyChart']").wait_for()
    assert charts(page).count() == 6
    no_exception(page)
    screenshot(page, debug_screenshots, "feature-maps", screens=4)
    page.goto(tiny_server + "/attention?model=tiny-vit&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("How far does each head look?", exact=True).wait_for()
    # The patches, one head up close, every head, the rollout and the heads' distances.
    assert charts(page, 5).count() == 5
    no_exception(page)
    screenshot(page, debug_screenshots, "attention", screens=4)
