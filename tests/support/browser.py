"""Debian's Chromium for the browser tests and benchmarks: where it is, how to launch it, what to say when absent."""

import os
import pathlib

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium floods the closed network with refused connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# The app has finished a script run: wait for this after every action.
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Counts in `window.__imgrecUpdates` the script and fragment runs the page sees finish: the updates
# a viewer received (a run too quick to be seen as running still counts).
UPDATE_COUNTER = """
() => {
  window.__imgrecUpdates = 0;
  const app = document.querySelector("[data-testid='stApp']");
  let last = app.getAttribute("data-test-script-state");
  new MutationObserver(() => {
    const state = app.getAttribute("data-test-script-state");
    if (state === "notRunning" && last !== "notRunning") window.__imgrecUpdates += 1;
    last = state;
  }).observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
}
"""


def chromium_path():
    """Returns the Chromium binary to launch: `IMGREC_CHROMIUM` if set, else Debian's /usr/bin/chromium."""
    return pathlib.Path(os.environ.get("IMGREC_CHROMIUM") or DEFAULT_CHROMIUM)


def missing_chromium():
    """Returns why the browser tests cannot run and how to fix it, or `None` when Chromium is there."""
    path = chromium_path()
    if os.access(path, os.X_OK) and path.is_file():
        return None
    return (f"Chromium is missing at {path}, so the browser tests (tests/e2e) cannot run: install Debian's "
            "package (`sudo apt-get install chromium`; `make test` does it when run as root), or leave the "
            "browser tests out with `-m 'not e2e'` (as `make test-fast` does).")


def wait_for_app(tab, timeout=90_000):
    """Waits until the app has finished a script run (a rerun starts a moment after an action)."""
    tab.wait_for_timeout(300)
    tab.wait_for_selector(IDLE, timeout=timeout)


def screenshot(tab, folder, name, screens=3):
    """Saves what a 1280x800 window shows, screen by screen down the page: NAME-1.png, NAME-2.png... in `folder`.

    Streamlit scrolls its main area, not the page, so a full-page shot would stop at 800 pixels.

    Returns:
        The paths written, one per screen (fewer than `screens` when the page is shorter).
    """
    folder.mkdir(parents=True, exist_ok=True)
    main = tab.locator("[data-testid='stMain']")
    height = main.evaluate("element => element.scrollHeight")
    paths = []
    for index in range(screens):
        top = index * 700
        if index and top >= height - 100:
            break
        main.evaluate(f"element => element.scrollTo(0, {top})")
        tab.wait_for_timeout(300)
        paths.append(folder / f"{name}-{index + 1}.png")
        tab.screenshot(path=str(paths[-1]))
    main.evaluate("element => element.scrollTo(0, 0)")
    return paths


def screenshot_at(tab, path, heading=None, scrolled=False):
    """Saves one 1280x800 screen to `path`, with the main area scrolled so that `heading` sits at the top.

    Args:
        tab: the Playwright page.
        path: the PNG file to write.
        heading: the exact text of a heading on the page, or `None` for the top of the page.
        scrolled: keep the main area where it is (the caller scrolled it). Defaults to `False`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    main = tab.locator("[data-testid='stMain']")
    if heading is None and not scrolled:
        main.evaluate("element => element.scrollTo(0, 0)")
    elif not scrolled:
        target = tab.get_by_role("heading", name=heading, exact=True).element_handle()
        # 80 pixels: below Streamlit's fixed header bar, with a little air.
        main.evaluate("(element, target) => element.scrollBy(0, target.getBoundingClientRect().top - 80)", target)
    # Images come from the media endpoint after the script run has ended: wait until each is drawn.
    tab.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                          ".every(image => image.complete && image.naturalWidth > 0)")
    tab.wait_for_timeout(300)
    tab.screenshot(path=str(path))
    return path


def find_a_dot(tab, selector):
    """Moves the pointer over a Vega-Lite chart until its tooltip shows a picture (the pointer is on a dot).

    Args:
        tab: the Playwright page.
        selector: CSS selector of the element that holds the chart.

    Returns:
        The `(x, y)` page coordinates of the dot.

    Raises:
        AssertionError: no dot of the chart answered the pointer.
    """
    plot = tab.locator(f"{selector} canvas, {selector} svg.marks").first
    plot.wait_for()
    box = plot.bounding_box()
    tooltip = tab.locator("#vg-tooltip-element")
    # Start a third of the way in and stay clear of the right edge, where the legend lies.
    for y in range(int(box["y"] + box["height"] / 3), int(box["y"] + box["height"]) - 40, 7):
        for x in range(int(box["x"] + box["width"] / 3), int(box["x"] + box["width"]) - 140, 7):
            tab.mouse.move(x, y)
            if tooltip.is_visible() and tooltip.locator("img").count():
                return x, y
    raise AssertionError("no dot of the map answered the pointer")


def click_confusion_cell(tab, chart_key, true, predicted, classes):
    """Clicks one cell of the app's clickable confusion matrix and waits for the page to answer.

    Args:
        tab: the Playwright page.
        chart_key: the Streamlit key of the chart (e.g. "models-confusion").
        true: the cell's row (true class index); `predicted`: its column.
        classes: how many classes the matrix has.
    """
    matrix = tab.locator(f".st-key-{chart_key} [data-testid='stPlotlyChart']")
    matrix.locator(".scatterlayer .point").first.wait_for(state="attached")
    # One transparent marker per cell, row by row (figures.confusion_matrix): force clicks what no one sees.
    matrix.locator(".scatterlayer .point").nth(true * classes + predicted).click(force=True)
    wait_for_app(tab)
