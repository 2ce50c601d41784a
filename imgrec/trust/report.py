"""One trust check of one heatmap: its deletion and insertion curves against a random map, the randomisation cascade, a verdict.

`check(model, image, method, class_index, **options)` is what the trust panel, the CLI and
the benchmark call; the `TrustReport` it returns holds only numpy arrays, numbers and text,
so it can travel between processes.
"""

import dataclasses

import numpy as np

from imgrec.explain import checks, explainers
from imgrec.trust import curves, randomization, verdict


@dataclasses.dataclass(frozen=True)
class TrustReport:
    """Everything the trust panel shows for one map."""

    method: str  # The explainer's name, e.g. "gradcam".
    class_index: int  # The class explained.
    probability: float  # The model's probability for that class on the whole image.
    heatmap: np.ndarray  # (height, width) the map that was checked.
    deletion: curves.Curve  # The map's deletion curve: lower area is better.
    insertion: curves.Curve  # The map's insertion curve: higher area is better.
    random_deletion: curves.Curve  # The mean curves of random maps: the reference.
    random_insertion: curves.Curve
    randomization: tuple  # `randomization.Step`s, the output layer's first.
    verdict: str  # One sentence.
    level: str  # The verdict's level, one of `verdict.LEVELS` ("trustworthy" ... "unclear").

    def to_dict(self, with_maps=False):
        """Returns the report as JSON-ready values: the CLI's fields, and the curves and maps when asked."""
        values = {
            "method": self.method,
            "class_index": self.class_index,
            "probability": self.probability,
            "deletion_auc": self.deletion.auc,
            "insertion_auc": self.insertion.auc,
            "random_deletion_auc": self.random_deletion.auc,
            "random_insertion_auc": self.random_insertion.auc,
            "randomization": [step.to_dict(with_maps) for step in self.randomization],
            "verdict": self.verdict,
        }
        if with_maps:
            values["heatmap"] = self.heatmap.tolist()
            values["curves"] = [curve.to_dict() for curve in
                                (self.deletion, self.insertion, self.random_deletion, self.random_insertion)]
        return values


def check(model, image, method, class_index, *, heatmap=None, reference=None, steps=curves.DEFAULT_STEPS,
          canvas=curves.DEFAULT_CANVAS, randomize=True, seed=0, **options):
    """Runs the trust checks of one explainer's map for one image and class.

    Args:
        model: a `keras.Model` (never changed; the randomisation uses a cached clone).
        image: float32 `(height, width, channels)` in 0..255 (`Classifier.preprocess` output).
        method: an explainer name (`explain.EXPLAINERS`).
        class_index: the class to explain.
        heatmap: the map already computed with these options, to save computing it again.
            Defaults to `None` (computed here).
        reference: the random maps' `(deletion, insertion)` curves for this image, class and
            canvas (`curves.random_reference`), which do not depend on the explainer: a caller
            checking several explainers computes them once. Defaults to `None` (computed here).
        steps: steps per deletion and insertion curve. Defaults to `20`.
        canvas: "mean", "blur" or "black": what removed pixels become. Defaults to `"mean"`.
        randomize: run the cascading randomisation (one map per layer group). Defaults to `True`.
        seed: the seed of the random maps, the tie order and the random weights. Defaults to `0`.
        **options: the explainer's options, as `explain.explain` takes them.

    Returns:
        A `TrustReport`.

    Raises:
        ValueError: for an unknown method or option, a bad image or class, steps or canvas.
    """
    class_index = checks.class_index(model, class_index)
    batch = checks.as_batch(model, image)
    if heatmap is None:
        heatmap = explainers.explain(model, batch[0], method, class_index, **options)
    heatmap = np.asarray(heatmap, dtype=np.float32)
    [(deletion, insertion)] = curves.deletion_insertion_curves(model, batch[0], [heatmap], class_index, steps=steps,
                                                               canvas=canvas, seed=seed)
    if reference is None:
        reference = curves.random_reference(model, batch[0], class_index, canvas=canvas, seed=seed)
    random_deletion, random_insertion = reference
    steps_taken = ()
    if randomize:
        steps_taken = tuple(randomization.cascade(
            model, lambda variant: explainers.explain(variant, batch[0], method, class_index, **options), heatmap,
            seed=seed))
    probability = float(deletion.probabilities[0])  # The whole image, before any step.
    level, sentence = verdict.judge(probability, deletion.auc, insertion.auc, random_deletion.auc,
                                    random_insertion.auc, steps_taken[-1].spearman if steps_taken else None)
    return TrustReport(method, class_index, probability, heatmap, deletion, insertion, random_deletion,
                       random_insertion, steps_taken, sentence, level)
