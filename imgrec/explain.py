"""What a model sees and why it decides: layers, feature maps, kernels, convolution arithmetic, Grad-CAM(++), saliency, attention.

Every function takes a Keras model and ONE preprocessed image (`Classifier.preprocess`
output: float32 `(height, width, channels)` in 0..255) and returns numpy arrays; drawing
is `figures.py`'s job. Heatmaps are `(height, width)` at the model's input size, in [0, 1].

Written here rather than taken from tf-keras-vis: its 0.8.7 runs on Keras 3.15 / TF 2.21
for flat models but fails on nested ones ("Output with path `1` is not connected to
`inputs`"), rebuilds an eager graph per call (~80 ms on the CNN, ~520 ms Grad-CAM on
EfficientNet-Lite0 on 2 cores) and has no attention rollout.

Gradients are taken with `tf.GradientTape` inside `tf.function`s cached per model (weakly,
as in `inference.py`) and per layer, so a repeated click costs one graph call, not a
rebuild. Layers inside nested models (a pretrained base inside a classifier) are reached
by re-running the outer graph with the nested model swapped for a copy of itself that
also returns the tapped tensors, so explainers never hit "Graph disconnected".

Example:

>>> model = architectures.build("cnn", (28, 28, 1), 10)
>>> image = np.zeros((28, 28, 1), np.float32)
>>> gradcam(model, image, class_index=3).shape
(28, 28)
"""

import functools
import threading
import weakref

import numpy as np

# Grad-CAM and friends are computed from a class score. For a softmax or sigmoid head we use
# the logit (pre-activation), as Selvaraju et al. do: probabilities saturate on a confident
# model and their gradients vanish. Without a findable logit, log-probabilities stand in.
_PROBABILITY_FLOOR = 1e-7

# Layers whose 4-D output is not an image-aligned feature map (Permute swaps the axes) or is
# only the input itself (normalisation), so they are not offered as feature maps.
_NOT_SPATIAL = ("InputLayer", "Rescaling", "Normalization", "Permute", "Reshape")
# Element-wise layers that may follow a conv before its map is final (conv -> bn -> relu).
_ELEMENTWISE = (
    "BatchNormalization",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "LayerNormalization",
    "GroupNormalization",
)
_CONV_TYPES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
_KINDS = (
    ("attention", ("MultiHeadAttention", "GroupedQueryAttention", "Attention", "AdditiveAttention")),
    ("recurrent", ("RNN", "SimpleRNN", "GRU", "LSTM", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")),
    ("conv", ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
              "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")),
    ("pool", ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
              "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
              "GlobalAveragePooling2D")),
    ("dense", ("Dense", "EinsumDense")),
)

DESCRIPTIONS = {
    "gradcam": "Grad-CAM: the last conv feature maps, each weighted by how much the class score "
    "rises when that map rises (its average gradient). Coarse, class-specific regions.",
    "gradcam++": "Grad-CAM++: like Grad-CAM, but each map's weight counts only the positive "
    "gradients, weighted pixel by pixel, so several objects of a class all light up.",
    "saliency": "Saliency: how much the class score changes when each input pixel changes "
    "(the absolute gradient). Sharp but noisy.",
    "smoothgrad": "SmoothGrad: saliency averaged over noisy copies of the image, which washes "
    "out the noise and keeps what is stable.",
    "rollout": "Attention rollout: the class token's attention, multiplied through every "
    "transformer block (with the residual path), mapped back to the patches.",
}

# ---------------------------------------------------------------------------------------
# Caching: one entry per model object, holding sub-models and compiled functions per layer.
# ---------------------------------------------------------------------------------------

# Weak keys: a model that is dropped (a replaced registry entry) frees its graphs too. The
# values hold layers and sub-models, never the model object itself.
_CACHE = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.RLock()
# Someone clicking through all 140 layers of EfficientNet would otherwise keep 140 graphs;
# the oldest are dropped and rebuilt on demand (one trace, about a second).
_MAX_ENTRIES_PER_MODEL = 48


def _cached(model, key, build):
    """Returns `build()` for (model, key), computing it once per live model."""
    with _CACHE_LOCK:
        entries = _CACHE.setdefault(model, {})
        if key in entries:
            entries[key] = entries.pop(key)  # Most recently used last.
        else:
            entries[key] = build()
            while len(entries) > _MAX_ENTRIES_PER_MODEL:
                entries.pop(next(iter(entries)))
        return entries[key]


def clear_cache(model=None):
    """Forgets the compiled functions of one model (or of all models)."""
    with _CACHE_LOCK:
        if model is None:
            _CACHE.clear()
        else:
            _CACHE.pop(model, None)


# ---------------------------------------------------------------------------------------
# Finding layers, also inside nested models.
# ---------------------------------------------------------------------------------------


def _is_model(layer):
    import keras

    return isinstance(layer, keras.Model)


def _walk(model, depth=0):
    """Yields `(layer, depth, owner)` for every layer, descending into nested models."""
    for layer in model.layers:
        yield layer, depth, model
        if _is_model(layer):
            yield from _walk(layer, depth + 1)


def _contains(model, layer):
    return any(candidate is layer for candidate, _, _ in _walk(model))


def find_layer(model, layer_name):
    """Returns the layer named `layer_name`, looking inside nested models too.

    A plain name is searched breadth-first (the outer model wins a clash); "outer/inner"
    names a layer inside the nested model "outer".

    Raises:
        ValueError: if no layer has that name.
    """
    if not isinstance(layer_name, str) or not layer_name:
        raise ValueError(f"A layer name must be a non-empty string, got {layer_name!r}.")
    if "/" in layer_name:
        outer, _, rest = layer_name.partition("/")
        parent = find_layer(model, outer)
        if not _is_model(parent):
            raise ValueError(f"Layer {outer!r} is not a nested model, so it has no layer {rest!r}.")
        return find_layer(parent, rest)
    queue = [model]
    while queue:
        current = queue.pop(0)
        for layer in current.layers:
            if layer.name == layer_name:
                return layer
            if _is_model(layer):
                queue.append(layer)
    raise ValueError(
        f"Model {model.name!r} has no layer named {layer_name!r}; "
        f"see layer_table(model) for the names it has."
    )


def _type_names(layer):
    return {cls.__name__ for cls in type(layer).__mro__}


def _type_name(layer):
    return type(layer).__name__


def _layer_kind(layer):
    names = _type_names(layer)
    for kind, types in _KINDS:
        if names.intersection(types):
            return kind
    return "other"


def _output_tensors(layer):
    output = layer.output
    return list(output) if isinstance(output, list | tuple) else [output]


def _output_rank(layer):
    try:
        return len(_output_tensors(layer)[0].shape)
    except (AttributeError, ValueError):  # A layer never called has no output.
        return None


def layer_table(model):
    """Returns a model summary as data: one dict per layer, nested models expanded.

    Args:
        model: a `keras.Model`.

    Returns:
        A list of dicts with `name`, `type` (the class name), `output_shape` (a string),
        `parameters` (int), `kind` ("conv", "pool", "dense", "attention", "recurrent" or
        "other") and `depth` (0 for the model's own layers, 1 inside a nested model...).

    Example:

    >>> [row["name"] for row in layer_table(architectures.build("cnn", (28, 28, 1), 10))][:3]
    ['image', 'rescale', 'conv1']
    """
    rows = []
    for layer, depth, _ in _walk(model):
        try:
            shapes = [tuple(tensor.shape) for tensor in _output_tensors(layer)]
        except (AttributeError, ValueError):
            shapes = []
        if len(shapes) == 2 and _layer_kind(layer) == "attention":
            shape_text = f"{shapes[0]} + scores {shapes[1]}"
        else:
            shape_text = " + ".join(str(shape) for shape in shapes)
        rows.append(
            {
                "name": layer.name,
                "type": _type_name(layer),
                "output_shape": shape_text.replace("None", "batch") if shape_text else "?",
                "parameters": int(layer.count_params()) if layer.built else 0,
                "kind": _layer_kind(layer),
                "depth": depth,
            }
        )
    return rows


def spatial_layers(model):
    """Returns the names of layers with a 4-D `(batch, height, width, channels)` output, in order.

    The input, its normalisation and axis-shuffling layers (Permute, Reshape) are left out:
    their maps are not the network's own features.
    """
    names = []
    for layer, _, _ in _walk(model):
        if _is_model(layer) or _type_names(layer).intersection(_NOT_SPATIAL):
            continue
        if _output_rank(layer) == 4:
            names.append(layer.name)
    return names


def _last_conv_layer(model):
    from imgrec import pretrained

    if pretrained.LAST_CONV_LAYER in {layer.name for layer, _, _ in _walk(model)}:
        return find_layer(model, pretrained.LAST_CONV_LAYER)
    # The last convolution, then forward through the element-wise layers that finish its map
    # (cnn-deep: conv6 -> bn6 -> relu6), so Grad-CAM weights the map after its non-linearity.
    best = None
    for layer, _, owner in _walk(model):
        if _type_names(layer).intersection(_CONV_TYPES) and _output_rank(layer) == 4:
            best = (layer, owner)
    if best is None:
        spatial = spatial_layers(model)
        return find_layer(model, spatial[-1]) if spatial else None
    current, owner = best
    layers = owner.layers
    for layer in layers[layers.index(current) + 1 :]:
        if not _type_names(layer).intersection(_ELEMENTWISE):
            continue
        try:
            if layer.input is current.output:
                current = layer
        except (AttributeError, ValueError):
            continue
    return current


def last_conv_layer_name(model):
    """Returns the name of the last 4-D feature map that Grad-CAM should weight.

    That is the last convolution's map after its batch norm and activation (for
    EfficientNet-Lite0, `pretrained.LAST_CONV_LAYER`).

    Raises:
        ValueError: when the model has no spatial feature map (rnn, mlp).

    Example:

    >>> last_conv_layer_name(architectures.build("cnn", (28, 28, 1), 10))
    'conv2'
    """
    layer = _last_conv_layer(model)
    if layer is None:
        raise ValueError(
            f"Model {model.name!r} has no convolutional feature map, so Grad-CAM has nothing to "
            "weight; use saliency or smoothgrad for this model."
        )
    return layer.name


# ---------------------------------------------------------------------------------------
# Tapping intermediate tensors, also inside nested models.
# ---------------------------------------------------------------------------------------


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
            if _type_name(layer) != "InputLayer":
                outputs = call_function(layer, outputs)
        return inputs, outputs
    # clone_function returns each layer itself, so the rebuilt graph shares every weight.
    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call_function)
    return clone.inputs[0], clone.outputs[0]


def _tap_model(model, taps, with_output=True):
    """Builds `keras.Model(inputs, [tapped tensors..., model output])`.

    Args:
        model: a Functional or Sequential `keras.Model`.
        taps: tuple of `(layer, which)`, with `which` in "input", "output", "scores".
        with_output: also return the model's output. Without it, Keras prunes every layer
            after the taps, so reading an early layer of EfficientNet runs only that far.

    The keras-io two-liner when every tapped layer belongs to `model` itself. Otherwise the
    graph is rebuilt around the nested model that holds the layer: that nested model is
    called through a tap model of its own, whose extra outputs are kept.
    """
    import keras

    own = {id(layer) for layer in model.layers}
    if all(id(layer) in own for layer, _ in taps):
        tensors = [_tap_tensor(layer, which) for layer, which in taps]
        # outputs[0], not .output: a Sequential's .output is undefined until it is called.
        # One input tensor, not the inputs list: a model built on a list warns when called
        # on a bare tensor.
        return keras.Model(model.inputs[0], [*tensors, model.outputs[0]] if with_output else tensors)

    found = {}

    def call_function(layer, *args, **kwargs):
        inner_taps = tuple((tap, which) for tap, which in taps if _is_model(layer) and _contains(layer, tap))
        if inner_taps:
            inner = _tap_model(layer, inner_taps)
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


def _head(model):
    """Returns the layer that produces the final output, looking inside a nested model."""
    layer = model.layers[-1]
    while _is_model(layer):
        layer = layer.layers[-1]
    return layer


def _score_setup(model):
    """Returns (head taps, function(head values, model output) -> logits) for class scores."""
    head = _head(model)
    activation = getattr(getattr(head, "activation", None), "__name__", None)
    if "Dense" in _type_names(head) and activation in ("softmax", "sigmoid"):
        import keras

        def logits(values, _output):
            # The Dense layer's own pre-activation: x @ kernel + bias.
            result = keras.ops.matmul(values[0], head.kernel)
            return result + head.bias if head.use_bias else result

        return ((head, "input"),), logits
    if activation == "linear":
        return (), lambda _values, output: output

    import keras

    def from_probabilities(_values, output):
        probabilities = keras.ops.clip(output, _PROBABILITY_FLOOR, 1.0 - _PROBABILITY_FLOOR)
        if output.shape[-1] == 1:
            return keras.ops.log(probabilities) - keras.ops.log(1.0 - probabilities)
        return keras.ops.log(probabilities)

    return (), from_probabilities


def _class_score(logits, class_index):
    """Picks one class's score per sample; a single sigmoid logit z scores class 1 as z, class 0 as -z."""
    import tensorflow as tf

    if logits.shape[-1] == 1:
        sign = tf.where(tf.equal(class_index, 1), 1.0, -1.0)
        return sign * logits[:, 0]
    return tf.gather(logits, class_index, axis=1)


def _batch_spec(model):
    import tensorflow as tf

    return tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)


def _run_forward(tap_model, images):
    outputs = tap_model(images, training=False)
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def _compile(python_function, bound, specs):
    """Wraps `python_function(*bound, *tensors)` in a tf.function with a fixed input signature.

    A `functools.partial` rather than a closure: TensorFlow counts traces per code object,
    and would warn about "excessive retracing" when each layer's own function traces once.
    """
    import tensorflow as tf

    return tf.function(functools.partial(python_function, *bound), input_signature=list(specs), reduce_retracing=True)


def _forward_function(model, taps):
    """Returns a cached tf.function: images -> [tapped tensors...]."""

    def build():
        return _compile(_run_forward, (_tap_model(model, taps, with_output=False),), [_batch_spec(model)])

    return _cached(model, ("forward", tuple((layer.name, id(layer), which) for layer, which in taps)), build)


def _run_ranges(tap_model, images):
    import tensorflow as tf

    # Reduced inside the graph: EfficientNet-Lite0's 140 maps are ~80 MB for one image, the
    # (layers, 2) answer a kilobyte.
    return tf.stack([tf.stack([tf.reduce_min(values), tf.reduce_max(values)]) for values in
                     (tf.cast(output, tf.float32) for output in _run_forward(tap_model, images))])


def _range_function(model, taps):
    """Returns a cached tf.function: images -> `(len(taps), 2)` of each tap's (min, max) over the batch."""

    def build():
        return _compile(_run_ranges, (_tap_model(model, taps, with_output=False),), [_batch_spec(model)])

    return _cached(model, ("ranges", tuple((layer.name, id(layer), which) for layer, which in taps)), build)


def _feature_gradients(tap_model, logits_of, images, class_index):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        # Watching the input records every op, also through frozen (non-trainable) layers.
        tape.watch(images)
        results = _run_forward(tap_model, images)
        activations = results[0]
        score = _class_score(logits_of(results[1:-1], results[-1]), class_index)
    return activations, tape.gradient(score, activations)


def _input_gradients(tap_model, logits_of, images, class_index):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(images)
        results = _run_forward(tap_model, images)
        score = _class_score(logits_of(results[:-1], results[-1]), class_index)
    # Each sample's score depends on its own pixels only, so one gradient serves the batch.
    return tape.gradient(score, images)


def _gradient_specs(model):
    import tensorflow as tf

    return [_batch_spec(model), tf.TensorSpec((), tf.int32)]


def _feature_gradient_function(model, layer):
    """Returns a cached tf.function: (images, class index) -> (activations, d score / d activations)."""

    def build():
        head_taps, logits_of = _score_setup(model)
        tap_model = _tap_model(model, ((layer, "output"), *head_taps))
        return _compile(_feature_gradients, (tap_model, logits_of), _gradient_specs(model))

    return _cached(model, ("feature_gradients", layer.name, id(layer)), build)


def _input_gradient_function(model):
    """Returns a cached tf.function: (images, class index) -> d score / d images."""

    def build():
        head_taps, logits_of = _score_setup(model)
        return _compile(_input_gradients, (_tap_model(model, head_taps), logits_of), _gradient_specs(model))

    return _cached(model, ("input_gradients",), build)


# ---------------------------------------------------------------------------------------
# Checking arguments.
# ---------------------------------------------------------------------------------------


def _as_batch(model, image):
    """Returns a (1, H, W, C) float32 batch from one preprocessed image."""
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


def _check_class(model, class_index):
    count = num_classes(model)
    if isinstance(class_index, bool) or not isinstance(class_index, int | np.integer):
        raise ValueError(f"class_index must be an integer, got {class_index!r}.")
    if not 0 <= int(class_index) < count:
        raise ValueError(f"class_index must be between 0 and {count - 1} for this model, got {class_index}.")
    return int(class_index)


def _spatial_layer(model, layer_name):
    layer = find_layer(model, layer_name)
    if _output_rank(layer) != 4 or _is_model(layer):
        raise ValueError(
            f"Layer {layer_name!r} has no 2-D feature map (its output is not (batch, height, width, "
            f"channels)); choose one of {spatial_layers(model)}."
        )
    return layer


# ---------------------------------------------------------------------------------------
# Feature maps and kernels.
# ---------------------------------------------------------------------------------------


def feature_maps(model, image, layer_name):
    """Returns a layer's activations for one image.

    Args:
        model: a `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        layer_name: any layer (see `layer_table`).

    Returns:
        `(h, w, channels)` for a spatial layer, `(tokens, dim)` for a sequence,
        `(units,)` for a dense layer.

    Example:

    >>> feature_maps(model, image, "conv1").shape
    (26, 26, 32)
    """
    layer = find_layer(model, layer_name)
    batch = _as_batch(model, image)
    forward = _forward_function(model, ((layer, "output"),))
    return np.asarray(forward(batch)[0])[0]


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
        layer_names: the layers. Defaults to `spatial_layers(model)`.

    Returns:
        A dict in the order of `layer_names`; empty when there are no layers.

    Example:

    >>> activation_ranges(model, image)["conv1"]
    (-0.41, 2.73)
    """
    names = spatial_layers(model) if layer_names is None else list(layer_names)
    batch = _as_batch(model, image)
    if not names:
        return {}
    layers = tuple(find_layer(model, name) for name in names)
    ranges = np.asarray(_range_function(model, tuple((layer, "output") for layer in layers))(batch))
    return {name: (float(low), float(high)) for name, (low, high) in zip(names, ranges, strict=True)}


def activation_ranges_all(model, image):
    """Returns `{layer name: (min, max)}` for every spatial layer, in one forward pass.

    The same as `activation_ranges(model, image)`; named for the page that asks for all.
    """
    return activation_ranges(model, image)


def conv_kernels(model, layer_name):
    """Returns a convolution's kernel `(kh, kw, in, out)` and bias `(out,)` (or None).

    A depthwise kernel `(kh, kw, channels, multiplier)` is returned as
    `(kh, kw, 1, channels * multiplier)`: output channel `c` filters input channel
    `c // multiplier` alone, which is the order TensorFlow lays its outputs out in.

    Raises:
        ValueError: for a layer that is not a 2-D convolution.
    """
    layer = find_layer(model, layer_name)
    names = _type_names(layer)
    if not names.intersection(("Conv2D", "DepthwiseConv2D")) or "SeparableConv2D" in names:
        raise ValueError(f"Layer {layer_name!r} is a {_type_name(layer)}, not a Conv2D or DepthwiseConv2D.")
    kernel = np.asarray(layer.kernel, dtype=np.float32)
    if "DepthwiseConv2D" in names:
        kernel_height, kernel_width, channels, multiplier = kernel.shape
        kernel = kernel.reshape(kernel_height, kernel_width, 1, channels * multiplier)
    bias = np.asarray(layer.bias, dtype=np.float32) if getattr(layer, "use_bias", False) else None
    return kernel, bias


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


def _followers(model, layer):
    """Names the element-wise layers that directly finish a conv's map (bn, relu...)."""
    for _, _, owner in _walk(model):
        if any(candidate is layer for candidate in owner.layers):
            break
    else:
        owner = model
    followers, current = [], layer
    for candidate in owner.layers[owner.layers.index(layer) + 1 :]:
        if not _type_names(candidate).intersection(_ELEMENTWISE):
            continue
        try:
            if candidate.input is current.output:
                followers.append(f"{candidate.name} ({_type_name(candidate)})")
                current = candidate
        except (AttributeError, ValueError):
            continue
    return followers


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

    >>> step = conv_arithmetic(model, image, "conv1", channel=0, row=5, col=5)
    >>> bool(np.isclose(step["activation_output"], step["keras_value"], atol=1e-4))
    True
    """
    import keras

    layer = find_layer(model, layer_name)
    names = _type_names(layer)
    is_conv = bool(names.intersection(("Conv2D", "DepthwiseConv2D"))) and "SeparableConv2D" not in names
    is_pool = bool(names.intersection(("MaxPooling2D", "AveragePooling2D")))
    if not (is_conv or is_pool):
        raise ValueError(
            f"Layer {layer_name!r} is a {_type_name(layer)}; the arithmetic view covers Conv2D, "
            "DepthwiseConv2D, MaxPooling2D and AveragePooling2D layers."
        )
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"Layer {layer_name!r} is channels_first, which the arithmetic view does not cover.")
    forward = _forward_function(model, ((layer, "input"), (layer, "output")))
    results = forward(_as_batch(model, image))
    inputs, outputs = np.asarray(results[0])[0], np.asarray(results[1])[0]
    out_height, out_width, out_channels = outputs.shape
    for label, value, limit in (("channel", channel, out_channels), ("row", row, out_height), ("col", col, out_width)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < limit:
            raise ValueError(f"{label} must be an integer from 0 to {limit - 1} for layer {layer_name!r}, got {value!r}.")
    channel, row, col = int(channel), int(row), int(col)

    if is_conv:
        size = tuple(layer.kernel_size)
        dilation = tuple(layer.dilation_rate)
    else:
        size = tuple(layer.pool_size)
        dilation = (1, 1)
    strides = tuple(layer.strides)
    padding = layer.padding
    top = _window_start(row, strides[0], size[0], dilation[0], inputs.shape[0], out_height, padding)
    left = _window_start(col, strides[1], size[1], dilation[1], inputs.shape[1], out_width, padding)
    keras_value = float(outputs[row, col, channel])
    result = {
        "layer": layer.name,
        "type": _type_name(layer),
        "row": row,
        "col": col,
        "channel": channel,
        "keras_value": keras_value,
    }

    if is_pool:
        window, padded, rows, cols = _gather_window(inputs[..., channel], top, left, size, dilation, np.nan)
        result.update({"input_rows": rows, "input_cols": cols, "padded": padded, "window": window})
        if "MaxPooling2D" in names:
            position = np.unravel_index(np.nanargmax(window), window.shape)
            chosen = float(window[position])
            result.update(
                {
                    "operation": "max pooling",
                    "chosen": chosen,
                    "chosen_position": (int(position[0]), int(position[1])),
                    "value": chosen,
                    "note": "Max pooling keeps the largest value in the window; padding never wins.",
                }
            )
        else:
            count = int(np.sum(~padded))
            mean = float(np.nanmean(window))
            result.update(
                {
                    "operation": "average pooling",
                    "mean": mean,
                    "count": count,
                    "value": mean,
                    "note": f"Average pooling divides the sum by the {count} positions inside the image.",
                }
            )
        return result

    kernel = np.asarray(layer.kernel, dtype=np.float64)
    if "DepthwiseConv2D" in names:
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
    window, padded, rows, cols = _gather_window(inputs[..., input_channels], top, left, size, dilation, 0.0)
    products = window * kernel_slice
    sum_per_channel = products.sum(axis=(0, 1))
    total = float(products.sum())
    bias = float(np.asarray(layer.bias)[channel]) if getattr(layer, "use_bias", False) else 0.0
    pre_activation = total + bias
    activation = layer.activation
    activation_name = getattr(activation, "__name__", type(activation).__name__)
    activation_output = float(
        keras.ops.convert_to_numpy(activation(keras.ops.convert_to_tensor(np.array([pre_activation], np.float32))))[0]
    )
    followers = _followers(model, layer) if activation_name == "linear" else []
    if followers:
        note = (
            "This conv has no activation of its own: the value shown is its raw output, before "
            f"{' then '.join(followers)}."
        )
    elif activation_name == "linear":
        note = "This conv has no activation: its output is the sum plus the bias."
    else:
        note = f"The sum plus the bias goes through {activation_name}."
    result.update(
        {
            "operation": operation,
            "input_rows": rows,
            "input_cols": cols,
            "padded": padded,
            "input_patch": window,
            "input_channels": input_channels,
            "kernel": kernel_slice,
            "products": products,
            "sum_per_channel": sum_per_channel,
            "sum": total,
            "bias": bias,
            "pre_activation": pre_activation,
            "activation": activation_name,
            "activation_output": activation_output,
            "value": activation_output,
            "followed_by": followers,
            "note": note,
        }
    )
    return result


# ---------------------------------------------------------------------------------------
# Gradient explainers.
# ---------------------------------------------------------------------------------------


def upsample(heatmap, height, width):
    """Resizes a 2-D map to (height, width) with bilinear interpolation (a no-op at that size).

    Bilinear weights are non-negative and sum to 1, so a map in [0, 1] stays in [0, 1].
    """
    from PIL import Image

    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"A heatmap must be 2-D, got shape {heatmap.shape}.")
    if heatmap.shape == (height, width):
        return heatmap.copy()
    resized = Image.fromarray(np.ascontiguousarray(heatmap)).resize((int(width), int(height)), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def _unit_range(heatmap):
    """Divides a non-negative map by its maximum; an all-zero map stays zero."""
    heatmap = np.nan_to_num(np.maximum(np.asarray(heatmap, dtype=np.float32), 0.0))
    peak = float(heatmap.max()) if heatmap.size else 0.0
    return heatmap / peak if peak > 0 else np.zeros_like(heatmap)


def gradcam_from_gradients(activations, gradients, plus=False):
    """Combines feature maps and their gradients into a class activation map.

    Grad-CAM (Selvaraju et al., 2017) weights each channel by its average gradient.
    Grad-CAM++ (Chattopadhyay et al., 2018) weights each channel by its positive gradients,
    each scaled by alpha = g^2 / (2 g^2 + sum(A) g^3) (the closed form for an exponential
    score), so small, repeated objects are not drowned by one large one.

    Args:
        activations: `(h, w, channels)` feature maps A.
        gradients: `(h, w, channels)` d score / d A.
        plus: Grad-CAM++ instead of Grad-CAM. Defaults to `False`.

    Returns:
        `(h, w)` map, ReLU'd, not yet normalised.
    """
    activations = np.asarray(activations, dtype=np.float64)
    gradients = np.asarray(gradients, dtype=np.float64)
    if plus:
        squared = gradients**2
        denominator = 2.0 * squared + activations.sum(axis=(0, 1), keepdims=True) * squared * gradients
        alphas = np.divide(squared, denominator, out=np.zeros_like(squared), where=denominator != 0)
        weights = (alphas * np.maximum(gradients, 0.0)).sum(axis=(0, 1))
    else:
        weights = gradients.mean(axis=(0, 1))
    # Only regions that raise the class score count: the ReLU of the weighted sum.
    return np.maximum(activations @ weights, 0.0)


def gradcam(model, image, class_index, layer_name=None, plus=False):
    """Returns the Grad-CAM (or Grad-CAM++) heatmap of one class for one image.

    Grad-CAM assumes a feature counts for the class wherever it appears, as behind a global
    average pool. Behind a Flatten + Dense head that weighs each position differently, a
    channel's average gradient can be negative even where it decides the class: on a toy
    task whose label is the quadrant of a square, Grad-CAM's map was empty at the square
    (31 of 40 peaks elsewhere) while Grad-CAM++ and saliency found it every time.

    Args:
        model: a `keras.Model` with a convolutional feature map.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain. For a sigmoid head, class 1 uses the logit z
            and class 0 uses -z.
        layer_name: the 4-D layer whose maps are weighted. Defaults to
            `last_conv_layer_name(model)`.
        plus: Grad-CAM++ instead of Grad-CAM. Defaults to `False`.

    Returns:
        float32 `(height, width)` in [0, 1] at the model's input size.

    Raises:
        ValueError: for a model without a convolutional map (rnn, mlp), a bad class or image.

    Example:

    >>> heatmap = gradcam(model, image, class_index=7)
    >>> heatmap.shape, float(heatmap.max()) <= 1.0
    ((28, 28), True)
    """
    import tensorflow as tf

    class_index = _check_class(model, class_index)
    batch = _as_batch(model, image)
    layer = _spatial_layer(model, layer_name if layer_name is not None else last_conv_layer_name(model))
    activations, gradients = _feature_gradient_function(model, layer)(batch, tf.constant(class_index, tf.int32))
    cam = gradcam_from_gradients(np.asarray(activations)[0], np.asarray(gradients)[0], plus=plus)
    return _unit_range(upsample(_unit_range(cam), batch.shape[1], batch.shape[2]))


def input_gradients(model, images, class_index):
    """Returns d score / d pixels for a batch of images `(n, H, W, C)`, as float32."""
    import tensorflow as tf

    class_index = _check_class(model, class_index)
    gradients = _input_gradient_function(model)(
        np.asarray(images, dtype=np.float32), tf.constant(class_index, tf.int32)
    )
    return np.asarray(gradients)


def saliency(model, image, class_index):
    """Returns the vanilla gradient saliency map (Simonyan et al., 2014) of one class.

    Args:
        model: any differentiable `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.

    Returns:
        float32 `(height, width)`: |d score / d pixel|, max over channels, scaled to [0, 1].
    """
    gradients = input_gradients(model, _as_batch(model, image), class_index)[0]
    return _unit_range(np.abs(gradients).max(axis=-1))


def smoothgrad(model, image, class_index, samples=16, noise=0.15, seed=0):
    """Returns SmoothGrad (Smilkov et al., 2017): gradients averaged over noisy copies.

    Args:
        model: any differentiable `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.
        samples: noisy copies, all in one batch. Defaults to `16`.
        noise: noise standard deviation as a fraction of the 0..255 pixel range (the paper
            finds 10-20% best). Defaults to `0.15`.
        seed: seed of the noise, so a map is reproducible. Defaults to `0`.

    Returns:
        float32 `(height, width)`: |mean gradient|, max over channels, scaled to [0, 1].
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 256:
        raise ValueError(f"samples must be an integer from 1 to 256, got {samples!r}.")
    if not 0.0 <= float(noise) <= 1.0:
        raise ValueError(f"noise must be a fraction of the pixel range in [0, 1], got {noise!r}.")
    batch = _as_batch(model, image)
    rng = np.random.default_rng(seed)
    noisy = batch + rng.normal(0.0, float(noise) * 255.0, size=(samples, *batch.shape[1:])).astype(np.float32)
    total = np.zeros(batch.shape[1:], dtype=np.float64)
    # Chunks of 16 keep memory flat on EfficientNet (16 x 224 x 224 x 3 activations per pass).
    for start in range(0, samples, 16):
        total += input_gradients(model, noisy[start : start + 16], class_index).sum(axis=0)
    return _unit_range(np.abs(total / samples).max(axis=-1))


# ---------------------------------------------------------------------------------------
# Attention (ViT).
# ---------------------------------------------------------------------------------------


def _attention_layers(model):
    """The MultiHeadAttention layers whose scores are in the graph, in model order."""
    found = []
    for layer, _, _ in _walk(model):
        if "MultiHeadAttention" in _type_names(layer):
            try:
                outputs = _output_tensors(layer)
            except (AttributeError, ValueError):
                continue
            if len(outputs) == 2 and len(outputs[1].shape) == 4:
                found.append(layer)
    return found


def has_attention(model):
    """Returns True when the model has attention layers whose scores can be read (a ViT)."""
    return bool(_attention_layers(model))


def _require_attention(model):
    layers = _attention_layers(model)
    if not layers:
        raise ValueError(
            f"Model {model.name!r} has no attention layers returning their scores, so there is no "
            "attention to show; attention maps and rollout apply to the ViT."
        )
    return layers


def attention_maps(model, image):
    """Returns every attention layer's scores for one image.

    Returns:
        float32 `(layers, heads, tokens, tokens)`; row i is where token i looks, and sums
        to 1. For our ViT, token 0 is the class token, then the patches row by row.
    """
    layers = _require_attention(model)
    forward = _forward_function(model, tuple((layer, "scores") for layer in layers))
    results = forward(_as_batch(model, image))
    return np.stack([np.asarray(scores)[0] for scores in results]).astype(np.float32)


def attention_rollout(attention, head_fusion="mean", discard_ratio=0.0):
    """Attention rollout (Abnar & Zuidema, 2020): how attention flows from the input tokens through all layers.

    Per layer: fuse the heads, optionally zero the weakest links, add the identity for the
    residual connection, renormalise rows, then multiply the layers together.

    Args:
        attention: `(layers, heads, tokens, tokens)` (as `attention_maps` returns).
        head_fusion: "mean", "max" or "min" over heads. Defaults to `"mean"`.
        discard_ratio: fraction of the lowest attention weights per layer set to zero
            (token 0 to token 0 is always kept), in [0, 1). Defaults to `0.0`.

    Returns:
        float `(tokens, tokens)`; row i says how much each input token reaches token i.
        Rows sum to 1.
    """
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 4 or attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"attention must be (layers, heads, tokens, tokens), got shape {attention.shape}.")
    fusions = {"mean": np.mean, "max": np.max, "min": np.min}
    if head_fusion not in fusions:
        raise ValueError(f"Unknown head_fusion {head_fusion!r}; choose one of {', '.join(fusions)}.")
    if not 0.0 <= float(discard_ratio) < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio!r}.")
    tokens = attention.shape[-1]
    identity = np.eye(tokens)
    rollout = identity.copy()
    for layer_attention in attention:
        fused = fusions[head_fusion](layer_attention, axis=0)
        if discard_ratio > 0:
            flat = fused.reshape(-1).copy()
            lowest = np.argsort(flat, kind="stable")[: int(flat.size * discard_ratio)]
            # jacobgil's rollout keeps the class token's link to itself.
            flat[lowest[lowest != 0]] = 0.0
            fused = flat.reshape(tokens, tokens)
        # The residual path: half of each token's output is the token itself.
        mixed = 0.5 * fused + 0.5 * identity
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def patch_grid(model):
    """Returns `(rows, cols, patch_size)` of a ViT's patches.

    Read from the patch-embedding convolution (strides equal to its kernel), else from the
    attention size when it is a square grid plus a class token.

    Raises:
        ValueError: for a model without attention.
    """
    layers = _require_attention(model)
    for layer, _, _ in _walk(model):
        if "Conv2D" in _type_names(layer) and tuple(layer.strides) == tuple(layer.kernel_size) and layer.strides[0] > 1:
            shape = _output_tensors(layer)[0].shape
            return int(shape[1]), int(shape[2]), int(layer.kernel_size[0])
    tokens = int(_output_tensors(layers[0])[1].shape[-1])
    side = int(round(np.sqrt(tokens - 1)))
    if side * side != tokens - 1 or model.input_shape[1] % side:
        raise ValueError(f"Cannot tell the patch grid of {model.name!r} from {tokens} tokens.")
    return side, side, int(model.input_shape[1]) // side


def token_heatmap(values_over_patches, grid):
    """Lays one value per patch (row-major) out as the `(rows, cols)` patch grid.

    Args:
        values_over_patches: `rows * cols` values (no class token).
        grid: `(rows, cols)` or `(rows, cols, patch_size)`, as `patch_grid` returns.
    """
    rows, cols = int(grid[0]), int(grid[1])
    values = np.asarray(values_over_patches, dtype=np.float32).reshape(-1)
    if values.size != rows * cols:
        raise ValueError(f"Expected {rows * cols} patch values for a {rows}x{cols} grid, got {values.size}.")
    return values.reshape(rows, cols)


def rollout_heatmap(model, image, head_fusion="mean", discard_ratio=0.0):
    """Returns the class token's attention rollout over the patches, at the input size.

    Returns:
        float32 `(height, width)` in [0, 1].
    """
    grid = patch_grid(model)
    rollout = attention_rollout(attention_maps(model, image), head_fusion, discard_ratio)
    patches = grid[0] * grid[1]
    extra = rollout.shape[0] - patches
    if extra < 0:
        raise ValueError(f"The attention has {rollout.shape[0]} tokens, fewer than {patches} patches.")
    # With a class token, its row is what the classifier reads; without one, average all rows.
    flow = rollout[0, extra:] if extra else rollout.mean(axis=0)
    heatmap = _unit_range(token_heatmap(flow, grid))
    height, width = model.input_shape[1], model.input_shape[2]
    return _unit_range(upsample(heatmap, height, width))


def mean_attention_distance(attention, grid):
    """Returns how far each head looks, in pixels, as keras.io's probing_vits example computes it.

    For each query patch: the distance to every key patch (between patch centres, in pixels)
    weighted by the attention, summed; then averaged over query patches. Class tokens are
    dropped from both axes, and rows are not renormalised after that, as in the example.

    Args:
        attention: `(layers, heads, tokens, tokens)` or `(heads, tokens, tokens)`.
        grid: `(rows, cols, patch_size)`, as `patch_grid` returns.

    Returns:
        float `(layers, heads)` (or `(heads,)` for one layer).
    """
    attention = np.asarray(attention, dtype=np.float64)
    rows, cols, patch_size = int(grid[0]), int(grid[1]), int(grid[2])
    patches = rows * cols
    extra = attention.shape[-1] - patches
    if attention.ndim not in (3, 4) or extra < 0:
        raise ValueError(f"attention must be (..., heads, tokens, tokens) with at least {patches} tokens.")
    attention = attention[..., extra:, extra:]
    positions = np.stack(np.divmod(np.arange(patches), cols), axis=-1)
    distances = patch_size * np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    return (attention * distances).sum(axis=-1).mean(axis=-1)


# ---------------------------------------------------------------------------------------
# Colour.
# ---------------------------------------------------------------------------------------

# Matplotlib's viridis and inferno at 9 evenly spaced stops; linear between them is within a
# few levels of the full tables, enough for an overlay.
_COLOR_STOPS = {
    "viridis": [(68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
                (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37)],
    "inferno": [(0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
                (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164)],
    "gray": [(0, 0, 0), (255, 255, 255)],
}
COLORMAPS = ("jet", *_COLOR_STOPS)


def colorize(heatmap, colormap="jet"):
    """Maps values in [0, 1] to uint8 RGB `(h, w, 3)` with a small numpy colormap."""
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float64)), 0.0, 1.0)
    if colormap == "jet":
        # The classic piecewise-linear jet: blue -> cyan -> yellow -> red.
        red = np.clip(1.5 - np.abs(4.0 * values - 3.0), 0.0, 1.0)
        green = np.clip(1.5 - np.abs(4.0 * values - 2.0), 0.0, 1.0)
        blue = np.clip(1.5 - np.abs(4.0 * values - 1.0), 0.0, 1.0)
        return np.rint(np.stack([red, green, blue], axis=-1) * 255.0).astype(np.uint8)
    if colormap not in _COLOR_STOPS:
        raise ValueError(f"Unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}.")
    stops = np.asarray(_COLOR_STOPS[colormap], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(values, positions, stops[:, index]) for index in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def overlay(rgb_uint8, heatmap, alpha=0.5, colormap="jet"):
    """Blends a coloured heatmap over an image.

    Args:
        rgb_uint8: `(H, W, 3)`, `(H, W, 1)` or `(H, W)` image, uint8 (or float in 0..255).
        heatmap: 2-D map in [0, 1], resized to the image if needed.
        alpha: weight of the heatmap colour, in [0, 1]. Defaults to `0.5`.
        colormap: "jet", "viridis", "inferno" or "gray". Defaults to `"jet"`.

    Returns:
        uint8 `(H, W, 3)`.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    image = np.asarray(rgb_uint8)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an RGB or grayscale image, got shape {np.shape(rgb_uint8)}.")
    heatmap = upsample(np.clip(np.nan_to_num(np.asarray(heatmap, np.float32)), 0, 1), image.shape[0], image.shape[1])
    colours = colorize(heatmap, colormap).astype(np.float64)
    blended = (1.0 - alpha) * np.clip(image.astype(np.float64), 0, 255) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# Explainers by name.
# ---------------------------------------------------------------------------------------


def _rollout_explainer(model, image, class_index):
    # Rollout follows the attention, which is the same for every class.
    _check_class(model, class_index)
    return rollout_heatmap(model, image)


EXPLAINERS = {
    "gradcam": gradcam,
    "gradcam++": functools.partial(gradcam, plus=True),
    "saliency": saliency,
    "smoothgrad": smoothgrad,
    "rollout": _rollout_explainer,
}


def applicable_explainers(model):
    """Returns the names in `EXPLAINERS` that apply to this model, in display order."""
    names = []
    if _last_conv_layer(model) is not None:
        names += ["gradcam", "gradcam++"]
    names += ["saliency", "smoothgrad"]
    if has_attention(model):
        names.append("rollout")
    return names


def explain(model, image, method, class_index):
    """Runs the explainer named `method`; returns its `(height, width)` heatmap in [0, 1].

    Raises:
        ValueError: for an unknown method or one that does not apply to the model.
    """
    if method not in EXPLAINERS:
        raise ValueError(f"Unknown explainer {method!r}; choose one of {', '.join(EXPLAINERS)}.")
    return EXPLAINERS[method](model, image, class_index)
