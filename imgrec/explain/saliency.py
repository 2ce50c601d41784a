"""Vanilla gradient saliency (Simonyan et al., 2014): how much the class score changes with each pixel."""

import numpy as np

from imgrec import overlays
from imgrec.explain import base, checks, gradients


def saliency(model, image, class_index):
    """Returns the saliency map of one class for one image.

    Args:
        model: any differentiable `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.

    Returns:
        float32 `(height, width)`: |d score / d pixel|, max over channels, scaled to [0, 1].

    Raises:
        ValueError: for a bad class or image.
    """
    pixel_gradients = gradients.input_gradients(model, checks.as_batch(model, image), class_index)[0]
    return overlays.unit_range(np.abs(pixel_gradients).max(axis=-1))


EXPLAINER = base.Explainer(
    name="saliency",
    title="Saliency",
    description="How much the class score changes when each input pixel changes (the absolute gradient), "
                "sharp but noisy.",
    heatmap=saliency,
    applies_to=base.any_model,
)
