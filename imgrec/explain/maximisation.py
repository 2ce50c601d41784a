"""What each filter of a layer looks for: the image that excites it most (activation maximisation), and the test images that do.

keras-io's "visualizing what convnets learn": start from a grey image and, step by step,
change its pixels in the direction that raises one channel's mean activation (gradient
ascent on the input). Here a whole layer climbs at once: image i of a batch climbs
channel i, and since no layer mixes the images of a batch in inference mode, one gradient
of the summed scores gives every image its own. Two cheap regularisers keep the pictures
recognisable rather than noise: a random shift (jitter) before each step, so only patterns
that survive being moved a pixel or two grow, and a small pull of every pixel back to grey.

Measured on 2 busy cores: all 32 filters of mnist-cnn's first layer in ~1 s; EfficientNet-
Lite0 needs ~1 s per filter at 224 x 224, which is why the app computes it in a background job.
"""

import numpy as np

from imgrec.explain import cache, checks, layers, taps

# The ascent, keras-io's settings adapted to inputs in 0..255, each with the reason for it.
STEPS = 40  # keras-io's 30 leaves faint pictures in 0..255 pixels; past ~40 they change little.
STEP_SIZE = 8.0  # Grey levels per step (root mean square over the image): 40 steps can span the range.
GREY = 128.0  # The start: a neutral image, plus a little noise so symmetric filters can break ties.
START_NOISE = 8.0  # Grey levels of that noise.
JITTER_FRACTION = 1 / 14  # The largest random shift, as a share of the side: 2 pixels of 28, 16 of 224.
DECAY = 0.02  # Each step pulls every pixel 2% back to grey: an L2 penalty that keeps unused pixels neutral.
# The map's outer eighth is left out of the score, as keras-io leaves out 2 pixels: a border
# pixel sees zero padding, and images would otherwise grow artefacts at their edges.
BORDER_FRACTION = 1 / 8
LEAK = 0.1  # The slope below 0 of the climbed value (see `_ascent`).
BATCH = 64  # Channels climbed together: a whole MNIST layer at once; EfficientNet's maps need smaller batches.
STRONGEST_COUNT = 4  # Test images shown beside each filter, the ones that excite it most.

LAYER_ALIASES = ("first", "last")  # "first": the first convolution's finished map; "last": the last one's.


def resolve_layer(model, layer_name):
    """Returns the name of the spatial layer `layer_name` names; "first" and "last" name the first and last convolutions.

    A convolution's map is taken after the batch norm and activation that finish it
    (cnn-deep: conv1 -> bn1 -> relu1 gives "relu1"), as Grad-CAM takes it.

    Raises:
        ValueError: for a layer without a 2-D feature map, or a model without convolutions.
    """
    if layer_name == "last":
        return layers.last_conv_layer_name(model)
    if layer_name == "first":
        convolutions = layers.convolutions_of(model)
        if not convolutions:
            raise ValueError(f"Model {model.name!r} has no convolution, so it has no filters to look at.")
        followers = layers.elementwise_followers(model, convolutions[0])
        return (followers[-1] if followers else convolutions[0]).name
    return checks.spatial_layer(model, layer_name).name


def _channel_scores(activations, channels, border):
    """The mean of each image's own channel over the map, its border left out: (batch,)."""
    import tensorflow as tf

    if border:
        activations = activations[:, border:-border, border:-border, :]
    chosen = tf.gather(tf.cast(activations, tf.float32), channels, axis=3, batch_dims=1)
    return tf.reduce_mean(chosen, axis=[1, 2])


def _climbed_value(layer):
    """Returns `(which, transform)`: the tensor the ascent climbs for a layer, as a tap and a function of it.

    The value before the layer's activation, where it has one: a ReLU passes no gradient
    where it outputs 0, so a filter silent on a grey image would never start to climb, and
    a larger input gives a larger output anyway.
    """
    import keras

    names = layers.type_names(layer)
    if names.intersection(("Activation", "ReLU")):
        return "input", lambda values: values
    activation = getattr(layer, "activation", None)
    if hasattr(layer, "convolution_op") and activation not in (None, keras.activations.linear):
        def pre_activation(values):
            outputs = layer.convolution_op(values, layer.kernel)
            return outputs + layer.bias if layer.use_bias else outputs

        return "input", pre_activation
    return "output", lambda values: values


def _ascent(tap, transform, border, steps, step_size, jitter, decay, images, channels, seed):
    """The whole climb as one graph: `steps` jittered, normalised gradient steps; returns (images, scores)."""
    import tensorflow as tf

    def step(index, images):
        shift = tf.random.stateless_uniform([2], seed=tf.stack([seed, index]), minval=-jitter, maxval=jitter + 1,
                                            dtype=tf.int32)
        shifted = tf.roll(images, shift, axis=[1, 2])
        with tf.GradientTape() as tape:
            tape.watch(shifted)
            values = transform(taps.run_forward(tap, shifted)[0])
            # A leaky ReLU of the pre-activation: it rewards strong answers in places over a
            # weak one everywhere (patterns, not a bright field), and never stops the gradient.
            climbed = tf.where(values > 0, values, LEAK * values)
            total = tf.reduce_sum(_channel_scores(climbed, channels, border))
        gradient = tf.roll(tape.gradient(total, shifted), -shift, axis=[1, 2])
        # Normalised per image: every channel climbs at the same pace, however large its activations.
        size = tf.sqrt(tf.reduce_mean(tf.square(gradient), axis=[1, 2, 3], keepdims=True)) + 1e-8
        images = images + step_size * gradient / size
        images = GREY + (images - GREY) * (1.0 - decay)
        return index + 1, tf.clip_by_value(images, 0.0, 255.0)

    _, images = tf.while_loop(lambda index, _: index < steps, step, (tf.constant(0), images))
    # What the layer itself answers to the finished images (after its activation), for the record.
    return images, _channel_scores(taps.run_forward(tap, images)[1], channels, border)


def _ascent_function(model, layer, steps, step_size):
    """A cached tf.function: (start images, channels, seed) -> (climbed images, their channels' mean activations)."""
    import tensorflow as tf

    def build():
        which, transform = _climbed_value(layer)
        tap = taps.tap_model(model, ((layer, which), (layer, "output")), with_output=False)
        height, width = layer.output.shape[1], layer.output.shape[2]
        border = int(min(height, width) * BORDER_FRACTION)
        jitter = max(1, int(round(min(model.input_shape[1], model.input_shape[2]) * JITTER_FRACTION)))
        specs = [taps.batch_spec(model), tf.TensorSpec((None,), tf.int32), tf.TensorSpec((), tf.int32)]
        bound = (tap, transform, border, int(steps), float(step_size), jitter, DECAY)
        return cache.compile_function(_ascent, bound, specs)

    return cache.cached(model, ("maximise", layer.name, id(layer), int(steps), float(step_size)), build)


def channel_count(model, layer_name):
    """Returns how many channels (filters) a spatial layer has."""
    return int(layers.find_layer(model, resolve_layer(model, layer_name)).output.shape[-1])


def filter_images(model, layer_name, channels=None, *, steps=STEPS, step_size=STEP_SIZE, seed=0, batch_size=BATCH,
                  on_progress=None):
    """Returns the image that excites each channel of a layer most, found by gradient ascent from grey.

    Args:
        model: a `keras.Model` taking raw 0..255 pixels.
        layer_name: a spatial layer's name (`layers.spatial_layers`), or "first" / "last".
        channels: the channels to picture. Defaults to `None`: every channel of the layer.
        steps: gradient steps. Defaults to `STEPS`.
        step_size: grey levels per step. Defaults to `STEP_SIZE`.
        seed: seeds the start noise and the jitter. Defaults to `0`.
        batch_size: channels climbed together. Defaults to `BATCH`.
        on_progress: called as `on_progress(done, total)` after each batch of channels.
            Defaults to `None`.

    Returns:
        `(images, activations)`: float32 `(n, height, width, channels)` in 0..255 at the
        model's input size, and float32 `(n,)`, the mean activation of the layer's output
        (its map's border left out) that each image reached.

    Raises:
        ValueError: for a layer without a 2-D map, a channel out of range or a bad setting.

    Example:

    >>> model = architectures.build("cnn", (28, 28, 1), 10)
    >>> images, activations = filter_images(model, "first", channels=[0, 1], steps=2)
    >>> images.shape, activations.shape
    ((2, 28, 28, 1), (2,))
    """
    import tensorflow as tf

    layer = layers.find_layer(model, resolve_layer(model, layer_name))
    count = int(layer.output.shape[-1])
    channels = list(range(count)) if channels is None else [int(channel) for channel in channels]
    if not channels or any(not 0 <= channel < count for channel in channels):
        raise ValueError(f"Layer {layer.name!r} has channels 0 to {count - 1}; got {channels[:8]}.")
    if int(steps) < 1 or not step_size > 0 or int(batch_size) < 1:
        raise ValueError(f"steps and batch_size must be at least 1 and step_size above 0, got {steps}, "
                         f"{batch_size} and {step_size}.")
    ascend = _ascent_function(model, layer, steps, step_size)
    noise = np.random.default_rng(seed)
    shape = tuple(int(size) for size in model.input_shape[1:])
    images, activations = [], []
    for start in range(0, len(channels), int(batch_size)):
        chunk = channels[start : start + int(batch_size)]
        first = GREY + noise.uniform(-START_NOISE, START_NOISE, (len(chunk), *shape)).astype(np.float32)
        climbed, reached = ascend(first, tf.constant(chunk, tf.int32), tf.constant(seed + start, tf.int32))
        images.append(np.asarray(climbed))
        activations.append(np.asarray(reached))
        if on_progress is not None:
            on_progress(min(start + len(chunk), len(channels)), len(channels))
    return np.concatenate(images).astype(np.float32), np.concatenate(activations).astype(np.float32)


def pictures(images):
    """Returns climbed images made visible: each stretched around its mean, as keras-io's deprocessing does, uint8.

    The climb leaves small changes around grey; spreading each image's values (mean at mid
    grey, 0.15 of the range per standard deviation) shows the pattern, not the contrast.

    Example:

    >>> pictures(np.array([[[[128.0], [130.0]]]])).ravel().tolist()
    [89, 166]
    """
    images = np.asarray(images, dtype=np.float64)
    axes = tuple(range(1, images.ndim))
    centred = images - images.mean(axis=axes, keepdims=True)
    spread = centred.std(axis=axes, keepdims=True)
    shown = np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-6) * 0.15 + 0.5
    return np.clip(np.rint(shown * 255), 0, 255).astype(np.uint8)


def _peak_activations(tap, images):
    import tensorflow as tf

    # Reduced inside the graph: only (batch, channels) leaves it, not EfficientNet's whole maps.
    return tf.reduce_max(tf.cast(taps.run_forward(tap, images)[0], tf.float32), axis=[1, 2])


def peak_activations(model, layer_name, images, batch_size=128):
    """Returns each image's strongest activation in every channel of a layer: float32 `(N, channels)`."""
    layer = layers.find_layer(model, resolve_layer(model, layer_name))

    def build():
        tap = taps.tap_model(model, ((layer, "output"),), with_output=False)
        return cache.compile_function(_peak_activations, (tap,), [taps.batch_spec(model)])

    function = cache.cached(model, ("peaks", layer.name, id(layer)), build)
    images = np.asarray(images, dtype=np.float32)
    chunks = [np.asarray(function(images[start : start + batch_size])) for start in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, int(layer.output.shape[-1])), np.float32)


def strongest_images(model, layer_name, images, channels=None, count=STRONGEST_COUNT, batch_size=128):
    """Returns, for each channel, the images that excite it most (anywhere in the image), strongest first.

    Args:
        model: a `keras.Model` taking raw 0..255 pixels.
        layer_name: a spatial layer, or "first" / "last".
        images: `(N, height, width, channels)` candidates, e.g. test images.
        channels: the channels. Defaults to `None`: every channel.
        count: images per channel. Defaults to `STRONGEST_COUNT`.
        batch_size: images per forward pass. Defaults to `128`.

    Returns:
        `(indices, activations)`: int64 and float32 arrays `(len(channels), count)`, indices into `images`.
    """
    peaks = peak_activations(model, layer_name, images, batch_size)
    channels = list(range(peaks.shape[1])) if channels is None else [int(channel) for channel in channels]
    chosen = peaks[:, channels].T  # (channels, N)
    order = np.argsort(-chosen, axis=1, kind="stable")[:, : int(count)]
    return order.astype(np.int64), np.take_along_axis(chosen, order, axis=1).astype(np.float32)
