"""Grad-CAM (Selvaraju et al., 2017): a layer's feature maps, each weighted by its average gradient.

keras-io's `make_gradcam_heatmap` in our terms: the maps of the last convolutional layer and
the class score's gradient with respect to them (`gradients.feature_gradients`, which also
reaches layers inside nested models), one weight per channel, the ReLU of the weighted sum,
upsampled to the input. Grad-CAM++ (`gradcam_plus_plus.py`) differs only in `channel_weights`.

Grad-CAM assumes a feature counts for the class wherever it appears, as behind a global
average pool. Behind a Flatten + Dense head that weighs each position differently, a
channel's average gradient can be negative even where it decides the class: on a toy task
whose label is the quadrant of a square, Grad-CAM's map was empty at the square (31 of 40
peaks elsewhere) while Grad-CAM++ and saliency found it every time.

Example:

>>> model = architectures.build("cnn", (28, 28, 1), 10)
>>> heatmap = gradcam(model, np.zeros((28, 28, 1), np.float32), class_index=3)
>>> heatmap.shape, heatmap.dtype
((28, 28), dtype('float32'))
"""

import numpy as np

from imgrec import overlays
from imgrec.explain import base, checks, gradients, layers

LAYER = base.Option(
    name="layer",
    title="Feature maps to weight",
    kind="layer",
    default=None,
    help="Grad-CAM usually weights the last convolutional layer: its maps are the most abstract while still "
         "keeping where things are.",
)


def channel_weights(activations, gradients):
    """Grad-CAM's weight of each channel: its gradient averaged over the map.

    Args:
        activations: `(h, w, channels)` feature maps A (unused: the average gradient alone decides).
        gradients: `(h, w, channels)` d score / d A.

    Returns:
        `(channels,)` weights.
    """
    return np.asarray(gradients, dtype=np.float64).mean(axis=(0, 1))


def class_activation_map(activations, gradients, weights_of=channel_weights):
    """Combines feature maps and their gradients into a class activation map.

    Args:
        activations: `(h, w, channels)` feature maps A.
        gradients: `(h, w, channels)` d score / d A.
        weights_of: `(activations, gradients) -> (channels,)` weights. Defaults to
            Grad-CAM's `channel_weights`.

    Returns:
        `(h, w)` map, ReLU'd, not yet normalised.
    """
    activations = np.asarray(activations, dtype=np.float64)
    weights = weights_of(activations, np.asarray(gradients, dtype=np.float64))
    # Only regions that raise the class score count: the ReLU of the weighted sum.
    return np.maximum(activations @ weights, 0.0)


def weighted_maps_heatmap(model, image, class_index, layer=None, weights_of=channel_weights):
    """Returns the class activation map of one image at the model's input size, in [0, 1].

    Args:
        model: a `keras.Model` with a convolutional feature map.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.
        layer: the name of the 4-D layer whose maps are weighted. Defaults to
            `last_conv_layer_name(model)`.
        weights_of: how channels are weighted. Defaults to Grad-CAM's `channel_weights`.

    Returns:
        float32 `(height, width)` in [0, 1].

    Raises:
        ValueError: for a model without a convolutional map (rnn, mlp), a bad class, image or layer.
    """
    class_index = checks.class_index(model, class_index)
    batch = checks.as_batch(model, image)
    tapped = checks.spatial_layer(model, layer if layer is not None else layers.last_conv_layer_name(model))
    activations, gradients_of_maps = gradients.feature_gradients(model, batch, class_index, tapped)
    cam = class_activation_map(activations, gradients_of_maps, weights_of)
    return overlays.unit_range(overlays.upsample(overlays.unit_range(cam), batch.shape[1], batch.shape[2]))


def gradcam(model, image, class_index, layer=None):
    """Returns the Grad-CAM heatmap of one class for one image.

    Args:
        model: a `keras.Model` with a convolutional feature map.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain. For a sigmoid head, class 1 uses the logit z
            and class 0 uses -z.
        layer: the name of the 4-D layer whose maps are weighted. Defaults to
            `last_conv_layer_name(model)`.

    Returns:
        float32 `(height, width)` in [0, 1] at the model's input size.

    Raises:
        ValueError: for a model without a convolutional map (rnn, mlp), a bad class, image or layer.
    """
    return weighted_maps_heatmap(model, image, class_index, layer, channel_weights)


def has_feature_maps(model):
    """`applies_to` of the Grad-CAM family: the model has a convolutional (spatial) feature map."""
    return layers.last_conv_layer(model) is not None


EXPLAINER = base.Explainer(
    name="gradcam",
    title="Grad-CAM",
    description="The feature maps of a convolutional layer, each weighted by how much the class score rises "
                "when that map rises, which marks coarse regions that speak for the class.",
    heatmap=gradcam,
    applies_to=has_feature_maps,
    options=(LAYER,),
)
