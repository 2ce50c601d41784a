"""Reports in a real browser cut off from the network: from the command and downloaded from the app, on screen and on A4."""

import re

import pytest

from imgrec import cli, datasets, registry, texts
from imgrec.report import text
from tests.support import images, reports
from tests.support.browser import wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def section_count(path):
    return len(re.findall(r"<section id=", path.read_text(encoding="utf-8")))


@pytest.fixture
def tiny_models(tiny_registry, monkeypatch):
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tiny_registry))
    return tiny_registry


def test_a_report_from_the_command_opens_offline_and_prints_a_section_a_page(tiny_models, chromium_browser,
                                                                               tmp_path, capsys):
    digit = images.write_png(tmp_path / "seven.png", datasets.load_sample("mnist-00"))
    prediction = tmp_path / "seven.html"
    assert cli.main(["report", "--model", "tiny-cnn", "--method", "gradcam", "--output", str(prediction),
                     str(digit)]) == 0
    card = tmp_path / "card.html"
    assert cli.main(["report", "--model", "tiny-cnn", "--output", str(card)]) == 0
    capsys.readouterr()
    top = registry.load("tiny-cnn").top_k(datasets.load_sample("mnist-00"), 5)
    reports.assert_opens_offline(chromium_browser, prediction, "seven.png", "Grad-CAM for", *(item.label for item in top))
    assert section_count(prediction) == 3
    reports.assert_prints_on_a4(chromium_browser, prediction, 3)
    # The card of a model without a training history or metrics: three short sections, a page each.
    reports.assert_opens_offline(chromium_browser, card, "Tiny cnn for tests", "tiny-cnn", with_images=False)
    assert section_count(card) == 3
    reports.assert_prints_on_a4(chromium_browser, card, 3)


def test_a_chinese_report_and_an_autoencoder_run_s_report_open_offline_and_print_on_a4(tiny_models, chromium_browser,
                                                                                       tmp_path, capsys, monkeypatch):
    chinese = texts.Texts("zh-CN")
    digit = images.write_png(tmp_path / "seven.png", datasets.load_sample("mnist-00"))
    prediction = tmp_path / "seven-zh.html"
    assert cli.main(["report", "--model", "tiny-cnn", "--method", "gradcam", "--lang", "zh-CN",
                     "--output", str(prediction), str(digit)]) == 0
    reports.assert_opens_offline(chromium_browser, prediction, chinese("report.prediction"),
                                 chinese("report.top_classes"), "的 Grad-CAM")
    reports.assert_prints_on_a4(chromium_browser, prediction, 3)
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")
    run_id = reports.finished_run(reports.TINY_AUTOENCODER_RUN)
    run = tmp_path / "run-zh.html"
    assert cli.main(["report", "--run", run_id, "--lang", "zh-CN", "--output", str(run)]) == 0
    capsys.readouterr()
    reports.assert_opens_offline(chromium_browser, run, chinese("report.reconstruction"), chinese("report.rebuilt"),
                                 chinese("report.test_error"))
    assert section_count(run) == 4
    reports.assert_prints_on_a4(chromium_browser, run, 4)


def test_a_report_downloaded_from_predict_opens_offline(tiny_server, tiny_models, page, tmp_path, chromium_browser):
    page.goto(tiny_server + "/predict?model=tiny-cnn&sample=mnist-03")
    wait_for_app(page)
    page.get_by_text("Grad-CAM for", exact=False).first.wait_for()
    path = reports.download(page, tmp_path)
    assert re.fullmatch(r"report-tiny-cnn-[\w.-]+\.html", path.name), path.name
    assert page.locator("[data-testid='stException']").count() == 0
    top = registry.load("tiny-cnn").top_k(datasets.load_sample("mnist-03"), 5)
    title = next(sample.title for sample in datasets.samples() if sample.id == "mnist-03")
    reports.assert_opens_offline(chromium_browser, path, "tiny-cnn", title, "Grad-CAM for", text.ENGLISH("report.top_classes"),
                         text.ENGLISH("report.model_sees"), *(item.label for item in top))
    assert section_count(path) == 3
    reports.assert_prints_on_a4(chromium_browser, path, 3)
    assert "Can you trust" not in path.read_text(encoding="utf-8")
    # Once the page has checked the heatmap, the report shows the checks too.
    page.get_by_role("button", name="Check this heatmap").first.click()
    wait_for_app(page, timeout=180_000)
    # The verdict's words, without the name of its icon.
    verdict = page.locator("[data-testid='stAlert'] [data-testid='stMarkdownContainer']").first.inner_text().strip()
    checked = reports.download(page, tmp_path / "checked")
    reports.assert_opens_offline(chromium_browser, checked, "Can you trust the Grad-CAM heatmap for", verdict,
                         text.ENGLISH("report.scrambled"), text.ENGLISH("report.trained_model"))


def test_a_report_downloaded_from_predict_in_chinese_is_in_chinese(tiny_server, tiny_models, page, tmp_path):
    page.goto(tiny_server + "/predict?model=tiny-cnn&sample=mnist-03&lang=zh-CN&cmap=cividis")
    wait_for_app(page)
    page.locator("[data-testid='stPlotlyChart']").nth(1).wait_for()
    path = reports.download(page, tmp_path, label=texts.Texts("zh-CN")("report_ui.label"))
    html = path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in html
    for key in ("report.top_classes", "report.model_sees"):
        assert texts.Texts("zh-CN")(key) in html and texts.ENGLISH(key) not in html
