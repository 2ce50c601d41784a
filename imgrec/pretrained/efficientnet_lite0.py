"""EfficientNet-Lite0 in Keras: the network with named layers, the ImageNet weights copied in from torch.

The Functional API and named layers let Grad-CAM and feature maps reach any layer. Nothing
here needs the network or torch: the weights come from `torch_pickle.read_state_dict`, so
the model works on a fresh, offline machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from imgrec import preprocess
from imgrec.pretrained import torch_pickle

if TYPE_CHECKING:
    import keras

INPUT_SIZE = preprocess.IMAGENET_SIZE
# The ReLU6 after the head 1x1 conv: the last spatial feature map (7x7x1280), the layer
# Grad-CAM should explain.
LAST_CONV_LAYER = "head_activation"

# The network, per stage: (repeats, kernel size, first stride, expand ratio, filters in,
# filters out), from the official efficientnet_lite_builder with width = depth = 1.0.
# Lite0 drops squeeze-excite, fixes the stem (32) and head (1280) and uses ReLU6.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
DROPOUT_RATE = 0.2  # The official Lite0 dropout before the classifier; inactive at inference.
BN_EPSILON = 1e-3  # The TF reference value; PyTorch's default 1e-5 would shift every BN slightly.


def _blocks() -> Iterator[tuple[str, int, int, int, int, int, int]]:
    """Yields (Keras block name, torch block index, kernel, stride, expand, in, out).

    Keras names blocks by stage and letter ("block2a", "block2b"); the torch file numbers
    them 0..15 in the same order. One generator feeds both the builder and the weight
    mapping, so the two cannot drift apart.
    """
    torch_index = 0
    for stage, (repeats, kernel, stride, expand, filters_in, filters_out) in enumerate(STAGES, start=1):
        for repeat in range(repeats):
            # Only the first block of a stage changes stride and width.
            yield (
                f"block{stage}{chr(ord('a') + repeat)}",
                torch_index,
                kernel,
                stride if repeat == 0 else 1,
                expand,
                filters_in if repeat == 0 else filters_out,
                filters_out,
            )
            torch_index += 1


def build_efficientnet_lite0(num_classes: int = 1000) -> keras.Model:
    """Builds EfficientNet-Lite0 (untrained) with the Functional API and named layers.

    The input is a batch of raw RGB pixels, float32 in 0..255, 224x224. The first layer,
    "preprocess", maps them to (x - 127) / 128, so a saved model carries its own
    normalisation.

    Strided convolutions use Keras' 'same' padding, which pads like TensorFlow: on even
    inputs the one extra row and column go at the bottom and right. That is what these
    weights were trained with: the torch file's modules are `Conv2dStaticSamePadding`
    (note its `static_padding` entries), which pad exactly like TF, not the symmetric
    k//2 of many PyTorch ports. Measured on the 20 labelled sample images, 'same' scores
    17/20 top-1 and 20/20 top-5; symmetric padding (ZeroPadding2D(k//2) + 'valid') misses
    a top-5 (18/20, 19/20) and falls to 14/20 top-1 under a 224/256 centre crop, where
    'same' scores 18/20.

    Args:
        num_classes: size of the softmax classifier. Defaults to `1000` (ImageNet).

    Returns:
        An uncompiled `keras.Model` named "efficientnet_lite0". Weights are random until
        `load_torch_weights` fills them.

    Example:

    >>> model = build_efficientnet_lite0()
    >>> model.get_layer(LAST_CONV_LAYER).output.shape
    (None, 7, 7, 1280)
    """
    import keras

    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}.")

    def conv_bn_relu6(x, filters: int, kernel: int, stride: int, prefix: str, activate: bool = True):
        x = keras.layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{prefix}_conv"
        )(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
        if activate:
            x = keras.layers.ReLU(6.0, name=f"{prefix}_activation")(x)
        return x

    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), dtype="float32", name="image")
    x = keras.layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(inputs)
    # x is (batch, 224, 224, 3) in about -1..1.
    x = conv_bn_relu6(x, STEM_FILTERS, 3, 2, "stem")

    for name, _, kernel, stride, expand, filters_in, filters_out in _blocks():
        shortcut = x
        if expand != 1:
            x = conv_bn_relu6(x, filters_in * expand, 1, 1, f"{name}_expand")
        x = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv"
        )(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{name}_activation")(x)
        # The projection is linear: the "inverted residual" keeps no activation here.
        x = conv_bn_relu6(x, filters_out, 1, 1, f"{name}_project", activate=False)
        if stride == 1 and filters_in == filters_out:
            x = keras.layers.Add(name=f"{name}_add")([x, shortcut])

    x = conv_bn_relu6(x, HEAD_FILTERS, 1, 1, "head")
    # x is (batch, 7, 7, 1280): the output of LAST_CONV_LAYER.
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(DROPOUT_RATE, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def _conv_kernel(weight: np.ndarray) -> np.ndarray:
    # torch (out, in, kh, kw) -> Keras (kh, kw, in, out).
    return weight.transpose(2, 3, 1, 0)


def _depthwise_kernel(weight: np.ndarray) -> np.ndarray:
    # torch (channels, 1, kh, kw) -> Keras (kh, kw, channels, 1).
    return weight.transpose(2, 3, 0, 1)


def _torch_sources() -> dict[str, tuple[str, ...]]:
    """Maps each Keras layer with weights to the torch keys that fill it, in weight order."""

    def conv(key: str) -> tuple[str, ...]:
        return (f"{key}.weight",)

    def bn(key: str) -> tuple[str, ...]:
        # Keras orders BN weights gamma, beta, moving mean, moving variance.
        return tuple(f"{key}.{part}" for part in ("weight", "bias", "running_mean", "running_var"))

    sources = {"stem_conv": conv("_conv_stem"), "stem_bn": bn("_bn0")}
    for name, index, _, _, expand, _, _ in _blocks():
        torch_block = f"_blocks.{index}"
        if expand != 1:
            sources[f"{name}_expand_conv"] = conv(f"{torch_block}._expand_conv")
            sources[f"{name}_expand_bn"] = bn(f"{torch_block}._bn0")
        sources[f"{name}_dwconv"] = conv(f"{torch_block}._depthwise_conv")
        sources[f"{name}_bn"] = bn(f"{torch_block}._bn1")
        sources[f"{name}_project_conv"] = conv(f"{torch_block}._project_conv")
        sources[f"{name}_project_bn"] = bn(f"{torch_block}._bn2")
    sources["head_conv"] = conv("_conv_head")
    sources["head_bn"] = bn("_bn1")
    sources["predictions"] = ("_fc.weight", "_fc.bias")
    return sources


def load_torch_weights(model: keras.Model, state_dict: dict[str, np.ndarray]) -> None:
    """Copies a torch EfficientNet-Lite0 state dict into a model from `build_efficientnet_lite0`.

    Conv kernels go from OIHW to HWIO, depthwise kernels from (C, 1, kh, kw) to
    (kh, kw, C, 1), the dense kernel from (out, in) to (in, out); batch norms take gamma,
    beta, running mean and running variance. The `num_batches_tracked` counters only
    matter for training BN in torch, so they are the one kind of key deliberately skipped.

    Args:
        model: the Keras model to fill, in place.
        state_dict: parameter name -> array, as `read_state_dict` returns.

    Raises:
        ValueError: if a key is missing or unused, a shape differs, or a layer with
            weights has no source. Nothing is partly loaded in that case.

    Example:

    >>> model = build_efficientnet_lite0()
    >>> load_torch_weights(model, torch_pickle.read_state_dict(torch_pickle.weights_path()))
    """
    sources = _torch_sources()
    converted: dict[str, list[np.ndarray]] = {}
    used: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        keys = sources.get(layer.name)
        if keys is None:
            raise ValueError(f"Layer {layer.name!r} has weights but no source in the torch state dict.")
        missing = [key for key in keys if key not in state_dict]
        if missing:
            raise ValueError(f"The torch state dict lacks {missing} for layer {layer.name!r}.")
        arrays = [np.asarray(state_dict[key], dtype=np.float32) for key in keys]
        if isinstance(layer, _keras_depthwise_type()):
            arrays[0] = _depthwise_kernel(arrays[0])
        elif arrays[0].ndim == 4:
            arrays[0] = _conv_kernel(arrays[0])
        elif arrays[0].ndim == 2:
            arrays[0] = arrays[0].T
        expected = [tuple(weight.shape) for weight in layer.weights]
        actual = [array.shape for array in arrays]
        if expected != actual:
            raise ValueError(f"Layer {layer.name!r} expects weights of shapes {expected}, got {actual}.")
        converted[layer.name] = arrays
        used.update(keys)

    unfilled = sorted(set(sources) - set(converted))
    if unfilled:
        raise ValueError(f"The model has no layers named {unfilled[:5]}; is it EfficientNet-Lite0?")
    unused = sorted(key for key in set(state_dict) - used if not key.endswith("num_batches_tracked"))
    if unused:
        raise ValueError(f"The torch state dict has keys the model does not use: {unused[:5]}.")
    # Every check has passed, so the model is never left half loaded.
    for name, arrays in converted.items():
        model.get_layer(name).set_weights(arrays)


def _keras_depthwise_type() -> type:
    import keras

    return keras.layers.DepthwiseConv2D


def build_model(state_dict: dict[str, np.ndarray] | None = None) -> keras.Model:
    """Returns EfficientNet-Lite0 with the ImageNet weights loaded (no file written).

    Args:
        state_dict: the torch weights. Defaults to reading `torch_pickle.weights_path()`.
    """
    model = build_efficientnet_lite0()
    if state_dict is None:
        state_dict = torch_pickle.read_state_dict(torch_pickle.weights_path())
    load_torch_weights(model, state_dict)
    return model
