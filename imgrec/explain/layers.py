"""Finding layers in a Keras model, also inside nested models: the table, the spatial maps, the last conv.

A pretrained base inside a classifier is one layer of the outer model; every function here
descends into such nested models, so the explainers see the same layers a reader does.
"""

from imgrec import pretrained

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


def is_model(layer):
    """Returns True for a nested `keras.Model` (Functional or Sequential) used as a layer."""
    import keras

    return isinstance(layer, keras.Model)


def walk(model, depth=0):
    """Yields `(layer, depth, owner)` for every layer, descending into nested models."""
    for layer in model.layers:
        yield layer, depth, model
        if is_model(layer):
            yield from walk(layer, depth + 1)


def contains(model, layer):
    """Returns True when `layer` is one of `model`'s layers, at any depth."""
    return any(candidate is layer for candidate, _, _ in walk(model))


def type_names(layer):
    """The names of the layer's class and its base classes (a subclass of Conv2D is a Conv2D)."""
    return {cls.__name__ for cls in type(layer).__mro__}


def type_name(layer):
    return type(layer).__name__


def output_tensors(layer):
    """The layer's symbolic outputs as a list (an attention layer has two: values and scores)."""
    output = layer.output
    return list(output) if isinstance(output, list | tuple) else [output]


def output_rank(layer):
    """The rank of the layer's first output, or None for a layer never called."""
    try:
        return len(output_tensors(layer)[0].shape)
    except (AttributeError, ValueError):
        return None


def output_layer(model):
    """Returns the layer that produces the model's output, looking inside a nested model (a classifier's head)."""
    layer = model.layers[-1]
    while is_model(layer):
        layer = layer.layers[-1]
    return layer


def find_layer(model, layer_name):
    """Returns the layer named `layer_name`, looking inside nested models too.

    A plain name is searched breadth-first (the outer model wins a clash); "outer/inner"
    names a layer inside the nested model "outer".

    Args:
        model: a `keras.Model`.
        layer_name: a layer's name, or "outer/inner".

    Returns:
        The `keras.layers.Layer`.

    Raises:
        ValueError: if no layer has that name.
    """
    if not isinstance(layer_name, str) or not layer_name:
        raise ValueError(f"A layer name must be a non-empty string, got {layer_name!r}.")
    if "/" in layer_name:
        outer, _, rest = layer_name.partition("/")
        parent = find_layer(model, outer)
        if not is_model(parent):
            raise ValueError(f"Layer {outer!r} is not a nested model, so it has no layer {rest!r}.")
        return find_layer(parent, rest)
    queue = [model]
    while queue:
        current = queue.pop(0)
        for layer in current.layers:
            if layer.name == layer_name:
                return layer
            if is_model(layer):
                queue.append(layer)
    raise ValueError(
        f"Model {model.name!r} has no layer named {layer_name!r}; "
        f"see layer_table(model) for the names it has."
    )


def _layer_kind(layer):
    names = type_names(layer)
    for kind, types in _KINDS:
        if names.intersection(types):
            return kind
    return "other"


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
    for layer, depth, _ in walk(model):
        try:
            shapes = [tuple(tensor.shape) for tensor in output_tensors(layer)]
        except (AttributeError, ValueError):
            shapes = []
        if len(shapes) == 2 and _layer_kind(layer) == "attention":
            shape_text = f"{shapes[0]} + scores {shapes[1]}"
        else:
            shape_text = " + ".join(str(shape) for shape in shapes)
        rows.append(
            {
                "name": layer.name,
                "type": type_name(layer),
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

    Example:

    >>> spatial_layers(architectures.build("cnn", (28, 28, 1), 10))
    ['conv1', 'pool1', 'conv2', 'pool2']
    """
    names = []
    for layer, _, _ in walk(model):
        if is_model(layer) or type_names(layer).intersection(_NOT_SPATIAL):
            continue
        if output_rank(layer) == 4:
            names.append(layer.name)
    return names


def elementwise_followers(model, layer):
    """Returns the element-wise layers that directly finish a layer's map (conv -> bn -> relu), in order."""
    owner = next((owner for candidate, _, owner in walk(model) if candidate is layer), model)
    followers, current = [], layer
    for candidate in owner.layers[owner.layers.index(layer) + 1 :]:
        if not type_names(candidate).intersection(_ELEMENTWISE):
            continue
        try:
            if candidate.input is current.output:
                followers.append(candidate)
                current = candidate
        except (AttributeError, ValueError):
            continue
    return followers


def convolutions_of(model):
    """Returns the 2-D convolutions of a model (also inside nested models), in order."""
    return [layer for layer, _, _ in walk(model) if type_names(layer).intersection(_CONV_TYPES) and output_rank(layer) == 4]


def last_conv_layer(model):
    """Returns the layer whose map Grad-CAM weights (see `last_conv_layer_name`), or None."""
    if pretrained.LAST_CONV_LAYER in {layer.name for layer, _, _ in walk(model)}:
        return find_layer(model, pretrained.LAST_CONV_LAYER)
    convolutions = convolutions_of(model)
    if not convolutions:
        spatial = spatial_layers(model)
        return find_layer(model, spatial[-1]) if spatial else None
    # The last convolution, then forward through the element-wise layers that finish its map
    # (cnn-deep: conv6 -> bn6 -> relu6), so Grad-CAM weights the map after its non-linearity.
    followers = elementwise_followers(model, convolutions[-1])
    return followers[-1] if followers else convolutions[-1]


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
    layer = last_conv_layer(model)
    if layer is None:
        raise ValueError(
            f"Model {model.name!r} has no convolutional feature map, so Grad-CAM has nothing to "
            "weight; use saliency or smoothgrad for this model."
        )
    return layer.name
