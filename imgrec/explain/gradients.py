"""Gradients of one class score, with respect to a layer's feature maps or to the input pixels.

Grad-CAM and friends are computed from a class score. For a softmax or sigmoid head the score
is the logit (pre-activation), as Selvaraju et al. do: probabilities saturate on a confident
model and their gradients vanish. Without a findable logit, log-probabilities stand in. A
single sigmoid logit z scores class 1 as z and class 0 as -z.

Gradients are taken with `tf.GradientTape` inside `tf.function`s cached per model and layer
(`cache.py`), so a repeated click costs one graph call, not a rebuild.
"""

import numpy as np

from imgrec.explain import cache, checks, layers, taps

_PROBABILITY_FLOOR = 1e-7


def _score_setup(model):
    """Returns (head taps, function(head values, model output) -> logits) for class scores."""
    import keras

    head = layers.output_layer(model)
    activation = getattr(getattr(head, "activation", None), "__name__", None)
    if "Dense" in layers.type_names(head) and activation in ("softmax", "sigmoid"):

        def logits(values, _output):
            # The Dense layer's own pre-activation: x @ kernel + bias.
            result = keras.ops.matmul(values[0], head.kernel)
            return result + head.bias if head.use_bias else result

        return ((head, "input"),), logits
    if activation == "linear":
        return (), lambda _values, output: output

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


def _feature_gradients(tap, logits_of, images, class_index):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        # Watching the input records every op, also through frozen (non-trainable) layers.
        tape.watch(images)
        results = taps.run_forward(tap, images)
        activations = results[0]
        score = _class_score(logits_of(results[1:-1], results[-1]), class_index)
    return activations, tape.gradient(score, activations)


def _input_gradients(tap, logits_of, images, class_index):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(images)
        results = taps.run_forward(tap, images)
        score = _class_score(logits_of(results[:-1], results[-1]), class_index)
    # Each sample's score depends on its own pixels only, so one gradient serves the batch.
    return tape.gradient(score, images)


def _class_scores(tap, logits_of, images, class_index):
    results = taps.run_forward(tap, images)
    return _class_score(logits_of(results[:-1], results[-1]), class_index)


def _gradient_specs(model):
    import tensorflow as tf

    return [taps.batch_spec(model), tf.TensorSpec((), tf.int32)]


def _feature_gradient_function(model, layer):
    """Returns a cached tf.function: (images, class index) -> (activations, d score / d activations)."""

    def build():
        head_taps, logits_of = _score_setup(model)
        tap = taps.tap_model(model, ((layer, "output"), *head_taps))
        return cache.compile_function(_feature_gradients, (tap, logits_of), _gradient_specs(model))

    return cache.cached(model, ("feature_gradients", layer.name, id(layer)), build)


def _head_function(model, python_function, key):
    """A cached tf.function of (images, class index) that runs `python_function` on the model and its head's taps."""

    def build():
        head_taps, logits_of = _score_setup(model)
        return cache.compile_function(python_function, (taps.tap_model(model, head_taps), logits_of),
                                      _gradient_specs(model))

    return cache.cached(model, (key,), build)


def input_gradient_function(model):
    """Returns a cached tf.function: (images, class index) -> d score / d images."""
    return _head_function(model, _input_gradients, "input_gradients")


def class_score_function(model):
    """Returns a cached tf.function: (images, class index) -> the class score of each image, no gradients."""
    return _head_function(model, _class_scores, "class_scores")


def feature_gradients(model, batch, class_index, layer):
    """Returns a layer's maps and the class score's gradient with respect to them, for one image.

    Args:
        model: a `keras.Model`.
        batch: float32 `(1, height, width, channels)` (`checks.as_batch`).
        class_index: a checked class index (`checks.class_index`).
        layer: a layer with a 4-D output.

    Returns:
        `(activations, gradients)`, each a numpy array `(h, w, channels)`.
    """
    import tensorflow as tf

    activations, gradients = _feature_gradient_function(model, layer)(batch, tf.constant(class_index, tf.int32))
    return np.asarray(activations)[0], np.asarray(gradients)[0]


def input_gradients(model, images, class_index):
    """Returns d score / d pixels for a batch of images.

    Args:
        model: a differentiable `keras.Model`.
        images: float32 `(n, height, width, channels)` in 0..255.
        class_index: the class whose score is differentiated.

    Returns:
        float32 `(n, height, width, channels)`.

    Raises:
        ValueError: for a class index outside the model's classes.
    """
    import tensorflow as tf

    class_index = checks.class_index(model, class_index)
    gradients = input_gradient_function(model)(np.asarray(images, dtype=np.float32), tf.constant(class_index, tf.int32))
    return np.asarray(gradients)


def class_scores(model, images, class_index, batch_size=32):
    """Returns the class score (the logit, as the gradients use) of each image, in batches.

    Args:
        model: a `keras.Model`.
        images: float32 `(n, height, width, channels)` in 0..255.
        class_index: the class whose score is read.
        batch_size: images per forward pass; 32 keeps EfficientNet's activations near 1 GB.
            Defaults to `32`.

    Returns:
        float64 `(n,)`.

    Raises:
        ValueError: for a class index outside the model's classes.
    """
    import tensorflow as tf

    class_index = checks.class_index(model, class_index)
    function = class_score_function(model)
    images = np.asarray(images, dtype=np.float32)
    scores = [np.asarray(function(images[start : start + batch_size], tf.constant(class_index, tf.int32)))
              for start in range(0, len(images), batch_size)]
    return np.concatenate(scores).astype(np.float64) if scores else np.zeros(0)
