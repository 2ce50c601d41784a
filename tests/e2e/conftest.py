"""A real app server and headless Chromium for the end-to-end tests.

Two servers, one registry each: `tiny_server` over a copy of the tiny test models (the tests
of behaviour) and `shipped_server` over the real models/ and .cache (the README's screenshots).
Without Chromium every browser test fails and says how to install it: a quiet skip once let
`make test` pass on a machine that had run none of them.
"""

import os
import pathlib
import shutil

import pytest

from tests.support import browser, server

_MISSING_CHROMIUM = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def chromium(request):
    """The Chromium binary; when it is missing, fails each browser test with how to get it."""
    reason = browser.missing_chromium()
    if reason:
        request.config.stash[_MISSING_CHROMIUM] = reason
        pytest.fail(reason, pytrace=False)
    return browser.chromium_path()


def pytest_terminal_summary(terminalreporter, config):
    # Once, in full, at the end: the errors above are one per test and the short summary cuts them.
    reason = config.stash.get(_MISSING_CHROMIUM, None)
    if reason:
        terminalreporter.section("browser tests did not run", red=True, bold=True)
        terminalreporter.line(reason)


def app_environment(models, cache, runs):
    """The server's environment: this process's, with the registry, cache and runs folders given."""
    return {**os.environ, "IMGREC_MODELS_DIR": str(models), "IMGREC_CACHE_DIR": str(cache),
            "IMGREC_RUNS_DIR": str(runs), "PYTHONPATH": str(server.REPO)}


@pytest.fixture(scope="session")
def tiny_server_process(chromium, tiny_registry, tmp_path_factory):
    """The app over a private copy of the tiny registry (the training flow saves a model into it) and no runs.

    Yields `(url, process)`: the tests that look at the server process (what it has mapped) need it.
    """
    scratch = tmp_path_factory.mktemp("e2e-tiny")
    models = shutil.copytree(tiny_registry, scratch / "models")
    # The ImageNet model is built on first use: share the checkout's cache rather than build it again.
    environment = app_environment(models, server.REPO / ".cache", scratch / "runs")
    with server.streamlit_process(environment, scratch / "streamlit.log", startup_timeout=30,
                                  stop_timeout=5) as (url, process):
        yield url, process


@pytest.fixture(scope="session")
def tiny_server(tiny_server_process):
    """The URL of `tiny_server_process`'s app."""
    return tiny_server_process[0]


@pytest.fixture(scope="session")
def shipped_server(chromium, tmp_path_factory):
    """The app over the shipped models (models/) and the built ImageNet model (.cache), with no runs."""
    from imgrec import registry

    scratch = tmp_path_factory.mktemp("e2e-shipped")
    models, cache = server.REPO / "models", server.REPO / ".cache"
    with pytest.MonkeyPatch.context() as patch:
        # Built here, once, so the first page does not wait for it.
        patch.setenv("IMGREC_CACHE_DIR", str(cache))
        registry.ensure_built("imagenet-efficientnet-lite0")
    environment = app_environment(models, cache, scratch / "runs")
    with server.streamlit_server(environment, scratch / "streamlit.log", startup_timeout=30, stop_timeout=5) as url:
        yield url


@pytest.fixture(scope="session")
def chromium_browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=browser.CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def readme_folder(request, tmp_path):
    """Where the README's screenshots go: docs/screenshots/ under `make screenshots` (`--update-screenshots`),
    else a scratch folder, so a normal run checks the pages and leaves tracked files as they are."""
    if request.config.getoption("--update-screenshots"):
        return server.REPO / "docs" / "screenshots"
    return tmp_path / "screenshots"


@pytest.fixture(scope="session")
def debug_screenshots():
    """Where the tests of behaviour save what they saw, for a person debugging them (ignored by git)."""
    return pathlib.Path(__file__).resolve().parent / "screenshots"


@pytest.fixture
def page(chromium_browser):
    """A fresh 1280x800 browser tab (its own context: no cookies or session shared with other tests)."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
