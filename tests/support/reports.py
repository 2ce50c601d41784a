"""Checks of a report file: what in it points outside it, and how it opens and prints in a browser cut off from the network.

`open_offline` opens a report in headless Chromium with every request but the file itself
aborted and recorded; `what_the_browser_shows` reads its title, text and images;
`overflowing` lists what is wider than an A4 page's text column in print layout;
`pdf_pages` counts the pages of what `page.pdf(format="A4")` printed; `assert_opens_offline`
and `assert_prints_on_a4` put these together; `download` saves what the app's button gives.
"""

import contextlib
import html.parser
import re
import time

# An A4 page (210 mm) less the report's 15 mm side margins, in CSS pixels (96 per inch).
A4_COLUMN_PX = round((210 - 2 * 15) / 25.4 * 96)
# The attributes that name a resource to fetch, and the elements that fetch or run something.
_FETCHING_ATTRIBUTES = {"src", "href", "xlink:href", "action", "poster", "srcset", "data", "formaction", "background"}
_FETCHING_ELEMENTS = {"script", "link", "iframe", "object", "embed", "base", "frame", "audio", "video", "source"}


class _References(html.parser.HTMLParser):
    """Collects what in a document's tags and style could fetch something (text between tags is not read)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_style = False

    def handle_starttag(self, tag, attributes):
        if tag in _FETCHING_ELEMENTS:
            self.found.append(f"<{tag}>")
        self._in_style = tag == "style"
        for name, value in attributes:
            value = value or ""
            if name in _FETCHING_ATTRIBUTES and not value.startswith(("data:", "#")):
                self.found.append(f"{name}={value[:80]}")
            if name == "style":
                self._css(value)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data)

    def _css(self, css):
        self.found += [f"url({value[:80]})" for value in re.findall(r"url\(\s*['\"]?([^'\")]*)", css)
                       if not value.startswith(("data:", "#"))]
        self.found += re.findall(r"@import[^;]*", css)


def outside_references(document):
    """Returns every way an HTML document could reach outside itself; empty for a self-contained file.

    Any `http://` or `https://` anywhere in the file; in its tags, any attribute that names a
    resource (`src`, `href`, ...) with a value other than a `data:` URL or a `#fragment`
    (so `//host/...` too); any element that fetches or runs something (`<script>`, `<link>`,
    `<iframe>`...); in its style, any `url()` but a data URL and any `@import`.
    """
    parser = _References()
    parser.feed(document)
    parser.close()
    return re.findall(r"https?://[^\s\"'<>]*", document, re.IGNORECASE) + parser.found


def pdf_pages(pdf):
    """Returns the number of pages of a PDF (its page objects; Chromium writes no object streams)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def open_offline(browser, path, *, print_layout=False):
    """Opens a report file in a fresh context where every request but the file itself is aborted.

    Args:
        browser: a Playwright `Browser`.
        path: the report file.
        print_layout: lay it out as printed on A4 (print media, the text column's width).
            Defaults to `False`: a 1280 x 800 screen.

    Returns:
        `(page, requests)`: the open page and every URL the page asked for, the file's own first.
    """
    width, height = (A4_COLUMN_PX, 1000) if print_layout else (1280, 800)
    context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
    own = path.resolve().as_uri()
    requests = []

    def only_the_file(route):
        if route.request.url == own:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    if print_layout:
        page.emulate_media(media="print")
    page.goto(own, wait_until="load")
    page.wait_for_timeout(200)  # Anything the page would fetch late is asked for by now.
    return page, [url for url in requests if not url.startswith("data:")]


def what_the_browser_shows(page):
    """Returns the title, the visible text, and `(complete, naturalWidth, naturalHeight)` of every image."""
    images = page.eval_on_selector_all("img", "all => all.map(image => [image.complete, image.naturalWidth, "
                                              "image.naturalHeight])")
    return page.title(), page.inner_text("body"), [tuple(image) for image in images]


def overflowing(page):
    """Returns the elements wider than the page's width (in print layout: the A4 text column), as short descriptions."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = document.documentElement.scrollWidth > width ? ['the document itself'] : [];
        for (const element of document.querySelectorAll('body *')) {
            const box = element.getBoundingClientRect();
            if (box.right > width + 0.5 || box.left < -0.5) {
                wide.push(`${element.tagName} ${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
            }
        }
        return wide;
    }""")


def assert_opens_offline(browser, path, *texts, with_images=True):
    """The report opens with nothing requested but itself, shows `texts`, and every image (at least one) decodes."""
    tab, requests = open_offline(browser, path)
    try:
        title, body, pictures = what_it_shows = what_the_browser_shows(tab)
        assert requests == [path.resolve().as_uri()], requests
        assert title and title in body, what_it_shows[:2]
        for value in texts:
            assert value in body, value
        assert pictures or not with_images
        assert all(complete and width > 0 and height > 0 for complete, width, height in pictures), pictures
        assert overflowing(tab) == []
    finally:
        tab.context.close()


def assert_prints_on_a4(browser, path, pages):
    """Printed on A4, the report takes `pages` pages (a section a page) and nothing is wider than the text column."""
    tab, requests = open_offline(browser, path, print_layout=True)
    try:
        assert overflowing(tab) == []
        pdf = tab.pdf(format="A4", print_background=True)
        path.with_suffix(".pdf").write_bytes(pdf)  # For a person to look at when it fails.
        assert pdf_pages(pdf) == pages
        assert requests == [path.resolve().as_uri()], requests
    finally:
        tab.context.close()


def download(tab, folder, timeout=240_000, label="Download report"):
    """Clicks the page's "Download report" (`label`) and returns the file saved in `folder` under the name the app gave it.

    The timeout is generous: the report is made on the click, and a busy 2-core box is slow.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # A page may run once more right after its first run (it writes its view into the address);
    # a click on the button of a replaced run finds its file gone, so wait until the app stays idle.
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 1.5:
        tab.wait_for_timeout(100)
        if tab.get_attribute("[data-testid='stApp']", "data-test-script-state") != "notRunning":
            quiet_since = time.monotonic()
    with tab.expect_download(timeout=timeout) as waiting:
        tab.get_by_role("button", name=label).click()
    path = folder / waiting.value.suggested_filename
    waiting.value.save_as(path)
    return path

# An autoencoder's run that takes a few seconds: a code of 2 numbers for scikit-learn's 8 x 8 digits.
TINY_AUTOENCODER_RUN = {"architecture": "autoencoder", "dataset": "digits", "max_samples": 200, "epochs": 2,
                        "latent_dim": 2}


def copy_with_damaged_model(folder, run_id, runs_dir):
    """Copies a run's folder into `runs_dir` with bytes that are no model for its model file; returns the copy."""
    import shutil

    from imgrec import jobs

    copy = shutil.copytree(folder / run_id, runs_dir / run_id)
    (copy / jobs.MODEL_FILE).write_bytes(b"not a model")
    return copy


@contextlib.contextmanager
def finished_run_in(folder, config):
    """Runs `config` to the end in the runs folder `folder` (IMGREC_RUNS_DIR during the block); yields `(folder, id)`."""
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_RUNS_DIR", str(folder))
        patch.setenv("IMGREC_RUN_THREADS", "1")
        yield folder, finished_run(config)


def finished_run(config, timeout=240):
    """Submits a run to the runs folder of IMGREC_RUNS_DIR, waits for it, and returns its id once it is done."""
    from imgrec import jobs

    run_id = jobs.submit(config)
    view = jobs.wait(run_id, timeout=timeout)
    if view["status"] != jobs.DONE:
        raise RuntimeError(f"The run did not finish: {view}")
    return run_id
