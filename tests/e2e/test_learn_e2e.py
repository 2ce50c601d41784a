"""A lesson walked end to end in headless Chromium at 1280x800 on the shipped models, and presenter mode as a
projector shows it: screenshots of /learn (in English and Chinese) and of a page in presenter mode."""

import pytest

from pages._ui import lessons
from tests.support.browser import screenshot, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LESSON = next(lesson for lesson in lessons.load_lessons()[0] if lesson.id == "convolution")


def clean(tab):
    """No exception, and no sentence about a link's value the page could not show."""
    assert tab.get_by_test_id("stException").count() == 0
    assert tab.get_by_test_id("stAlertContentWarning").count() == 0


def test_a_lesson_walked_step_by_step_opens_each_view_and_comes_back_through_the_menu(shipped_server, page, debug_screenshots):
    page.goto(f"{shipped_server}/learn?lesson={LESSON.id}&step=1")
    wait_for_app(page)
    for number, step in enumerate(LESSON.steps, start=1):
        page.get_by_role("heading", name=step.title["en"]).wait_for()
        page.get_by_text(f"Step {number} of {len(LESSON.steps)}").wait_for()
        clean(page)
        if number == 1:
            screenshot(page, debug_screenshots, "learn", screens=1)
        page.get_by_role("link", name="Open this view on Feature maps").click()
        wait_for_app(page)
        page.get_by_role("heading", name="Feature maps", exact=True).wait_for()
        clean(page)
        assert f"layer={step.link['layer']}" in page.url
        # Back through the menu (the browser's back button steps through the page's own views first).
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Learn").click()
        wait_for_app(page)
        page.get_by_role("heading", name=step.title["en"]).wait_for()
        assert f"step={number}" in page.url
        if number < len(LESSON.steps):
            page.get_by_role("button", name="Next").click()
            wait_for_app(page)
    assert page.get_by_role("button", name="Next").is_disabled()


def test_the_lesson_text_in_chinese(shipped_server, page, debug_screenshots):
    page.goto(f"{shipped_server}/learn?lesson=pooling&step=1&lang=zh-CN")
    wait_for_app(page)
    page.get_by_role("heading", name="最大池化：四个数里取最大").wait_for()
    screenshot(page, debug_screenshots, "learn-zh-CN", screens=1)


def test_presenter_mode_reads_from_the_back_of_the_room(shipped_server, page, debug_screenshots):
    page.goto(f"{shipped_server}/predict?present=1&model=mnist-cnn&sample=mnist-00")
    wait_for_app(page)
    page.get_by_role("heading", name="Why this class?").wait_for()
    clean(page)
    # The style arrives with the script's elements; on a busy server the heading can be drawn a moment before it.
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'", timeout=30_000)
    assert page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true"
    assert not page.get_by_test_id("stMainMenu").is_visible()
    assert "present=1" in page.url
    screenshot(page, debug_screenshots, "presenter-predict", screens=2)
    page.get_by_test_id("stExpandSidebarButton").click()  # Collapsed, not gone: the model picker is a click away.
    page.get_by_test_id("stSidebar").get_by_text("Model", exact=True).wait_for()
