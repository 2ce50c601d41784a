"""Grad-CAM++ (Chattopadhyay et al., 2018): Grad-CAM with channel weights from the positive gradients only.

The same maps and gradients as Grad-CAM (`gradcam.weighted_maps_heatmap`); only how each
channel is weighted differs, as `GradCAMPlusPlus` overrides one method of pytorch-grad-cam's
`BaseCAM`. Each positive gradient is scaled by alpha = g^2 / (2 g^2 + sum(A) g^3) (the
closed form for an exponential score), so small, repeated objects are not drowned by one
large one, and a Flatten head's mixed-sign gradients do not cancel out.
"""

import numpy as np

from imgrec.explain import base, gradcam


def channel_weights(activations, gradients):
    """Grad-CAM++'s weight of each channel: its positive gradients, each scaled by alpha.

    Args:
        activations: `(h, w, channels)` feature maps A.
        gradients: `(h, w, channels)` d score / d A.

    Returns:
        `(channels,)` weights.
    """
    activations = np.asarray(activations, dtype=np.float64)
    gradients = np.asarray(gradients, dtype=np.float64)
    squared = gradients**2
    denominator = 2.0 * squared + activations.sum(axis=(0, 1), keepdims=True) * squared * gradients
    alphas = np.divide(squared, denominator, out=np.zeros_like(squared), where=denominator != 0)
    return (alphas * np.maximum(gradients, 0.0)).sum(axis=(0, 1))


def gradcam_plus_plus(model, image, class_index, layer=None):
    """Returns the Grad-CAM++ heatmap of one class for one image.

    Takes, returns and raises what `gradcam.gradcam` does: float32 `(height, width)` in [0, 1]
    at the model's input size, from the maps of `layer` (defaults to the last conv map).
    """
    return gradcam.weighted_maps_heatmap(model, image, class_index, layer, channel_weights)


EXPLAINER = base.Explainer(
    name="gradcam++",
    title="Grad-CAM++",
    description="Like Grad-CAM, but each map's weight counts only its positive gradients, pixel by pixel, "
                "so several objects of the class all light up.",
    heatmap=gradcam_plus_plus,
    applies_to=gradcam.has_feature_maps,
    options=(gradcam.LAYER,),
)
