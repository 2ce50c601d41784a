"""What a model learned, in a real browser: a click on a confusion cell, hover and click on the data map, the filters."""

import re

import numpy as np
import pytest

from imgrec import datasets, inference, registry
from tests.support.browser import click_confusion_cell, find_a_dot, screenshot, wait_for_app
from tests.support.registries import registry_at

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def test_clicking_a_confusion_cell_opens_exactly_its_images(tiny_server, tiny_registry, page, debug_screenshots):
    with registry_at(tiny_registry):
        model = registry.load("tiny-cnn").model
    data = datasets.load("mnist")
    predicted = inference.predict_probabilities(model, data.x_test).argmax(axis=1)
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (data.y_test, predicted), 1)
    np.fill_diagonal(counts, 0)
    true, guess = map(int, np.unravel_index(int(np.argmax(counts)), counts.shape))
    page.goto(tiny_server + "/models?model=tiny-cnn")
    wait_for_app(page)
    page.get_by_role("tab", name=re.compile("Mistakes")).click()
    wait_for_app(page)
    click_confusion_cell(page, "models-confusion", true, guess, classes=10)
    heading = f"True {true}, predicted {guess}: {counts[true, guess]:,} test image"
    page.get_by_text(heading).wait_for()
    shown = page.locator("[data-testid='stImage']")
    shown.nth(min(12, counts[true, guess]) - 1).wait_for()  # Drawn once the workers have explained them.
    assert shown.count() == min(12, counts[true, guess])
    no_exception(page)
    screenshot(page, debug_screenshots, "confusion-cell", screens=3)


def test_the_data_map_shows_an_image_on_hover_and_opens_it_on_click(tiny_server, page, debug_screenshots):
    page.goto(tiny_server + "/data-map?model=tiny-cnn")
    wait_for_app(page)
    found = find_a_dot(page, ".st-key-data-map")
    tooltip = page.locator("#vg-tooltip-element")
    assert tooltip.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    index = int(re.search(r"test image\s*(\d+)", tooltip.inner_text()).group(1))
    screenshot(page, debug_screenshots, "data-map-hover", screens=1)
    page.mouse.click(*found)
    wait_for_app(page)
    page.get_by_text(re.compile(rf"^Test image {index}: true")).wait_for()
    assert page.locator("[data-testid='stImage']").count() == 1
    no_exception(page)
    screenshot(page, debug_screenshots, "data-map-click", screens=1)


def test_the_filters_page_pictures_a_layer(tiny_server, page, debug_screenshots):
    page.goto(tiny_server + "/filters?model=tiny-cnn")
    wait_for_app(page)
    page.get_by_text("filter 31", exact=True).wait_for()
    no_exception(page)
    screenshot(page, debug_screenshots, "filters", screens=2)
