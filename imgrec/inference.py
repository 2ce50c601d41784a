"""A Keras model's outputs (class probabilities, or any output) for a batch, compiled once (no per-call `model.predict`)."""

import statistics
import threading
import time
import weakref

import numpy as np

# Weak keys: a model that is dropped (a deleted or replaced registry entry) frees its graph too.
_COMPILED = weakref.WeakKeyDictionary()
_COMPILED_LOCK = threading.Lock()


def compiled_forward(model):
    """Returns a cached `tf.function` running `model(x, training=False)`.

    `model.predict` costs ~47 ms per call on this CPU; a cached graph costs < 1 ms, which
    is what makes the app feel instant. Cached per model object.

    Args:
        model: a `keras.Model`.

    Returns:
        A callable taking a float32 batch and returning a float32 tensor.
    """
    import tensorflow as tf

    with _COMPILED_LOCK:
        forward = _COMPILED.get(model)
        if forward is not None:
            return forward
        input_shape = (None, *model.input_shape[1:])
        # The graph holds the model only weakly, so the cache never keeps a model alive.
        model_ref = weakref.ref(model)

        @tf.function(input_signature=[tf.TensorSpec(input_shape, tf.float32)])
        def forward(images):
            return model_ref()(images, training=False)

        # The concrete function skips tf.function's per-call argument binding (~0.1-1 ms).
        concrete = forward.get_concrete_function()
        _COMPILED[model] = concrete
        return concrete


def to_class_probabilities(outputs):
    """Turns model outputs into `(N, num_classes)` probabilities.

    A two-class model has one sigmoid unit `p(class 1)`; it becomes `[1 - p, p]`.

    Args:
        outputs: array of shape `(N, K)` (softmax) or `(N, 1)` (sigmoid).

    Returns:
        float64 array of shape `(N, max(K, 2))` whose rows sum to 1.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2:
        raise ValueError(f"Expected model outputs of shape (N, K), got {outputs.shape}.")
    if outputs.shape[1] == 1:
        return np.concatenate([1.0 - outputs, outputs], axis=1)
    return outputs


def predict_outputs(model, images, batch_size=256):
    """Runs a model over images in batches and returns its outputs as they are.

    Args:
        model: a `keras.Model` taking raw 0..255 float pixels (or, for a decoder, codes).
        images: array `(N, *model.input_shape[1:])` (uint8 or float).
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        float32 array `(N, *model.output_shape[1:])`: probabilities for a classifier, images
        for an autoencoder.
    """
    import tensorflow as tf

    forward = compiled_forward(model)
    images = np.asarray(images)
    if images.ndim != len(model.input_shape):
        what = "images (N, H, W, C)" if len(model.input_shape) == 4 else f"inputs of rank {len(model.input_shape)}"
        raise ValueError(f"Expected a batch of {what}, got shape {images.shape}.")
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32)
        chunks.append(forward(tf.constant(batch)).numpy())
    if not chunks:
        return np.zeros((0, *model.output_shape[1:]), np.float32)
    return np.concatenate(chunks, axis=0)


def predict_probabilities(model, images, batch_size=256):
    """Runs a classifier over images in batches and returns class probabilities.

    Args:
        model: a `keras.Model` taking raw 0..255 float pixels.
        images: array `(N, H, W, C)` matching the model's input (uint8 or float).
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        float64 array `(N, num_classes)`.
    """
    outputs = predict_outputs(model, images, batch_size)
    if not len(outputs):
        return np.zeros((0, max(model.output_shape[-1], 2)))
    return to_class_probabilities(outputs)


def median_latency_ms(model, repeats=20, *, clock=time.perf_counter):
    """Times single-image forward passes through the compiled graph and returns the median, in milliseconds.

    One untimed pass comes first: it builds the compiled forward pass, which is no fair sample.
    The median, not the mean, because other work on a shared server lands on a few passes.

    Args:
        model: a `keras.Model`.
        repeats: the passes timed. Defaults to `20`.
        clock: a function returning seconds. Defaults to `time.perf_counter`.

    Returns:
        The median time of one pass, in ms.

    Raises:
        ValueError: for fewer than one repeat.
    """
    if int(repeats) < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats!r}.")
    image = np.zeros((1, *model.input_shape[1:]), np.float32)
    predict_probabilities(model, image)
    timings = []
    for _ in range(int(repeats)):
        started = clock()
        predict_probabilities(model, image)
        timings.append((clock() - started) * 1000)
    return statistics.median(timings)
