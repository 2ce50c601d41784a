"""The app server in a real browser never loads TensorFlow: its inference workers do the model work."""

import pathlib

import pytest

from tests.support.browser import wait_for_app

pytestmark = pytest.mark.e2e
PAGES = ("/predict?model=tiny-cnn&sample=mnist-03", "/feature-maps?model=tiny-cnn&sample=mnist-03",
         "/attention?model=tiny-vit&sample=mnist-03", "/train", "/models?model=tiny-cnn")


def loads_tensorflow(pid):
    """Whether a process has TensorFlow's shared library mapped (what `import tensorflow` does)."""
    return "tensorflow" in pathlib.Path(f"/proc/{pid}/maps").read_text()


def children(pid):
    """The live child processes of a process, with their command lines."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found[int(entry.name)] = command
    return found


def test_every_page_works_while_tensorflow_stays_in_the_inference_workers(tiny_server_process, page):
    url, process = tiny_server_process
    for path in PAGES:
        page.goto(url + path)
        wait_for_app(page)
        if path.startswith("/predict"):
            page.get_by_text("Grad-CAM for").first.wait_for()  # Predicted and explained, in a worker.
            # The trust panel's checks (curves against random maps, the scrambled-model row), in a worker too.
            page.get_by_role("button", name="Check this heatmap").first.click()
            page.get_by_text("Scrambling the model, from the output down").first.wait_for(timeout=120_000)
            wait_for_app(page)
        assert page.locator("[data-testid='stException']").count() == 0, path
    workers = [pid for pid, command in children(process.pid).items() if "imgrec.serving.worker" in command]
    assert workers, "the server started no inference worker"
    assert any(loads_tensorflow(pid) for pid in workers)
    assert not loads_tensorflow(process.pid)


def test_the_app_starts_its_inference_worker_with_the_server_before_any_visitor(tiny_registry, tmp_path):
    """serve.py (`make run`, and every test server) starts the pool at boot, so the first page does not wait for
    a worker's TensorFlow import that could have happened while the server waited for its first visitor."""
    import time

    from tests.e2e.conftest import app_environment
    from tests.support import server

    environment = app_environment(tiny_registry, tmp_path / "cache", tmp_path / "runs")
    with server.streamlit_process(environment, tmp_path / "streamlit.log") as (_, process):
        deadline = time.monotonic() + 60
        workers = []
        while not workers and time.monotonic() < deadline:
            workers = [pid for pid, command in children(process.pid).items() if "imgrec.serving.worker" in command]
            time.sleep(0.2)
        assert workers, "no inference worker started before the first page was opened"
        assert not loads_tensorflow(process.pid)
