"""What a layer computed for one image, and what a convolution learned: feature maps, activation ranges, kernels."""

import numpy as np

from imgrec.explain import checks, layers, taps


def feature_maps(model, image, layer_name):
    """Returns a layer's activations for one image.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        layer_name: any layer (see `layer_table`), also inside a nested model.

    Returns:
        `(h, w, channels)` for a spatial layer, `(tokens, dim)` for a sequence,
        `(units,)` for a dense layer.

    Raises:
        ValueError: for an unknown layer or a bad image.

    Example:

    >>> model = architectures.build("cnn", (28, 28, 1), 10)
    >>> feature_maps(model, np.zeros((28, 28, 1), np.float32), "conv1").shape
    (26, 26, 32)
    """
    layer = layers.find_layer(model, layer_name)
    return taps.read(model, checks.as_batch(model, image), ((layer, "output"),))[0][0]


def activation_ranges(model, image, layer_names=None):
    """Returns `{layer name: (min, max)}` of the activations of several layers, in ONE forward pass.

    For `figures.heatmap_grid(..., scale="global", global_range=...)`: the min of the mins
    and the max of the maxes put every layer on one colour scale. One multi-output sub-model
    (cached per model and layer list) runs once and reduces each map to its min and max in
    the graph: on EfficientNet-Lite0 (140 spatial layers), 0.07 s warm on 2 busy cores (0.36 s
    when the maps came back whole), 2.5 to 3.7 s for the first call, which builds and traces.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        layer_names: the layers. Defaults to `spatial_layers(model)`: every feature map.

    Returns:
        A dict in the order of `layer_names`; empty when there are no layers.
    """
    names = layers.spatial_layers(model) if layer_names is None else list(layer_names)
    batch = checks.as_batch(model, image)
    if not names:
        return {}
    tapped = tuple((layers.find_layer(model, name), "output") for name in names)
    ranges = np.asarray(taps.range_function(model, tapped)(batch))
    return {name: (float(low), float(high)) for name, (low, high) in zip(names, ranges, strict=True)}


def conv_kernels(model, layer_name):
    """Returns a convolution's kernel `(kh, kw, in, out)` and bias `(out,)` (or None).

    A depthwise kernel `(kh, kw, channels, multiplier)` is returned as
    `(kh, kw, 1, channels * multiplier)`: output channel `c` filters input channel
    `c // multiplier` alone, which is the order TensorFlow lays its outputs out in.

    Raises:
        ValueError: for a layer that is not a 2-D convolution.
    """
    layer = layers.find_layer(model, layer_name)
    names = layers.type_names(layer)
    if not names.intersection(("Conv2D", "DepthwiseConv2D")) or "SeparableConv2D" in names:
        raise ValueError(f"Layer {layer_name!r} is a {layers.type_name(layer)}, not a Conv2D or DepthwiseConv2D.")
    kernel = np.asarray(layer.kernel, dtype=np.float32)
    if "DepthwiseConv2D" in names:
        kernel_height, kernel_width, channels, multiplier = kernel.shape
        kernel = kernel.reshape(kernel_height, kernel_width, 1, channels * multiplier)
    bias = np.asarray(layer.bias, dtype=np.float32) if getattr(layer, "use_bias", False) else None
    return kernel, bias
