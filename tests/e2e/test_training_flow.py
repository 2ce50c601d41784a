"""The training studio in a real browser: start a tiny run, watch it, save it, find it on /models, predict with it."""

import pytest

from tests.support import reports
from tests.support.browser import screenshot, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODEL_NAME = "e2e-mnist"
RUN_TIMEOUT_MS = 240_000  # A worker loads TensorFlow, trains and evaluates on 10,000 images; slow on a busy 2-core box.


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def set_number(tab, label, value):
    box = tab.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(tab)


def test_a_tiny_run_from_the_form_to_a_prediction(tiny_server, page, debug_screenshots, chromium_browser, tmp_path):
    page.goto(tiny_server + "/train")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").wait_for()
    set_number(page, "Training samples (0 = all)", 300)
    set_number(page, "Epochs", 1)
    set_number(page, "Batch size", 16)
    screenshot(page, debug_screenshots, "train-form", screens=1)
    page.get_by_role("button", name="Start training").click()
    wait_for_app(page)
    # The live view: the run's header and its cancel button while it is queued, starting or training.
    page.get_by_text("Run 2").first.wait_for()
    assert "run=" in page.url
    live = page.get_by_role("button", name="Cancel run")
    if live.count():
        screenshot(page, debug_screenshots, "train-live", screens=1)
    # The curve appears (live, or with the results if the run was quicker than a poll), then the results.
    page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=RUN_TIMEOUT_MS)
    page.get_by_test_id("stMetric").filter(has_text="Test accuracy").wait_for(timeout=RUN_TIMEOUT_MS)
    page.get_by_text("Mistakes:").wait_for(timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 4  # curves, confusion, per class, ROC
    no_exception(page)
    screenshot(page, debug_screenshots, "train-results", screens=4)
    # The results as a report that opens without the app or a network.
    run_report = reports.download(page, tmp_path / "run")
    reports.assert_opens_offline(chromium_browser, run_report, "Training run", "Confusion matrix", "Mistakes:")
    # Save it under a name; it is listed on /models at once.
    name_box = page.get_by_role("textbox", name="Model name")
    name_box.fill(MODEL_NAME)
    page.get_by_role("button", name="Save as a model").click()
    wait_for_app(page)
    page.get_by_text(f"Saved as {MODEL_NAME}").wait_for()
    no_exception(page)
    page.get_by_test_id("stPageLink").filter(has_text="See it on Models").click()
    wait_for_app(page)
    page.get_by_text("Every model this server knows").wait_for()
    # The page opens on the model just saved: its title is "cnn on mnist" (the tiny models' are "Tiny ...").
    page.get_by_role("heading", name="cnn on mnist").wait_for()
    no_exception(page)
    screenshot(page, debug_screenshots, "models-saved", screens=1)
    card_report = reports.download(page, tmp_path / "card")
    reports.assert_opens_offline(chromium_browser, card_report, "cnn on mnist", "Training", with_images=False)
    # And predict with it: the session's chosen model follows to /predict.
    page.get_by_test_id("stSidebarNav").get_by_text("Predict").click()
    wait_for_app(page)
    page.get_by_text("Grad-CAM for").first.wait_for()
    assert f"model={MODEL_NAME}" in page.url
    no_exception(page)
    screenshot(page, debug_screenshots, "predict-saved", screens=1)
