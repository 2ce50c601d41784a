"""explain.maximisation: the picture a filter answers to most (activation maximisation), and the images that excite it."""

import doctest
import time

import keras
import numpy as np
import pytest

from imgrec import architectures, explain, registry
from imgrec.explain import maximisation


def edge_model():
    """A one-layer convnet with two hand-set filters: a vertical edge (dark left, bright right) and a horizontal one."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    convolution = keras.layers.Conv2D(2, 3, activation="relu", name="edges")
    outputs = keras.layers.Flatten(name="flatten")(convolution(x))
    model = keras.Model(inputs, outputs)
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[:, 0, 0, 0], kernel[:, 2, 0, 0] = -1, 1  # Columns: left negative, right positive.
    kernel[0, :, 0, 1], kernel[2, :, 0, 1] = -1, 1  # Rows: top negative, bottom positive.
    convolution.set_weights([kernel, np.zeros(2, np.float32)])
    return model


def direction_energy(image):
    """(change from column to column, change from row to row), mean absolute."""
    image = np.asarray(image, dtype=np.float64)[..., 0]
    return np.abs(np.diff(image, axis=1)).mean(), np.abs(np.diff(image, axis=0)).mean()


def test_the_picture_of_a_vertical_edge_filter_shows_vertical_edges_and_a_horizontal_one_horizontal_edges():
    images, activations = maximisation.filter_images(edge_model(), "edges")
    across, down = direction_energy(images[0])
    assert across > 3 * down, (across, down)  # Light changes from column to column: vertical edges.
    across, down = direction_energy(images[1])
    assert down > 3 * across, (across, down)
    # Each picture is the edge it should be: darker on the left (top) of an edge than on its right (bottom).
    columns = images[0][..., 0]
    assert (np.diff(columns, axis=1) > 0).mean() > 0.3
    assert (activations > 0).all()


def test_the_climb_raises_each_channels_activation_far_above_a_grey_images():
    keras.utils.set_random_seed(0)
    model = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    grey = np.full((1, 28, 28, 1), maximisation.GREY, np.float32)
    start = explain.feature_maps(model, grey[0], "conv2").mean(axis=(0, 1))[:4]
    images, reached = maximisation.filter_images(model, "conv2", channels=[0, 1, 2, 3])
    assert images.shape == (4, 28, 28, 1) and 0 <= images.min() and images.max() <= 255
    # An untrained network answers weakly to anything; the climb still doubles its answer at least.
    assert (reached > start).all() and reached.mean() > 2 * start.mean(), (start, reached)


def test_the_whole_layer_is_climbed_at_once_and_each_image_climbs_its_own_channel():
    model = edge_model()
    images, _ = maximisation.filter_images(model, "edges", channels=[1, 0], steps=20)
    maps = np.stack([explain.feature_maps(model, image, "edges") for image in images])
    # Image 0 climbed channel 1 and excites it more than image 1 does; image 1, channel 0.
    assert maps[0, ..., 1].mean() > 2 * maps[1, ..., 1].mean() and maps[1, ..., 0].mean() > 2 * maps[0, ..., 0].mean()


def test_first_and_last_name_the_finished_maps_of_the_first_and_last_convolutions():
    deep = architectures.build("cnn-deep", (28, 28, 1), 10)
    assert maximisation.resolve_layer(deep, "first") == "relu1"
    assert maximisation.resolve_layer(deep, "last") == "relu3" == explain.last_conv_layer_name(deep)
    assert maximisation.resolve_layer(deep, "pool2") == "pool2"
    assert maximisation.channel_count(deep, "last") == 128
    with pytest.raises(ValueError, match="has no 2-D feature map"):
        maximisation.resolve_layer(deep, "dense")
    with pytest.raises(ValueError, match="no convolution"):
        maximisation.resolve_layer(architectures.build("mlp", (8, 8, 1), 10), "first")


def test_bad_channels_and_settings_are_refused():
    model = architectures.build("cnn", (28, 28, 1), 10)
    with pytest.raises(ValueError, match="channels 0 to 31"):
        maximisation.filter_images(model, "conv1", channels=[32])
    with pytest.raises(ValueError, match="steps and batch_size must be at least 1"):
        maximisation.filter_images(model, "conv1", channels=[0], steps=0)


def test_strongest_images_are_the_ones_with_the_highest_peak_in_each_channel():
    model = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (30, 28, 28, 1)).astype(np.float32)
    indices, values = maximisation.strongest_images(model, "conv1", images, channels=[0, 5], count=3)
    peaks = np.stack([explain.feature_maps(model, image, "conv1").max(axis=(0, 1)) for image in images])
    for row, channel in enumerate([0, 5]):
        assert indices[row].tolist() == np.argsort(-peaks[:, channel], kind="stable")[:3].tolist()
        np.testing.assert_allclose(values[row], np.sort(peaks[:, channel])[::-1][:3], rtol=1e-4)


def test_nested_models_are_climbed_too():
    base = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    inputs = keras.Input((28, 28, 1))
    outer = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(base(inputs)))
    images, _ = maximisation.filter_images(outer, "conv2", channels=[0, 1], steps=3)
    assert images.shape == (2, 28, 28, 1)


def test_docstring_examples_run():
    results = doctest.testmod(maximisation, extraglobs={"architectures": architectures, "np": np})
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.slow
def test_a_whole_layer_of_the_shipped_mnist_model_takes_at_most_two_seconds(monkeypatch):
    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)
    model = registry.load("mnist-cnn").model
    started = time.perf_counter()
    images, _ = maximisation.filter_images(model, "first")
    first = time.perf_counter() - started
    started = time.perf_counter()
    maximisation.filter_images(model, "first", seed=1)
    again = time.perf_counter() - started
    assert len(images) == 32
    # The first call also traces the graph; on 2 idle cores it is ~1.5 s, under other tests' load more.
    assert again <= 2.0 and first <= 10.0, (first, again)
