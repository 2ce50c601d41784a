"""Keyboard only, in headless Chromium: Tab reaches the main controls of /learn and /predict, and no element
holds the focus (a trap would keep it on one element however often Tab is pressed)."""

import pytest

from tests.support.browser import wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PRESSES = 120
# What has the focus, in words: its role or tag, and its label or text.
FOCUSED = """() => {
  const element = document.activeElement;
  const label = element.getAttribute('aria-label') || (element.labels && element.labels[0] && element.labels[0].innerText)
    || element.innerText || element.value || '';
  // A number per element, so two unlabelled elements in a row are told apart from one that keeps the focus.
  window.focusNumbers = window.focusNumbers || new WeakMap();
  window.focusCount = window.focusCount || 0;
  if (!window.focusNumbers.has(element)) window.focusNumbers.set(element, ++window.focusCount);
  return (element.getAttribute('role') || element.tagName.toLowerCase()) + ': ' + label.trim().slice(0, 60)
    + ' #' + window.focusNumbers.get(element);
}"""


def tab_through(tab):
    """Presses Tab PRESSES times; returns what had the focus after each press."""
    tab.evaluate("() => document.activeElement && document.activeElement.blur()")  # From the top of the page.
    seen = []
    for _ in range(PRESSES):
        tab.keyboard.press("Tab")
        seen.append(tab.evaluate(FOCUSED))
    return seen


def assert_no_trap(seen):
    runs = [1]
    for before, after in zip(seen, seen[1:], strict=False):
        runs.append(runs[-1] + 1 if after == before else 1)
    # A trap keeps the focus for good. Edit and compare's drawing canvas (a component in a frame, with no label)
    # holds it for three presses, then lets go.
    assert max(runs) <= 4, seen
    assert len(set(seen)) >= 10, seen
    labels = [focused.rsplit(" #", 1)[0] for focused in seen]
    assert labels[0] in labels[1:], seen  # The focus went round the whole page and came back to the start.


def reached(seen, *texts):
    for text in texts:
        assert any(text in focused for focused in seen), (text, seen)


def test_tab_reaches_the_lesson_controls(shipped_server, page):
    page.goto(f"{shipped_server}/learn?lesson=pixels&step=2")
    wait_for_app(page)
    page.get_by_role("heading", name="Clothes are numbers too").wait_for()
    seen = tab_through(page)
    reached(seen, "Open this view on Predict", "Back", "Next", "Lesson", "Predict", "Feature maps")
    assert_no_trap(seen)


def test_tab_reaches_the_main_controls_of_predict(shipped_server, page):
    page.goto(f"{shipped_server}/predict?model=mnist-cnn&sample=mnist-00")
    wait_for_app(page)
    page.get_by_role("heading", name="Why this class?").wait_for()
    seen = tab_through(page)
    # A segmented control (Samples, Upload...) is one stop, its options chosen with the arrow keys; the top-k
    # chart's bars have a keyboard twin in "Explain the class".
    reached(seen, "Samples", "combobox: Sample", "Explain the class", "Grad-CAM", "Heatmap opacity", "Heatmap colours",
            "Check this heatmap")
    assert_no_trap(seen)
