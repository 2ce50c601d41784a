"""Model builders (cnn, cnn-deep, cnn-gap, crnn, rnn, vit, mlp): Functional API, named layers, any input and class count.

Every model takes raw pixels (float32 in 0..255) of shape `input_shape` and carries its own
normalisation as a first `Rescaling` layer named "rescale", so a saved model needs no
preprocessing code beside it. Layers are named so a feature extractor is two lines:
`keras.Model(model.inputs, model.get_layer("conv2").output)`.

A two-class problem gets a single sigmoid unit (binary cross-entropy); more classes get a
softmax. The output layer is always named "predictions". Importing this module imports Keras;
`imgrec.architectures` imports it only when a builder is asked for.
"""

import keras
import numpy as np
from keras import layers

from imgrec.architectures.catalog import ARCHITECTURES, RECURRENT_CELLS, default_patch_size

# The ViT's layers keep the module they had before `architectures` became a package: saved
# models name it, and the registry's allow-list checks that name before Keras loads a file.
PUBLIC_MODULE = "imgrec.architectures"


@keras.saving.register_keras_serializable(package="imgrec")
class ClassTokenPositionEmbedding(layers.Layer):
    """Prepends a learned class token to a patch sequence and adds learned position embeddings.

    Written here because Keras has no built-in layer for it; it holds two weights and no code
    beyond an add and a concat, so a saved ViT stays loadable in safe mode.

    Input shape `(batch, num_patches, dim)`, output shape `(batch, num_patches + 1, dim)`.
    """

    __module__ = PUBLIC_MODULE

    def build(self, input_shape):
        num_patches, dim = input_shape[1], input_shape[2]
        self.class_token = self.add_weight(
            name="class_token", shape=(1, 1, dim), initializer="zeros", trainable=True
        )
        self.position_embedding = self.add_weight(
            name="position_embedding",
            shape=(1, num_patches + 1, dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            trainable=True,
        )

    def call(self, patches):
        batch_size = keras.ops.shape(patches)[0]
        class_tokens = keras.ops.broadcast_to(
            keras.ops.cast(self.class_token, patches.dtype), (batch_size, 1, keras.ops.shape(patches)[2])
        )
        tokens = keras.ops.concatenate([class_tokens, patches], axis=1)
        return tokens + keras.ops.cast(self.position_embedding, patches.dtype)

    def compute_output_shape(self, input_shape):
        num_patches = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], num_patches, input_shape[2])


@keras.saving.register_keras_serializable(package="imgrec")
class ClassTokenSlice(layers.Layer):
    """Returns token 0 of a sequence: `(batch, tokens, dim)` -> `(batch, dim)`.

    Written here so the ViT needs no `Lambda` layer, which safe-mode loading refuses.
    """

    __module__ = PUBLIC_MODULE

    def call(self, tokens):
        return tokens[:, 0, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def build(
    architecture,
    input_shape,
    num_classes,
    *,
    dropout=0.5,
    l1=0.0,
    l2=0.0,
    recurrent_cell="gru",
    recurrent_units=128,
    patch_size=None,
    vit_dim=64,
    vit_depth=4,
    vit_heads=4,
    seed=None,
):
    """Builds an uncompiled classifier.

    Args:
        architecture: one of `ARCHITECTURES`.
        input_shape: `(height, width, channels)` of the raw-pixel input.
        num_classes: number of classes, at least 2. Two classes give a sigmoid head.
        dropout: dropout rate before the classifier (and inside ViT blocks), in [0, 1).
            Defaults to `0.5`.
        l1: L1 penalty on conv/dense/recurrent kernels. Defaults to `0.0`.
        l2: L2 penalty on conv/dense/recurrent kernels. Defaults to `0.0`.
        recurrent_cell: "simple" (SimpleRNN), "gru" or "lstm" for `rnn` and `crnn`.
            Defaults to `"gru"`.
        recurrent_units: width of the recurrent layer. Defaults to `128`.
        patch_size: ViT patch side in pixels; must divide height and width. Defaults to
            7 for 28x28 inputs, else 4.
        vit_dim: ViT token width. Defaults to `64`.
        vit_depth: number of transformer blocks. Defaults to `4`.
        vit_heads: attention heads per block; must divide `vit_dim`. Defaults to `4`.
        seed: seed for dropout layers, so a run is reproducible. Defaults to `None`.

    Returns:
        A `keras.Model` named after the architecture, whose output layer is "predictions".

    Raises:
        ValueError: for an unknown architecture or impossible sizes.

    Example:
        >>> model = build("cnn", (28, 28, 1), 10)
        >>> model.output_shape
        (None, 10)
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}.")
    input_shape = tuple(int(size) for size in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    if int(num_classes) < 2:
        raise ValueError(f"A classifier needs at least 2 classes, got {num_classes}.")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
    if l1 < 0 or l2 < 0:
        raise ValueError("L1 and L2 penalties must be zero or positive.")
    regularizer = keras.regularizers.L1L2(l1=float(l1), l2=float(l2)) if (l1 or l2) else None

    inputs = keras.Input(shape=input_shape, name="image")
    # Raw 0..255 pixels in, 0..1 inside: the model owns its normalisation.
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    body = _BODIES[architecture]
    x = body(
        x,
        dropout=float(dropout),
        regularizer=regularizer,
        recurrent_cell=recurrent_cell,
        recurrent_units=int(recurrent_units),
        patch_size=patch_size,
        vit_dim=int(vit_dim),
        vit_depth=int(vit_depth),
        vit_heads=int(vit_heads),
        seed=seed,
    )
    outputs = _classifier_head(x, int(num_classes), regularizer)
    return keras.Model(inputs, outputs, name=architecture.replace("-", "_"))


def is_binary(model):
    """Returns True when the model has a single sigmoid unit (a two-class problem)."""
    return model.output_shape[-1] == 1


def weights_are_finite(model):
    """Returns True when every weight of the model is a finite number (a diverged run's are not)."""
    return all(np.isfinite(np.asarray(weight)).all() for weight in model.get_weights())


def _classifier_head(x, num_classes, regularizer):
    # Two classes: one sigmoid unit, as in the classic cat-vs-dog example; else softmax.
    if num_classes == 2:
        return layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer, name="predictions")(x)
    return layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer, name="predictions")(x)


def _conv_block(x, filters, name, regularizer, batch_norm):
    if not batch_norm:
        # Valid padding shows plain windows in the arithmetic view; tiny maps keep their size.
        padding = "valid" if min(x.shape[1], x.shape[2]) >= 5 else "same"
        return layers.Conv2D(
            filters, 3, padding=padding, activation="relu", kernel_regularizer=regularizer, name=f"conv{name}"
        )(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer, name=f"conv{name}")(x)
    # Momentum 0.9 (PyTorch's default) rather than Keras's 0.99: the short runs of a lesson
    # have only tens of steps, too few for 0.99's moving statistics to forget their init.
    x = layers.BatchNormalization(momentum=0.9, name=f"bn{name}")(x)
    return layers.Activation("relu", name=f"relu{name}")(x)


def _cnn_body(x, *, dropout, regularizer, seed, **_):
    # keras.io's mnist_convnet: 3x3 valid convs so the arithmetic view shows plain windows.
    for index, filters in enumerate((32, 64), start=1):
        x = _conv_block(x, filters, index, regularizer, batch_norm=False)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _cnn_deep_body(x, *, dropout, regularizer, seed, **_):
    # Three Conv-BatchNorm-ReLU stages that double the filters as they halve the map: deeper
    # than the classic CNN for about three times its compute, which a 2-core CPU can afford.
    for stage, filters in enumerate((32, 64, 128), start=1):
        x = _conv_block(x, filters, stage, regularizer, batch_norm=True)
        # Stop pooling once the map is tiny, so small inputs (8x8 digits) still work.
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    return layers.Dense(128, activation="relu", kernel_regularizer=regularizer, name="dense")(x)


def _cnn_gap_body(x, *, dropout, regularizer, seed, **_):
    # No Flatten + Dense: on a 64x64 colour image cnn-deep's Dense layer alone holds 1M weights
    # (a 4.6 MB file), while averaging each map keeps the net near 240k weights and makes the
    # class score a sum over positions, which is what Grad-CAM and CAM assume.
    for stage, filters in enumerate((32, 64, 128, 128), start=1):
        x = _conv_block(x, filters, stage, regularizer, batch_norm=True)
        if stage < 4 and min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="average")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _recurrent_layer(cell, units, regularizer, name):
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"Unknown recurrent cell {cell!r}; choose one of {', '.join(RECURRENT_CELLS)}.")
    layer_class = {"simple": layers.SimpleRNN, "gru": layers.GRU, "lstm": layers.LSTM}[cell]
    return layer_class(units, kernel_regularizer=regularizer, name=name)


def _crnn_body(x, *, dropout, regularizer, recurrent_cell, recurrent_units, seed, **_):
    for index, filters in enumerate((32, 64), start=1):
        x = _conv_block(x, filters, index, regularizer, batch_norm=True)
        if min(x.shape[1], x.shape[2]) >= 2:
            x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    # (height, width, channels) -> (width, height * channels): one vector per column, left to right.
    x = layers.Permute((2, 1, 3), name="columns_first")(x)
    x = layers.Reshape((width, height * channels), name="column_sequence")(x)
    x = _recurrent_layer(recurrent_cell, recurrent_units, regularizer, "recurrent")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _rnn_body(x, *, dropout, regularizer, recurrent_cell, recurrent_units, seed, **_):
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    # One vector per row, top to bottom: the recurrent layer reads the image like a scanner.
    x = layers.Reshape((height, width * channels), name="row_sequence")(x)
    x = _recurrent_layer(recurrent_cell, recurrent_units, regularizer, "recurrent")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _vit_body(x, *, dropout, regularizer, patch_size, vit_dim, vit_depth, vit_heads, seed, **_):
    height, width = x.shape[1], x.shape[2]
    patch_size = int(patch_size or default_patch_size((height, width)))
    if height % patch_size or width % patch_size:
        raise ValueError(f"patch_size {patch_size} must divide the image size {height}x{width}.")
    if vit_dim % vit_heads:
        raise ValueError(f"vit_dim {vit_dim} must be a multiple of vit_heads {vit_heads}.")
    if vit_depth < 1:
        raise ValueError("A ViT needs at least one transformer block.")
    num_patches = (height // patch_size) * (width // patch_size)
    # A strided convolution is the usual way to cut and linearly embed non-overlapping patches.
    x = layers.Conv2D(vit_dim, patch_size, strides=patch_size, kernel_regularizer=regularizer, name="patch_embedding")(x)
    x = layers.Reshape((num_patches, vit_dim), name="patches")(x)
    x = ClassTokenPositionEmbedding(name="tokens")(x)
    block_dropout = min(dropout, 0.1)
    for index in range(1, vit_depth + 1):
        shortcut = x
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{index}_norm1")(x)
        # return_attention_scores keeps the scores in the graph, so explain/attention.py can read them.
        x, _scores = layers.MultiHeadAttention(
            num_heads=vit_heads,
            key_dim=vit_dim // vit_heads,
            dropout=block_dropout,
            seed=seed,
            name=f"attention_{index}",
        )(x, x, return_attention_scores=True)
        x = layers.Add(name=f"block{index}_add1")([shortcut, x])
        shortcut = x
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{index}_norm2")(x)
        x = layers.Dense(vit_dim * 2, activation="gelu", kernel_regularizer=regularizer, name=f"block{index}_mlp1")(x)
        x = layers.Dropout(block_dropout, seed=seed, name=f"block{index}_dropout")(x)
        x = layers.Dense(vit_dim, kernel_regularizer=regularizer, name=f"block{index}_mlp2")(x)
        x = layers.Add(name=f"block{index}_add2")([shortcut, x])
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    # The class token (position 0) summarises the image, as in the original ViT.
    x = ClassTokenSlice(name="class_token")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


def _mlp_body(x, *, dropout, regularizer, seed, **_):
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", kernel_regularizer=regularizer, name="dense1")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout1")(x)
    x = layers.Dense(128, activation="relu", kernel_regularizer=regularizer, name="dense2")(x)
    return layers.Dropout(dropout, seed=seed, name="dropout")(x)


_BODIES = {
    "cnn": _cnn_body,
    "cnn-deep": _cnn_deep_body,
    "cnn-gap": _cnn_gap_body,
    "crnn": _crnn_body,
    "rnn": _rnn_body,
    "vit": _vit_body,
    "mlp": _mlp_body,
}
