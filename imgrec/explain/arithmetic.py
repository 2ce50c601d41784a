"""The arithmetic behind one output value of a convolution or pooling layer, from what the layer received.

For a teaching page that shows a window of the input, the kernel over it, the products, the
sum, the bias and the activation, and that the result is the number Keras computed.
"""

import numpy as np

from imgrec.explain import checks, layers, taps


def _window_start(out_index, stride, kernel, dilation, in_size, out_size, padding):
    """Returns the input index of a window's first tap (negative inside the padding)."""
    if padding == "valid":
        return out_index * stride
    # TensorFlow's 'same': the total padding is split with the extra row/column at the end.
    effective = (kernel - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return out_index * stride - total // 2


def _gather_window(feature_map, top, left, size, dilation, fill):
    """Returns feature_map[top::dilation, left::dilation] over size, with `fill` outside."""
    height, width = feature_map.shape[:2]
    rows = top + np.arange(size[0]) * dilation[0]
    cols = left + np.arange(size[1]) * dilation[1]
    inside = (rows[:, None] >= 0) & (rows[:, None] < height) & (cols[None, :] >= 0) & (cols[None, :] < width)
    window = np.full((size[0], size[1], *feature_map.shape[2:]), fill, dtype=np.float64)
    safe_rows, safe_cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
    values = feature_map[safe_rows[:, None], safe_cols[None, :]].astype(np.float64)
    window[inside] = values[inside]
    return window, ~inside, rows, cols


def _pooling_step(layer, inputs, channel, top, left, size):
    """The window a max or average pooling reads, and the value it keeps."""
    window, padded, rows, cols = _gather_window(inputs[..., channel], top, left, size, (1, 1), np.nan)
    step = {"input_rows": rows, "input_cols": cols, "padded": padded, "window": window}
    if "MaxPooling2D" in layers.type_names(layer):
        position = np.unravel_index(np.nanargmax(window), window.shape)
        chosen = float(window[position])
        return {
            **step,
            "operation": "max pooling",
            "chosen": chosen,
            "chosen_position": (int(position[0]), int(position[1])),
            "value": chosen,
            "note": "Max pooling keeps the largest value in the window; padding never wins.",
        }
    count = int(np.sum(~padded))
    mean = float(np.nanmean(window))
    return {
        **step,
        "operation": "average pooling",
        "mean": mean,
        "count": count,
        "value": mean,
        "note": f"Average pooling divides the sum by the {count} positions inside the image.",
    }


def _convolution_step(model, layer, inputs, channel, out_channels, top, left):
    """The input patch, kernel, products, sum, bias and activation behind one convolution output."""
    import keras

    kernel = np.asarray(layer.kernel, dtype=np.float64)
    if "DepthwiseConv2D" in layers.type_names(layer):
        multiplier = kernel.shape[3]
        input_channels = [channel // multiplier]
        kernel_slice = kernel[:, :, input_channels, channel % multiplier]
        operation = "depthwise convolution"
    else:
        groups = int(getattr(layer, "groups", 1) or 1)
        per_group_in = kernel.shape[2]
        group = channel // (out_channels // groups)
        input_channels = list(range(group * per_group_in, (group + 1) * per_group_in))
        kernel_slice = kernel[:, :, :, channel]
        operation = "convolution"
    size, dilation = tuple(layer.kernel_size), tuple(layer.dilation_rate)
    window, padded, rows, cols = _gather_window(inputs[..., input_channels], top, left, size, dilation, 0.0)
    products = window * kernel_slice
    total = float(products.sum())
    bias = float(np.asarray(layer.bias)[channel]) if getattr(layer, "use_bias", False) else 0.0
    pre_activation = total + bias
    activation = layer.activation
    activation_name = getattr(activation, "__name__", type(activation).__name__)
    activation_output = float(
        keras.ops.convert_to_numpy(activation(keras.ops.convert_to_tensor(np.array([pre_activation], np.float32))))[0]
    )
    followers = []
    if activation_name == "linear":
        followers = [f"{follower.name} ({layers.type_name(follower)})"
                     for follower in layers.elementwise_followers(model, layer)]
    if followers:
        note = (
            "This conv has no activation of its own: the value shown is its raw output, before "
            f"{' then '.join(followers)}."
        )
    elif activation_name == "linear":
        note = "This conv has no activation: its output is the sum plus the bias."
    else:
        note = f"The sum plus the bias goes through {activation_name}."
    return {
        "operation": operation,
        "input_rows": rows,
        "input_cols": cols,
        "padded": padded,
        "input_patch": window,
        "input_channels": input_channels,
        "kernel": kernel_slice,
        "products": products,
        "sum_per_channel": products.sum(axis=(0, 1)),
        "sum": total,
        "bias": bias,
        "pre_activation": pre_activation,
        "activation": activation_name,
        "activation_output": activation_output,
        "value": activation_output,
        "followed_by": followers,
        "note": note,
    }


def conv_arithmetic(model, image, layer_name, channel, row, col):
    """Shows the arithmetic behind one output value of a Conv2D, DepthwiseConv2D or pooling layer.

    The layer's input comes from a sub-model on `layer.input` (for the first conv that is the
    rescaled image), so what is shown is exactly what the layer received. Positions in the
    padding of a 'same' convolution read 0, as TensorFlow pads.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        layer_name: a Conv2D, DepthwiseConv2D, MaxPooling2D or AveragePooling2D layer.
        channel: the output channel.
        row: the output row.
        col: the output column.

    Returns:
        A dict. Always: `layer`, `type`, `operation` ("convolution", "depthwise convolution",
        "max pooling" or "average pooling"), `row`, `col`, `channel`, `input_rows` and
        `input_cols` (the input coordinates the window reads; outside 0..size-1 is padding),
        `padded` (bool `(kh, kw)`), `value` (what the arithmetic gives), `keras_value` (what
        Keras computed at that position) and `note` (a sentence).
        For a convolution also: `input_patch` `(kh, kw, in)`, `input_channels`, `kernel`
        `(kh, kw, in)`, `products`, `sum_per_channel` `(in,)`, `sum`, `bias`,
        `pre_activation`, `activation` (name), `activation_output` and `followed_by`.
        For pooling also: `window` `(ph, pw)` (NaN in the padding), `chosen` and
        `chosen_position` (max pooling) or `mean` and `count` (average pooling).

    Raises:
        ValueError: for another layer type or an out-of-range position.

    Example:

    >>> model = architectures.build("cnn", (28, 28, 1), 10)
    >>> step = conv_arithmetic(model, np.full((28, 28, 1), 128, np.float32), "conv1", channel=0, row=5, col=5)
    >>> bool(np.isclose(step["activation_output"], step["keras_value"], atol=1e-4))
    True
    """
    layer = layers.find_layer(model, layer_name)
    names = layers.type_names(layer)
    is_conv = bool(names.intersection(("Conv2D", "DepthwiseConv2D"))) and "SeparableConv2D" not in names
    is_pool = bool(names.intersection(("MaxPooling2D", "AveragePooling2D")))
    if not (is_conv or is_pool):
        raise ValueError(
            f"Layer {layer_name!r} is a {layers.type_name(layer)}; the arithmetic view covers Conv2D, "
            "DepthwiseConv2D, MaxPooling2D and AveragePooling2D layers."
        )
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"Layer {layer_name!r} is channels_first, which the arithmetic view does not cover.")
    results = taps.read(model, checks.as_batch(model, image), ((layer, "input"), (layer, "output")))
    inputs, outputs = results[0][0], results[1][0]
    out_height, out_width, out_channels = outputs.shape
    for label, value, limit in (("channel", channel, out_channels), ("row", row, out_height), ("col", col, out_width)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < limit:
            raise ValueError(f"{label} must be an integer from 0 to {limit - 1} for layer {layer_name!r}, got {value!r}.")
    channel, row, col = int(channel), int(row), int(col)

    size = tuple(layer.kernel_size) if is_conv else tuple(layer.pool_size)
    dilation = tuple(layer.dilation_rate) if is_conv else (1, 1)
    strides, padding = tuple(layer.strides), layer.padding
    top = _window_start(row, strides[0], size[0], dilation[0], inputs.shape[0], out_height, padding)
    left = _window_start(col, strides[1], size[1], dilation[1], inputs.shape[1], out_width, padding)
    result = {
        "layer": layer.name,
        "type": layers.type_name(layer),
        "row": row,
        "col": col,
        "channel": channel,
        "keras_value": float(outputs[row, col, channel]),
    }
    if is_pool:
        return {**result, **_pooling_step(layer, inputs, channel, top, left, size)}
    return {**result, **_convolution_step(model, layer, inputs, channel, out_channels, top, left)}
