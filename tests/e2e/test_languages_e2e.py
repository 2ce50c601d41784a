"""The app in Chinese and English in a real browser: the browser's locale picks the language, `?lang=` overrides
it and travels, the sidebar's switch changes it; and the README's screenshots of every page in Chinese, of /learn
and of presenter mode, taken from the shipped models.

The Chinese screenshots need a CJK font on the machine (`make browser` installs fonts-wqy-microhei): without
one, Chromium draws every character as a box, and this test fails saying so.
"""

import re
import subprocess

import pytest

from tests.support.browser import screenshot_at, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CJK = re.compile(r"[\u4e00-\u9fff]")
# Each page in Chinese, as a link opens it on the shipped models: (address, screenshot).
CHINESE_PAGES = (
    ("/?lang=zh-CN", "zh-home.png"),
    ("/learn?lesson=convolution&step=2&lang=zh-CN", "zh-learn.png"),
    ("/predict?model=mnist-cnn&sample=mnist-03&lang=zh-CN", "zh-predict.png"),
    ("/feature-maps?model=mnist-cnn&sample=mnist-03&lang=zh-CN", "zh-feature-maps.png"),
    ("/attention?model=mnist-vit&sample=mnist-03&lang=zh-CN", "zh-attention.png"),
    ("/filters?model=mnist-cnn&lang=zh-CN", "zh-filters.png"),
    ("/data-map?model=mnist-cnn&lang=zh-CN", "zh-data-map.png"),
    ("/train?lang=zh-CN", "zh-train.png"),
    ("/models?model=mnist-cnn&lang=zh-CN", "zh-models.png"),
)
README_SCREENSHOTS = {name for _, name in CHINESE_PAGES} | {"learn-1.png", "presenter-predict.png"}


def menu(tab):
    """The menu's page titles, in order."""
    return [text.strip() for text in tab.get_by_test_id("stSidebarNav").locator("span").all_inner_texts()
            if text.strip()]


def heading(tab):
    return tab.get_by_role("heading", level=1).first.inner_text()


def test_the_browsers_locale_picks_chinese_a_link_overrides_it_and_the_switch_changes_it(chromium_browser,
                                                                                         shipped_server):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(shipped_server + "/predict?model=mnist-cnn&sample=mnist-03")
        wait_for_app(tab)
        assert "预测" in menu(tab) and CJK.search(heading(tab))
        assert "lang=zh-CN" in tab.url  # It travels in the link this visitor shares.

        tab.goto(shipped_server + "/predict?model=mnist-cnn&sample=mnist-03&lang=en")
        wait_for_app(tab)
        assert "Predict" in menu(tab) and not CJK.search(heading(tab))
        assert "lang=" not in tab.url

        tab.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
        wait_for_app(tab)
        assert "预测" in menu(tab) and CJK.search(heading(tab))
        assert "lang=zh-CN" in tab.url and "model=mnist-cnn" in tab.url  # The view stays.
    finally:
        context.close()


def test_every_page_in_chinese_and_the_readme_screenshots(shipped_server, page, readme_folder, request):
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    assert fonts.strip(), "No CJK font: install fonts-wqy-microhei (make browser) or the Chinese pages show boxes."
    for address, name in CHINESE_PAGES:
        page.goto(shipped_server + address)
        wait_for_app(page)
        if request.config.getoption("--update-screenshots"):
            page.wait_for_timeout(1500)  # Charts arrive after the run: let them draw for the README's picture.
            wait_for_app(page)
        assert not page.get_by_test_id("stException").count(), address
        assert CJK.search(heading(page)), (address, heading(page))
        assert "预测" in menu(page), address
        screenshot_at(page, readme_folder / name)

    page.goto(shipped_server + "/learn?lesson=convolution&step=2")
    wait_for_app(page)
    page.get_by_text("Step 2 of", exact=False).first.wait_for()
    screenshot_at(page, readme_folder / "learn-1.png")

    page.goto(shipped_server + "/predict?model=mnist-cnn&sample=mnist-03&present=1")
    wait_for_app(page)
    page.get_by_text("Grad-CAM for").first.wait_for()
    page.wait_for_timeout(1000)
    screenshot_at(page, readme_folder / "presenter-predict.png")
