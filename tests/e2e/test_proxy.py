"""Two app servers over one runs/ and models/ folder behind nginx, with the shipped config, used in headless Chromium.

nginx runs as this test's child (`daemon off`), with its own prefix, config and logs in a
temporary folder and only loopback ports; the config is `deploy/nginx/imgrec.conf` with its
listen port and upstream servers replaced, nothing else. The access log records which
server answered each cookie, so each browser below is pinned to a known server: a run
started on one server is watched, saved and cancelled from the other, and a model saved on
one is listed by the other.
"""

import contextlib
import getpass
import http.cookies
import os
import pathlib
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.support import server
from tests.support.browser import wait_for_app
from tests.support.registries import save_tiny_models

pytestmark = pytest.mark.e2e

REPO = pathlib.Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
SHIPPED_CONFIG = REPO / "deploy" / "nginx" / "imgrec.conf"
RUN_TIMEOUT_MS = 240_000  # A worker loads TensorFlow, trains and evaluates on 10,000 images; slow on a busy box.
MODEL_NAME = "proxy-mnist"
# The wrapper the test gives nginx: Debian's own nginx.conf would write under /var and /run.
NGINX_CONF = """
user {user};
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$cookie_imgrec_server $upstream_addr $request_uri';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/imgrec.conf;
}}
"""


def site_config(port, upstreams):
    """The shipped config with the test's listen port and app servers, checked to have both to replace."""
    text = SHIPPED_CONFIG.read_text()
    text, listens = re.subn(r"(?m)^    listen 80;$", f"    listen 127.0.0.1:{port};", text)
    servers = "\n".join(f"    server {upstream};" for upstream in upstreams)
    text, blocks = re.subn(r"(?m)^    server 127\.0\.0\.1:8501;\n    server 127\.0\.0\.1:8502;$", servers, text)
    assert listens == 1 and blocks == 1, "deploy/nginx/imgrec.conf no longer has the lines this test replaces"
    return text


@contextlib.contextmanager
def nginx(prefix, upstreams):
    """Runs nginx in front of `upstreams` on a free loopback port; yields (its URL, the access log's path)."""
    port = server.free_port()
    (prefix / "imgrec.conf").write_text(site_config(port, upstreams))
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(user=getpass.getuser(), prefix=prefix))
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                            str(prefix / "error.log")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e",
                                str(prefix / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, (prefix / "error.log").read_text()
            time.sleep(0.2)
        yield url, prefix / "access.log"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Two app servers sharing one runs and one models folder, behind nginx; yields (proxy URL, access log, servers)."""
    # A missing tool is a set-up failure (`make browser` installs it), never a skip.
    assert os.path.exists(NGINX), "Debian's nginx is not installed: run `make browser` (apt-get install nginx)."
    models = save_tiny_models(tmp_path_factory.mktemp("proxy-models"))
    runs = tmp_path_factory.mktemp("proxy-runs")
    logs = tmp_path_factory.mktemp("proxy-logs")
    environment = {**os.environ, "IMGREC_MODELS_DIR": str(models), "IMGREC_RUNS_DIR": str(runs),
                   "PYTHONPATH": str(REPO)}
    environment.pop("IMGREC_RAY_ADDRESS", None)
    prefix = tmp_path_factory.mktemp("nginx")
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / folder).mkdir()
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(server.streamlit_server(environment, logs / f"server-{index}.log",
                                                               startup_timeout=60, stop_timeout=5))
                   for index in range(2)]
        upstreams = [server.removeprefix("http://") for server in servers]
        url, access_log = stack.enter_context(nginx(prefix, upstreams))
        yield url, access_log, upstreams
    shutil.rmtree(runs, ignore_errors=True)


def upstream_of(url, access_log, cookie):
    """Sends one request with an affinity cookie (or none) through nginx; returns (the server that answered, nginx's Set-Cookie headers)."""
    request = urllib.request.Request(f"{url}/_stcore/health")
    if cookie:
        request.add_header("Cookie", f"imgrec_server={cookie}")
    before = access_log.read_text().count("\n")
    with urllib.request.urlopen(request, timeout=10) as reply:
        given = [value for value in reply.headers.get_all("Set-Cookie") or [] if value.startswith("imgrec_server=")]
    deadline = time.monotonic() + 5
    while access_log.read_text().count("\n") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    return access_log.read_text().splitlines()[-1].split()[1], given


def cookies_for_each_server(url, access_log, upstreams):
    """Finds one affinity cookie value per app server (values are hashed, so try a few)."""
    found = {}
    for index in range(64):
        server, _ = upstream_of(url, access_log, f"key-{index}")
        found.setdefault(server, f"key-{index}")
        if len(found) == len(upstreams):
            return [found[upstream] for upstream in upstreams]
    pytest.fail(f"64 cookies all went to {sorted(found)}")


def test_a_browser_is_given_a_cookie_and_stays_on_one_server(proxied):
    url, access_log, upstreams = proxied
    first, given = upstream_of(url, access_log, None)
    assert len(given) == 1, given
    cookie = http.cookies.SimpleCookie(given[0])["imgrec_server"].value
    assert first in upstreams and cookie
    for _ in range(5):
        server, again = upstream_of(url, access_log, cookie)
        assert server == first and again == []  # The same server, and no new cookie.


def pinned_page(browser, url, cookie):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "imgrec_server", "value": cookie, "url": url}])
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    return context, tab


def set_number(tab, label, value):
    box = tab.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(tab)


def start_run(tab, url, samples, epochs):
    """Starts a run from the training form; returns its id (from the address, where the page puts it)."""
    tab.goto(f"{url}/train")
    wait_for_app(tab)
    tab.get_by_role("button", name="Start training").wait_for()
    set_number(tab, "Training samples (0 = all)", samples)
    set_number(tab, "Epochs", epochs)
    set_number(tab, "Batch size", 16)
    tab.get_by_role("button", name="Start training").click()
    wait_for_app(tab)
    tab.wait_for_url(re.compile(r"run=\d{8}-\d{6}-[0-9a-f]{6}"))
    return re.search(r"run=(\d{8}-\d{6}-[0-9a-f]{6})", tab.url).group(1)


def no_exception(tab):
    assert tab.locator("[data-testid='stException']").count() == 0


def test_two_servers_behind_nginx_behave_as_one(proxied, chromium_browser):
    url, access_log, upstreams = proxied
    cookie_a, cookie_b = cookies_for_each_server(url, access_log, upstreams)
    context_a, tab_a = pinned_page(chromium_browser, url, cookie_a)
    context_b, tab_b = pinned_page(chromium_browser, url, cookie_b)
    try:
        # Started on server A, watched and saved on server B.
        run_id = start_run(tab_a, url, samples=300, epochs=1)
        tab_b.goto(f"{url}/train?run={run_id}")
        wait_for_app(tab_b)
        tab_b.get_by_text(f"Run {run_id}").first.wait_for()
        tab_b.get_by_test_id("stMetric").filter(has_text="Test accuracy").wait_for(timeout=RUN_TIMEOUT_MS)
        wait_for_app(tab_b)
        tab_b.get_by_role("textbox", name="Model name").fill(MODEL_NAME)
        tab_b.get_by_role("button", name="Save as a model").click()
        wait_for_app(tab_b)
        tab_b.get_by_text(f"Saved as {MODEL_NAME}").wait_for()
        no_exception(tab_b)
        # Listed by server A (its list of models is cached for 10 s at most).
        deadline = time.monotonic() + 60
        while True:
            tab_a.goto(f"{url}/models?model={MODEL_NAME}")
            wait_for_app(tab_a)
            if f"model={MODEL_NAME}" in tab_a.url and tab_a.get_by_role("heading", name="cnn on mnist").count():
                break
            assert time.monotonic() < deadline, "server A never listed the model saved on server B"
            tab_a.wait_for_timeout(2000)
        no_exception(tab_a)

        # Started on server A, cancelled from server B; A sees it cancelled.
        long_id = start_run(tab_a, url, samples=0, epochs=50)
        tab_b.goto(f"{url}/train?run={long_id}")
        wait_for_app(tab_b)
        tab_b.get_by_role("button", name="Cancel run").click(timeout=RUN_TIMEOUT_MS)
        tab_a.get_by_text(re.compile(rf"Run {long_id}: cancelled")).first.wait_for(timeout=60_000)
        no_exception(tab_a)
        no_exception(tab_b)
    finally:
        context_a.close()
        context_b.close()
    # Both servers really served: each pinned cookie only ever reached its own server.
    served = {}
    for line in access_log.read_text().splitlines():
        cookie, server = line.split()[:2]
        served.setdefault(cookie, set()).add(server)
    assert served[cookie_a] == {upstreams[0]} and served[cookie_b] == {upstreams[1]}
