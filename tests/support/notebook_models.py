"""Keras models of shapes imgrec never builds, made as a notebook would, and imported through the import path.

Each builder uses plain Keras layers from the registry's allow-list only, and names nothing
the way imgrec's architectures do (no "predictions", no "conv1"): a Sequential model, a
network without pooling, a nested feature block, and a transfer-learning model with a frozen
base that was compiled and trained a step (so its file carries an optimizer, as a notebook's
does). `import_through_registry` saves one as a `.keras` file's bytes and imports them with
`registry.check_import` and `registry.save_import`, exactly as the page and the CLI do.
"""

import pathlib
import tempfile

import keras
import numpy as np

from imgrec import metrics, registry
from tests.support import registries

CLASS_NAMES = ("circle", "square", "triangle")


def sequential_rgb():
    """A Sequential RGB classifier: two convolutions with one pooling between, flattened into a softmax."""
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(len(CLASS_NAMES), activation="softmax"),
    ], name="my_sequential")


def no_pooling():
    """A Functional digit classifier with no pooling layer at all: strided convolutions, then a softmax."""
    inputs = keras.Input((28, 28, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="down_a")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="down_b")(x)
    x = keras.layers.Flatten(name="flat")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="digit")(x), name="strided")


def nested():
    """A Functional model whose convolutions live in a nested feature block (conv, batch norm, ReLU, conv)."""
    block_input = keras.Input((28, 28, 8), name="block_in")
    y = keras.layers.Conv2D(8, 3, padding="same", name="block_conv_a")(block_input)
    y = keras.layers.BatchNormalization(name="block_norm")(y)
    y = keras.layers.ReLU(name="block_relu")(y)
    y = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block_conv_b")(y)
    block = keras.Model(block_input, keras.layers.Add(name="block_skip")([block_input, y]), name="feature_block")
    inputs = keras.Input((28, 28, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(x)
    x = block(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="digit")(x), name="nested_block")


def transfer():
    """Transfer learning: a frozen convolutional base, a new head, compiled and trained one step on random images."""
    base_input = keras.Input((32, 32, 3), name="base_in")
    y = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="base_conv")(base_input)
    y = keras.layers.BatchNormalization(name="base_norm")(y)
    y = keras.layers.Activation("relu6", name="base_relu")(y)
    y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="base_depthwise")(y)
    y = keras.layers.Conv2D(16, 1, activation="relu", name="base_project")(y)
    base = keras.Model(base_input, y, name="pretrained_base")
    base.trainable = False
    inputs = keras.Input((32, 32, 3), name="photo")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="scale")(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    model = keras.Model(inputs, keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="head")(x),
                        name="transfer")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.uniform(0, 255, (8, 32, 32, 3)), rng.integers(0, len(CLASS_NAMES), 8), epochs=1, verbose=0)
    return model


BUILDERS = {"sequential": sequential_rgb, "no-pooling": no_pooling, "nested": nested, "transfer": transfer}
# What each builder classifies: an imgrec dataset (measured on import) or its own class names.
CLASSIFIES = {"sequential": {"class_names": CLASS_NAMES}, "no-pooling": {"dataset": "mnist"},
              "nested": {"dataset": "mnist"}, "transfer": {"class_names": CLASS_NAMES}}


def keras_file_bytes(model):
    """The bytes of `model.save("x.keras")`, as a user would upload them."""
    with tempfile.TemporaryDirectory(prefix="imgrec-notebook-") as folder:
        path = pathlib.Path(folder) / f"{model.name}.keras"
        model.save(path)
        return path.read_bytes()


def import_bytes(data, name, *, dataset=None, class_names=None, preprocessing=None, file_name=None,
                 session_imports=None):
    """Imports `.keras` bytes into the current registry as the app does; returns the saved card."""
    checked = registry.check_import(data, name, dataset=dataset, class_names=class_names, preprocessing=preprocessing,
                                    file_name=file_name, session_imports=session_imports)
    report = metrics.evaluate(checked.model, dataset) if dataset is not None else None
    return registry.save_import(checked, report)


def import_through_registry(kind, name=None):
    """Builds one notebook model, imports its file into a scratch registry and returns it as `registry.load` gives it."""
    name = name or f"imported-{kind}"
    with tempfile.TemporaryDirectory(prefix="imgrec-imported-") as folder, registries.registry_at(folder):
        import_bytes(keras_file_bytes(BUILDERS[kind]()), name, file_name=f"{kind}.keras", **CLASSIFIES[kind])
        return registry.load(name)
