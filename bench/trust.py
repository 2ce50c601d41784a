"""trust_panel_ms_mnist and trust_panel_ms_imagenet: the whole trust panel beside the heatmap it checks.

The panel is what /predict computes on request: `trust.check` with the heatmap already made
(deletion and insertion curves, the random reference, the randomisation cascade, the
verdict). Its baseline is the heatmap alone, timed in alternation with it. The first check of
a model (cloning it and compiling the clone's graphs) is timed apart, in the note.
"""

import time

import numpy as np

from bench.common import interleaved_ms, result

MNIST_MODELS = ("mnist-cnn", "mnist-crnn", "mnist-rnn", "mnist-vit")
TARGET_MNIST_MS = 500
TARGET_IMAGENET_MS = 3000


def _panel_against_heatmap(classifier, rgb, repeats):
    """Returns (panel ms, heatmap ms, first panel ms, method) for one model and image, the first explainer it offers."""
    from imgrec import explain, trust

    model = classifier.model
    image = classifier.preprocess(rgb)
    class_index = int(np.argmax(classifier.predict_inputs(image[None])[0]))
    method = explain.applicable(model)[0].name  # What /predict shows first: Grad-CAM where it applies.
    heatmap = explain.explain(model, image, method, class_index)
    started = time.perf_counter()
    trust.check(model, image, method, class_index, heatmap=heatmap)
    first_ms = (time.perf_counter() - started) * 1000

    def panel():
        return trust.check(model, image, method, class_index, heatmap=heatmap)

    def heatmap_alone():
        return explain.explain(model, image, method, class_index)

    panel_ms, heatmap_ms = interleaved_ms([panel, heatmap_alone], repeats=repeats, warmup=1)
    return panel_ms, heatmap_ms, first_ms, method


def run():
    import os

    from imgrec import datasets, registry

    load = os.getloadavg()[0]
    rows = []
    measured = {}
    for name in MNIST_MODELS:
        measured[name] = _panel_against_heatmap(registry.load(name), datasets.load_sample("mnist-03"), repeats=10)
    worst = max(measured, key=lambda name: measured[name][0])
    panel_ms, heatmap_ms, _, _ = measured[worst]
    each = "; ".join(f"{name} {method}: panel {panel:.0f} ms against heatmap {alone:.0f} ms (first {first:.0f} ms)"
                     for name, (panel, alone, first, method) in measured.items())
    rows.append(result("trust_panel_ms_mnist", panel_ms, "ms", heatmap_ms,
                       note=f"the slowest shipped MNIST model ({worst}), warm; target <= {TARGET_MNIST_MS} ms; "
                            f"{each}; load average {load:.1f} on {os.cpu_count()} cores"))
    panel_ms, heatmap_ms, first_ms, method = _panel_against_heatmap(
        registry.load("imagenet-efficientnet-lite0"), datasets.load_sample("photos-coffee"), repeats=5)
    rows.append(result("trust_panel_ms_imagenet", panel_ms, "ms", heatmap_ms,
                       note=f"EfficientNet-Lite0, {method}, the coffee photo, warm; target <= {TARGET_IMAGENET_MS} "
                            f"ms; first check {first_ms:.0f} ms (clone and compile); load average {load:.1f}"))
    return rows
