"""Argument checks shared by the explainers: one image of the model's shape, a class it has, a spatial layer.

Each refusal is a `ValueError` whose message is one sentence that says what was wrong and
what to pass instead.
"""

import numpy as np

from imgrec.explain import layers


def as_batch(model, image):
    """Returns a `(1, H, W, C)` float32 batch from one preprocessed image.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255 (`Classifier.preprocess`
            output); `(height, width)` for a one-channel model and `(1, H, W, C)` are accepted.

    Raises:
        ValueError: for an image of another shape or with NaN or infinite values.
    """
    expected = tuple(int(size) for size in model.input_shape[1:])
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2 and len(expected) == 3 and expected[-1] == 1:
        array = array[..., None]
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.shape != expected:
        raise ValueError(
            f"Model {model.name!r} takes one image of shape {expected}, got {array.shape}; "
            "pass Classifier.preprocess(rgb) output."
        )
    if not np.isfinite(array).all():
        raise ValueError("The image holds NaN or infinite values.")
    return array[None]


def num_classes(model):
    """Returns the number of classes: the output width, or 2 for a single sigmoid unit."""
    return max(int(model.output_shape[-1]), 2)


def class_index(model, index):
    """Returns `index` as an int after checking that the model has that class.

    Raises:
        ValueError: for a non-integer or an index outside 0..num_classes(model) - 1.
    """
    count = num_classes(model)
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise ValueError(f"class_index must be an integer, got {index!r}.")
    if not 0 <= int(index) < count:
        raise ValueError(f"class_index must be between 0 and {count - 1} for this model, got {index}.")
    return int(index)


def spatial_layer(model, layer_name):
    """Returns the layer named `layer_name` after checking that its output is a 2-D feature map.

    Raises:
        ValueError: for an unknown layer or one whose output is not `(batch, height, width, channels)`.
    """
    layer = layers.find_layer(model, layer_name)
    if layers.output_rank(layer) != 4 or layers.is_model(layer):
        raise ValueError(
            f"Layer {layer_name!r} has no 2-D feature map (its output is not (batch, height, width, "
            f"channels)); choose one of {layers.spatial_layers(model)}."
        )
    return layer
