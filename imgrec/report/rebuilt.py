"""An autoencoder run's part of the report: its error measured (and per class) and test images beside what it rebuilds.

`report.run` builds the report of a run and hands an autoencoder's (its result's task is
"reconstruction", written by the worker through `reconstruction.evaluate`) to these
sections. The pairs are chosen as the run's results page chooses them: the first test
images, then the worst rebuilt.
"""

import dataclasses
import math

import numpy as np

from imgrec import datasets, reconstruction
from imgrec.report import charts, document, pictures

PAIRS = 12  # Test images beside their reconstructions, as the results page shows: the first, then the worst.
PAIR_SIDE = 112  # Pixels on a side of each enlarged test image and of its reconstruction.


@dataclasses.dataclass(frozen=True, eq=False)
class Rebuilt:
    """One test image beside what an autoencoder rebuilt of it."""

    image: np.ndarray  # The test image as the dataset holds it, (height, width, channels) in 0..255.
    reconstruction: np.ndarray  # float32 (height, width, channels) in 0..1, what the autoencoder returned.
    label: str  # The image's true class, in English (translated when shown).
    error: float  # The mean squared error per pixel, both images in 0..1 (`reconstruction.squared_errors`).


def is_reconstruction(outcome):
    """Whether a run's result (`jobs.result`) is an autoencoder's: its task is "reconstruction"."""
    return outcome is not None and outcome.get("task") == "reconstruction"


def pair_indices(outcome, shown=PAIRS):
    """The test indices shown: the first ones, then up to half of `shown` of the worst rebuilt, without repeats."""
    worst = [int(row["index"]) for row in (outcome.get("worst") or [])][: shown // 2]
    return list(dict.fromkeys([*range(shown - len(worst)), *worst]))


def rebuilt_cases(model, outcome, shown=PAIRS):
    """Returns the test images of `pair_indices` with what the autoencoder `model` rebuilds of them, as `Rebuilt`s.

    Raises:
        datasets.DatasetUnavailable: when the run's dataset cannot be loaded.
        ValueError: when the model is not an autoencoder of the dataset's images.
    """
    data = datasets.load(outcome["dataset"])
    indices = [index for index in pair_indices(outcome, shown) if index < len(data.x_test)]
    originals = data.x_test[indices]
    rebuilt = reconstruction.reconstruct(model, originals)
    errors = reconstruction.squared_errors(originals, rebuilt)
    names = [str(name) for name in data.class_names]
    return [Rebuilt(original, image, names[int(data.y_test[index])], float(error))
            for index, original, image, error in zip(indices, originals, rebuilt, errors, strict=True)]


def headline(outcome, words):
    """The measured error, the typical pixel's error it means, and the training time, in boxes."""
    training = outcome.get("training") or {}
    mse = outcome.get("reconstruction_mse")
    return document.headline([
        (words("report.test_error"), words.decimal(mse, 4)),
        (words("report.pixel_off"), words.decimal(math.sqrt(mse), 2) if mse is not None else words("report.none")),
        (words("report.training_time"), words.headline_time(training.get("seconds"),
                                                            training.get("samples_per_second"))),
    ])


def error_section(outcome, words):
    """The error in words and per class as bars (longest for the worst rebuilt class), and the hardest class."""
    mse = outcome.get("reconstruction_mse")
    body = []
    if mse is not None:
        typical = math.sqrt(mse)
        body.append(document.paragraph(words("report_text.error_meaning", mse=f"{mse:.4f}", typical=f"{typical:.2f}",
                                             share=f"{typical:.0%}")))
    body += error_bars({row["class"]: row["mse"] for row in outcome.get("per_class") or []}, words)
    return document.section(words("report.reconstruction"), *body, name="reconstruction")


def error_bars(per_class_mse, words):
    """The error per class (`{class: mse}`) as bars, the worst highlighted and named under them; `[]` without any."""
    rows = [(words.class_name(name), value) for name, value in (per_class_mse or {}).items() if value is not None]
    if not rows:
        return []
    peak = max(value for _, value in rows) or 1.0
    # A bar's length is its share of the worst class's error: errors of 0.02 to 0.06 would be slivers on 0..1.
    worst = max(range(len(rows)), key=lambda index: rows[index][1])
    bars = charts.bars([name for name, _ in rows], [value / peak for _, value in rows],
                       title=words("report.error_per_class"), value_text=lambda share: f"{share * peak:.4f}",
                       highlight=worst)
    return [document.figure(bars, words("report.error_per_class")),
            document.paragraph(words("report_text.hardest_class", label=rows[worst][0], mse=f"{rows[worst][1]:.4f}"),
                               note=True)]


def rebuilt_section(cases, error, words):
    """Each test image beside its reconstruction, captioned with its class and error; or why they are missing."""
    if error is not None:
        return document.section(words("report.rebuilt"),
                                document.paragraph(words("report_text.rebuilt_unavailable", why=error)), name="rebuilt")
    items = []
    for case in cases or ():
        pair = pictures.side_by_side(pictures.enlarged(case.image, PAIR_SIDE),
                                     pictures.enlarged(np.asarray(case.reconstruction) * 255.0, PAIR_SIDE))
        caption = words("report_text.rebuilt_caption", label=words.class_name(case.label), mse=f"{case.error:.3f}")
        items.append(document.figure(pictures.picture(pictures.png_url(pair), caption), caption))
    return document.section(words("report.rebuilt"), document.paragraph(words("report_text.rebuilt_note"), note=True),
                            document.grid(items, 4), name="rebuilt")
