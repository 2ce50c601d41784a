"""First page loads of a fresh server, this checkout against another one, side by side in one run.

- first_predict_s: wall seconds from opening /predict?model=mnist-cnn on a server that has
  just started until its Grad-CAM shows (Streamlit, TensorFlow and the model load on the way).
- imagenet_cold_s: then /predict?model=imagenet-efficientnet-lite0 in the same server until
  its Grad-CAM shows (the model is built in the shared `.cache`, so this is its load, not its
  build).

The baseline is any other checkout of imgrec (e.g. a `git worktree` of the commit before a
change), started with this interpreter; the two servers are started one after the other,
alternating, so the machine's load hits both alike. Ratio: this checkout / the baseline
(target <= 1.0 for "nothing gets slower to start"; noise on a shared machine is ~10%).

Usage: python -m bench.first_load --baseline DIR [--repeats N]
"""

import argparse
import os
import pathlib
import statistics
import tempfile
import time

from bench.common import result
from tests.support import server
from tests.support.browser import CHROMIUM_ARGS, IDLE, chromium_path, missing_chromium

REPO = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT_MS = 300_000


def fresh_server(checkout, scratch):
    """`checkout`'s app on a free port, with its own runs folder and the shared model cache."""
    environment = {**os.environ, "IMGREC_MODELS_DIR": str(checkout / "models"),
                   "IMGREC_CACHE_DIR": str(REPO / ".cache"), "IMGREC_RUNS_DIR": str(scratch / "runs"),
                   "PYTHONPATH": str(checkout)}
    return server.streamlit_server(environment, scratch / "streamlit.log", repo=checkout, startup_timeout=120,
                                   stop_timeout=15)


def first_loads(browser, checkout):
    """Returns (first /predict seconds, ImageNet's first /predict seconds) on a server just started."""
    with tempfile.TemporaryDirectory() as scratch, fresh_server(checkout, pathlib.Path(scratch)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        timings = []
        for model in ("mnist-cnn", "imagenet-efficientnet-lite0"):
            started = time.perf_counter()
            tab.goto(f"{url}/predict?model={model}")
            tab.get_by_text("Grad-CAM for").first.wait_for()
            tab.wait_for_selector(IDLE)
            timings.append(time.perf_counter() - started)
        context.close()
        return timings


def run(baseline, repeats=2):
    from playwright.sync_api import sync_playwright

    reason = missing_chromium()
    if reason:
        raise RuntimeError(reason)
    samples = {"this": [], "baseline": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
        for _ in range(repeats):
            for name, checkout in (("baseline", baseline), ("this", REPO)):
                samples[name].append(first_loads(browser, checkout))
        browser.close()
    load = os.getloadavg()[0]
    rows = []
    for index, name in enumerate(("first_predict_s", "imagenet_cold_s")):
        mine = statistics.median(sample[index] for sample in samples["this"])
        theirs = statistics.median(sample[index] for sample in samples["baseline"])
        rows.append(result(name, round(mine, 2), "s", round(theirs, 2),
                           note=f"median of {repeats}; baseline {baseline}; load average {load:.1f} at the end"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, type=pathlib.Path, help="another checkout of imgrec")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    for row in run(args.baseline.resolve(), args.repeats):
        print(f"{row['name']}: {row['value']} s against {row['baseline']} s, ratio {row['ratio']:.2f} ({row['note']})")


if __name__ == "__main__":
    main()
