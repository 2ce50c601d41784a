"""A real app server and headless Chromium (Debian's /usr/bin/chromium) for end-to-end tests."""

import os
import pathlib

import pytest

from bench import common
from tests.app.tiny_models import save_tiny_models

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = pathlib.Path(__file__).resolve().parent / "screenshots"
# Without the networking flags Chromium floods the closed network with refused connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


@pytest.fixture(scope="session")
def server_process(tmp_path_factory):
    """Runs `streamlit run streamlit_app.py` on a free port with a registry of tiny models; yields (URL, process)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    models = save_tiny_models(tmp_path_factory.mktemp("e2e-models"))
    log_path = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    env = {**os.environ, "IMGREC_MODELS_DIR": str(models), "PYTHONPATH": str(REPO)}
    with common.streamlit_process(env, log_path, startup_timeout=30, stop_timeout=5) as (url, process):
        yield url, process


@pytest.fixture(scope="session")
def server(server_process):
    """The URL of the app server of `server_process`."""
    return server_process[0]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def wait_for_app(tab, timeout=90_000):
    """Waits until the script has finished a run (a rerun starts a moment after an action)."""
    tab.wait_for_timeout(300)
    tab.wait_for_selector(IDLE, timeout=timeout)


def screenshot(tab, name, screens=3):
    """Saves what a 1280x800 window shows, screen by screen down the page: NAME-1.png, NAME-2.png...

    Streamlit scrolls its main area, not the page, so a full-page shot would stop at 800 pixels.
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    main = tab.locator("[data-testid='stMain']")
    height = main.evaluate("element => element.scrollHeight")
    paths = []
    for index in range(screens):
        top = index * 700
        if index and top >= height - 100:
            break
        main.evaluate(f"element => element.scrollTo(0, {top})")
        tab.wait_for_timeout(300)
        paths.append(SCREENSHOTS / f"{name}-{index + 1}.png")
        tab.screenshot(path=str(paths[-1]))
    main.evaluate("element => element.scrollTo(0, 0)")
    return paths
