"""Tap models: a Keras model that also returns inner tensors, also of layers inside nested models.

When every tapped layer belongs to the model itself this is keras-io's two-liner,
`keras.Model(model.inputs, [layer.output, model.output])`. A layer inside a nested model (a
pretrained base inside a classifier) is not connected to the outer inputs, which is where
other explainer libraries fail with "Graph disconnected"; here the outer graph is re-run
with the nested model swapped for a tap model of its own, whose extra outputs are kept. A
Sequential model's chain is always re-run: one loaded from a file has layers whose `.output`
belongs to an earlier build of it.
"""

import numpy as np

from imgrec.explain import cache, layers


def _tap_tensor(layer, which, inputs=None, outputs=None):
    """Returns the tensor a tap names: a layer's "input", "output" or attention "scores"."""
    if which == "input":
        value = layer.input if inputs is None else inputs
    else:
        value = layer.output if outputs is None else outputs
        if isinstance(value, list | tuple):
            value = value[1] if which == "scores" else value[0]
    return value


def _rebuild(model, call_function):
    """Re-runs a single-input model's graph through `call_function`; returns (input, output) tensors."""
    import keras

    if isinstance(model, keras.Sequential):
        # clone_model refuses call_function for Sequential, whose graph is a plain chain anyway.
        inputs = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype)
        outputs = inputs
        for layer in model.layers:
            if layers.type_name(layer) != "InputLayer":
                outputs = call_function(layer, outputs)
        return inputs, outputs
    # clone_function returns each layer itself, so the rebuilt graph shares every weight.
    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call_function)
    return clone.inputs[0], clone.outputs[0]


def tap_model(model, taps, with_output=True):
    """Builds `keras.Model(inputs, [tapped tensors..., model output])`.

    Args:
        model: a Functional or Sequential `keras.Model`.
        taps: tuple of `(layer, which)`, with `which` in "input", "output", "scores".
        with_output: also return the model's output. Without it, Keras prunes every layer
            after the taps, so reading an early layer of EfficientNet runs only that far.
            Defaults to `True`.

    Returns:
        A `keras.Model` sharing every weight with `model`.

    Raises:
        ValueError: when a tapped layer is not on the path from the input to the output.
    """
    import keras

    own = {id(layer) for layer in model.layers}
    # A Sequential model loaded from a file called its layers once per layer added while it was
    # rebuilt, so a layer's `.output` (its first call) is not on the graph of `model.outputs`:
    # gradients between the two are None. Its chain is re-run instead, as nested models are.
    if all(id(layer) in own for layer, _ in taps) and not isinstance(model, keras.Sequential):
        tensors = [_tap_tensor(layer, which) for layer, which in taps]
        # outputs[0], not .output: a Sequential's .output is undefined until it is called.
        # One input tensor, not the inputs list: a model built on a list warns when called
        # on a bare tensor.
        return keras.Model(model.inputs[0], [*tensors, model.outputs[0]] if with_output else tensors)

    found = {}

    def call_function(layer, *args, **kwargs):
        inner_taps = tuple((tap, which) for tap, which in taps if layers.is_model(layer) and layers.contains(layer, tap))
        if inner_taps:
            inner = tap_model(layer, inner_taps)
            results = inner(*args, **kwargs)
            for tap, tensor in zip(inner_taps, results[:-1], strict=True):
                found[(id(tap[0]), tap[1])] = tensor
            return results[-1]
        outputs = layer(*args, **kwargs)
        for tap, which in taps:
            if tap is layer:
                found[(id(tap), which)] = _tap_tensor(layer, which, args[0] if args else None, outputs)
        return outputs

    inputs, output = _rebuild(model, call_function)
    missing = [layer.name for layer, which in taps if (id(layer), which) not in found]
    if missing:
        raise ValueError(f"Layers {missing} are not on the path from the input to the output of {model.name!r}.")
    tensors = [found[(id(layer), which)] for layer, which in taps]
    return keras.Model(inputs, [*tensors, output] if with_output else tensors)


def batch_spec(model):
    """The `tf.TensorSpec` of a float32 batch of the model's inputs, any batch size."""
    import tensorflow as tf

    return tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)


def run_forward(tap, images):
    """Calls a tap model in inference mode; returns its outputs as a list."""
    outputs = tap(images, training=False)
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def _taps_key(taps):
    return tuple((layer.name, id(layer), which) for layer, which in taps)


def forward_function(model, taps):
    """Returns a cached tf.function: images -> [tapped tensors...]."""

    def build():
        return cache.compile_function(run_forward, (tap_model(model, taps, with_output=False),), [batch_spec(model)])

    return cache.cached(model, ("forward", _taps_key(taps)), build)


def _run_ranges(tap, images):
    import tensorflow as tf

    # Reduced inside the graph: EfficientNet-Lite0's 140 maps are ~80 MB for one image, the
    # (layers, 2) answer a kilobyte.
    return tf.stack([tf.stack([tf.reduce_min(values), tf.reduce_max(values)]) for values in
                     (tf.cast(output, tf.float32) for output in run_forward(tap, images))])


def range_function(model, taps):
    """Returns a cached tf.function: images -> `(len(taps), 2)` of each tap's (min, max) over the batch."""

    def build():
        return cache.compile_function(_run_ranges, (tap_model(model, taps, with_output=False),), [batch_spec(model)])

    return cache.cached(model, ("ranges", _taps_key(taps)), build)


def read(model, batch, taps):
    """Runs a batch through the model once; returns each tap's tensor as a numpy array."""
    return [np.asarray(tensor) for tensor in forward_function(model, taps)(batch)]
