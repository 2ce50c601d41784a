"""The app in a real browser: pages load, an upload is recognised and explained, nothing raises."""

import pytest

from imgrec import datasets, images
from tests.e2e.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def charts(tab):
    return tab.locator("[data-testid='stPlotlyChart']")


def test_home_links_to_the_pages(server, page):
    page.goto(server + "/")
    wait_for_app(page)
    page.get_by_text("How does a computer recognise an image?").wait_for()
    assert page.locator("[data-testid='stPageLink']").count() >= 3
    no_exception(page)
    screenshot(page, "home")


def test_predict_recognises_an_uploaded_photo_and_explains_it(server, page, tmp_path):
    photo = tmp_path / "cat.png"
    photo.write_bytes(images.encode_png(datasets.load_sample("photos-chelsea")))
    page.goto(server + "/predict?model=imagenet-efficientnet-lite0")
    wait_for_app(page)
    page.get_by_role("radio", name="Upload").or_(page.get_by_text("Upload", exact=True)).first.click()
    wait_for_app(page)
    page.locator("input[type=file]").set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text("Grad-CAM for").first.wait_for()
    assert "cat" in page.locator("[data-testid='stSelectbox']").filter(has_text="Explain the class").inner_text()
    assert charts(page).count() >= 2
    no_exception(page)
    screenshot(page, "predict")


def test_feature_maps_and_attention_show_their_charts(server, page):
    page.goto(server + "/feature-maps?model=tiny-cnn&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("Check one number by hand").wait_for()
    assert charts(page).count() >= 4
    no_exception(page)
    screenshot(page, "feature-maps")
    page.goto(server + "/attention?model=tiny-vit&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("How far does each head look?").wait_for()
    assert charts(page).count() >= 4
    no_exception(page)
    screenshot(page, "attention")
