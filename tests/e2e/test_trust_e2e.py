"""The trust panel and edit-and-compare in a real browser: checked on request, painted with the mouse."""

import re

import pytest

from tests.support import server
from tests.support.browser import wait_for_app

pytestmark = pytest.mark.e2e

# The README's screenshots these tests take (`make screenshots` writes them to docs/screenshots/).
README_SCREENSHOTS = {"trust-panel.png", "trust-randomisation.png", "edit-and-compare.png", "shapes-localisation.png"}

# The first words of every verdict the panel can give.
VERDICT = re.compile("Trustworthy on both checks|Partly trustworthy|Doubtful|Not trustworthy here|Hard to judge")


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def screenshot_at(tab, locator, folder, name):
    """Scrolls Streamlit's main area so `locator` is near the top of a 1280x800 window, then saves folder/NAME.png."""
    main = tab.locator("[data-testid='stMain']")
    offset = locator.evaluate("(element) => element.getBoundingClientRect().top")
    main.evaluate(f"(element) => element.scrollBy(0, {offset} - 70)")
    tab.wait_for_timeout(500)
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / f"{name}.png"))


def test_trust_panel_and_edit_and_compare_on_a_photo(shipped_server, page, readme_folder):
    page.goto(shipped_server + "/predict?model=imagenet-efficientnet-lite0&sample=photos-coffee")
    wait_for_app(page)
    page.get_by_text("Grad-CAM for espresso").wait_for()
    # The heatmap is on screen and nothing is checked yet.
    assert page.get_by_text("Deletion", exact=False).count() == 0
    page.get_by_role("button", name="Check this heatmap").first.click()
    wait_for_app(page, timeout=180_000)
    verdicts = page.locator("[data-testid='stAlert']").filter(has_text=VERDICT)
    verdicts.first.wait_for()
    assert verdicts.count() == 1 and verdicts.first.inner_text().strip().endswith(".")
    panel = page.locator("[data-testid='stPlotlyChart']").filter(has_text="Insertion")
    assert "random" in panel.inner_text() and "Image removed (%)" in panel.inner_text()
    assert page.get_by_text("trained model", exact=True).count() == 1
    no_exception(page)
    screenshot_at(page, page.get_by_text("Can you trust this heatmap?"), readme_folder, "trust-panel")
    screenshot_at(page, page.get_by_text("Scrambling the model, from the output down"), readme_folder, "trust-randomisation")

    # Open the canvas, then paint a grey band across the cup, on the model's view.
    page.get_by_text("Paint over the image").click()
    wait_for_app(page)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.6 * step / 12), box["y"] + box["height"] * 0.5, steps=2)
    page.mouse.up()
    wait_for_app(page)
    page.get_by_text("Probability of espresso after the edit").wait_for()
    assert page.get_by_text("What speaks for espresso").count() == 2  # The original's heatmap and the edit's.
    assert page.get_by_role("button", name="Pin this edit as the original").count() == 1
    no_exception(page)
    screenshot_at(page, page.get_by_text("Edit and compare", exact=True), readme_folder, "edit-and-compare")
    # The edited image is checked like any other.
    page.get_by_role("button", name="Check this heatmap").nth(1).click()
    wait_for_app(page, timeout=180_000)
    page.get_by_text("Can you trust the edited image's heatmap?").wait_for()
    assert verdicts.count() == 2
    no_exception(page)


@pytest.fixture(scope="module")
def shapes_server(chromium, tmp_path_factory):
    """An app server whose registry holds the shipped shapes-cnn (copied from models/)."""
    import os
    import shutil

    models = tmp_path_factory.mktemp("e2e-shapes-models")
    for suffix in (".keras", ".json"):
        shutil.copy(server.REPO / "models" / f"shapes-cnn{suffix}", models)
    log_path = tmp_path_factory.mktemp("e2e-shapes-log") / "streamlit.log"
    env = {**os.environ, "IMGREC_MODELS_DIR": str(models), "PYTHONPATH": str(server.REPO)}
    with server.streamlit_server(env, log_path, startup_timeout=30, stop_timeout=5) as url:
        yield url


def test_the_shapes_model_scores_every_explainer_against_the_outlines(shapes_server, page, readme_folder):
    page.goto(shapes_server + "/predict?model=shapes-cnn&sample=shapes-01")
    wait_for_app(page)
    page.get_by_text("Grad-CAM for circle").wait_for()  # Test shape 1 is a circle.
    page.get_by_text("Which explainer finds the shape?", exact=False).click()
    page.get_by_role("button", name="Score every explainer").click()
    wait_for_app(page, timeout=300_000)
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for()
    no_exception(page)
    screenshot_at(page, page.get_by_text("Which explainer finds the shape?", exact=False), readme_folder, "shapes-localisation")
