"""The explainers by name, in display order, and the one call that runs any of them with its options."""

import numpy as np

from imgrec.explain import (
    gradcam,
    gradcam_plus_plus,
    integrated_gradients,
    occlusion,
    rollout,
    saliency,
    smoothgrad,
)

# Name -> `base.Explainer`, in the order pages list them: the Grad-CAM family first (coarse,
# class-specific regions), then the pixel gradients, then occlusion (forward passes only), then attention.
EXPLAINERS = {
    record.name: record
    for record in (
        gradcam.EXPLAINER,
        gradcam_plus_plus.EXPLAINER,
        saliency.EXPLAINER,
        smoothgrad.EXPLAINER,
        integrated_gradients.EXPLAINER,
        occlusion.EXPLAINER,
        rollout.EXPLAINER,
    )
}


def applicable(model):
    """Returns the `Explainer` records that apply to this model, in display order.

    Example:

    >>> [record.name for record in applicable(architectures.build("mlp", (28, 28, 1), 10))]
    ['saliency', 'smoothgrad', 'integrated-gradients', 'occlusion']
    """
    return [record for record in EXPLAINERS.values() if record.applies_to(model)]


def explain(model, image, method, class_index, **options):
    """Runs the explainer named `method` with its options.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255 (`Classifier.preprocess` output).
        method: a name in `EXPLAINERS`, e.g. "gradcam".
        class_index: the class to explain (checked, then ignored, by explainers that are not
            class-specific).
        **options: the explainer's options by name (see its record's `options`); a value
            of None for a "layer" means the model's last convolutional map.

    Returns:
        float32 `(height, width)` in [0, 1] at the model's input size.

    Raises:
        ValueError: for an unknown method or option, an option value out of its bounds, a
            method that does not apply to the model, or a bad image or class.

    Example:

    >>> model = architectures.build("cnn", (28, 28, 1), 10)
    >>> explain(model, np.zeros((28, 28, 1), np.float32), "smoothgrad", 3, samples=4).shape
    (28, 28)
    """
    record = EXPLAINERS.get(method)
    if record is None:
        raise ValueError(f"Unknown explainer {method!r}; choose one of {', '.join(EXPLAINERS)}.")
    for name in options:
        if record.option(name) is None:
            accepted = ", ".join(option.name for option in record.options) or "none"
            raise ValueError(f"{record.title} takes no option {name!r}; the options it takes are: {accepted}.")
    if not record.applies_to(model):
        names = ", ".join(other.name for other in applicable(model))
        raise ValueError(f"{record.title} does not apply to model {model.name!r}; choose one of {names}.")
    checked = {name: record.option(name).check(value) for name, value in options.items()}
    return np.asarray(record.heatmap(model, image, class_index, **checked), dtype=np.float32)
