"""A real app server and headless Chromium (Debian's /usr/bin/chromium) for end-to-end tests."""

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.app.tiny_models import save_tiny_models

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = pathlib.Path(__file__).resolve().parent / "screenshots"
# Without the networking flags Chromium floods the closed network with refused connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Runs `streamlit run streamlit_app.py` on a free port with a registry of tiny models; yields its URL."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    models = save_tiny_models(tmp_path_factory.mktemp("e2e-models"))
    port = _free_port()
    log_path = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    env = {**os.environ, "IMGREC_MODELS_DIR": str(models), "PYTHONPATH": str(REPO)}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The app server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
