"""The README's screenshots, taken from the shipped models (models/ and the built ImageNet model in .cache).

A normal run takes them into a scratch folder, so the pages are checked and tracked files stay
as they are; `make screenshots` (this file with `--update-screenshots`) writes them to
docs/screenshots/.
"""

import re

import pytest

from imgrec import datasets, images, paths
from tests.e2e.test_languages_e2e import README_SCREENSHOTS as LANGUAGE_SCREENSHOTS
from tests.e2e.test_trust_e2e import README_SCREENSHOTS as TRUST_SCREENSHOTS
from tests.support.browser import click_confusion_cell, find_a_dot, screenshot_at, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def readme_screenshots():
    """The file names of the screenshots the README shows."""
    readme = (paths.REPO_ROOT / "README.md").read_text()
    return set(re.findall(r"\(docs/screenshots/([\w-]+\.png)\)", readme))


def shows_a_shipped_model(tab):
    """The sidebar describes a shipped model with its measured accuracy (or error), never a test fixture."""
    sidebar = tab.get_by_test_id("stSidebar").inner_text()
    assert "for tests" not in sidebar and "tiny-" not in sidebar
    assert re.search(r"\d+\.\d% accuracy on |reconstruction error \d\.\d+ ", sidebar), sidebar


def most_frequent_mistake(name):
    """The (true, predicted) classes of the cell off the diagonal that holds the most test images of a model."""
    import numpy as np

    from imgrec import inference, registry

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("IMGREC_MODELS_DIR", raising=False)
        model = registry.load(name).model
    data = datasets.load("mnist")
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (data.y_test, inference.predict_probabilities(model, data.x_test).argmax(axis=1)), 1)
    np.fill_diagonal(counts, 0)
    return tuple(int(index) for index in np.unravel_index(int(np.argmax(counts)), counts.shape))


def scroll_to(tab, selector, offset=0):
    """Scrolls the main area so the element `selector` starts `offset` pixels below the header bar."""
    main = tab.locator("[data-testid='stMain']")
    target = tab.locator(selector).first
    target.wait_for()
    main.evaluate("(element, target) => element.scrollBy(0, target.getBoundingClientRect().top - 80)",
                  target.element_handle())
    if offset:
        main.evaluate(f"element => element.scrollBy(0, {offset})")
    tab.wait_for_timeout(300)


def click_a_dot(tab, selector):
    tab.mouse.click(*find_a_dot(tab, selector))
    wait_for_app(tab)


def hover_a_dot(tab, selector):
    find_a_dot(tab, selector)
    tab.wait_for_timeout(300)


def test_the_readme_screenshots_show_the_shipped_models(shipped_server, page, readme_folder, tmp_path):
    taken = []
    page.goto(shipped_server + "/")
    wait_for_app(page)
    page.get_by_text("How does a computer recognise an image?").wait_for()
    taken.append(screenshot_at(page, readme_folder / "home-1.png"))

    photo = tmp_path / "coffee.png"
    photo.write_bytes(images.encode_png(datasets.load_sample("photos-coffee")))
    page.goto(shipped_server + "/predict?model=imagenet-efficientnet-lite0")
    wait_for_app(page)
    page.get_by_test_id("stButtonGroup").locator("button").filter(has_text="Upload").click()
    wait_for_app(page)
    page.locator("input[type=file]").set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text("Grad-CAM for espresso").wait_for()
    shows_a_shipped_model(page)
    taken.append(screenshot_at(page, readme_folder / "predict-1.png"))
    taken.append(screenshot_at(page, readme_folder / "predict-2.png", "Why this class?"))

    page.goto(shipped_server + "/feature-maps?model=mnist-cnn&sample=mnist-03")
    wait_for_app(page)
    page.locator(".st-key-arith-products [data-testid='stPlotlyChart']").wait_for()
    page.get_by_text("Keras computed").wait_for()  # The sum, in a code block that renders last.
    shows_a_shipped_model(page)
    taken.append(screenshot_at(page, readme_folder / "feature-maps-3.png", "Check one number by hand"))

    page.goto(shipped_server + "/attention?model=mnist-vit&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("How far does each head look?", exact=True).wait_for()
    shows_a_shipped_model(page)
    taken.append(screenshot_at(page, readme_folder / "attention-2.png", "The image, cut into patches"))

    page.goto(shipped_server + "/filters?model=mnist-cnn")
    wait_for_app(page)
    page.get_by_text("filter 31", exact=True).wait_for()
    shows_a_shipped_model(page)
    scroll_to(page, ".st-key-filters-grid", offset=-90)
    taken.append(screenshot_at(page, readme_folder / "filters-1.png", scrolled=True))

    page.goto(shipped_server + "/data-map?model=mnist-cnn")
    wait_for_app(page)
    page.get_by_text("t-SNE", exact=True).click()
    wait_for_app(page)
    scroll_to(page, ".st-key-data-map")
    click_a_dot(page, ".st-key-data-map")
    page.get_by_text(re.compile(r"^Test image \d+: true")).wait_for()
    hover_a_dot(page, ".st-key-data-map")
    shows_a_shipped_model(page)
    taken.append(screenshot_at(page, readme_folder / "data-map-1.png", scrolled=True))

    page.goto(shipped_server + "/models?model=mnist-cnn")
    wait_for_app(page)
    page.get_by_role("tab", name=re.compile("Mistakes")).click()
    wait_for_app(page)
    true, predicted = most_frequent_mistake("mnist-cnn")
    click_confusion_cell(page, "models-confusion", true, predicted, classes=10)
    page.get_by_text(f"True {true}, predicted {predicted}:").wait_for()
    page.locator("[data-testid='stImage'] img").first.wait_for()
    scroll_to(page, ".st-key-models-confusion", offset=200)
    taken.append(screenshot_at(page, readme_folder / "mistakes-1.png", scrolled=True))

    page.goto(shipped_server + "/models?model=mnist-autoencoder")
    wait_for_app(page)
    page.get_by_role("tab", name=re.compile("Reconstructions")).click()
    wait_for_app(page)
    page.get_by_text("Walking the latent space", exact=True).wait_for()
    wait_for_app(page)
    shows_a_shipped_model(page)
    taken.append(screenshot_at(page, readme_folder / "autoencoder-2.png", "Walking the latent space"))

    page.goto(shipped_server + "/train")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").wait_for()
    page.get_by_role("spinbutton", name="Epochs").wait_for()  # The form's widgets, not their placeholders.
    taken.append(screenshot_at(page, readme_folder / "train-form-1.png"))

    # The trust panel's screenshots are taken by tests/e2e/test_trust_e2e.py, the languages' by test_languages_e2e.py.
    assert readme_screenshots() and readme_screenshots() <= {path.name for path in taken} | TRUST_SCREENSHOTS \
        | LANGUAGE_SCREENSHOTS
