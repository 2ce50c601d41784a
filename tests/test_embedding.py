"""imgrec.embedding: where a model puts the test images on a 2-D map, and how well the map groups the classes."""

import doctest

import keras
import numpy as np
import pytest

from imgrec import architectures, datasets, embedding, registry


@pytest.fixture(scope="module")
def mnist_test():
    data = datasets.load("mnist")
    return data.x_test, data.y_test


@pytest.mark.slow
@pytest.mark.parametrize("method", embedding.METHODS)
def test_a_trained_models_map_groups_the_classes_better_than_the_raw_pixels(mnist_test, method, monkeypatch):
    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)
    images, labels = mnist_test
    placed = embedding.embed(registry.load("mnist-cnn").model, images, labels, samples=1000, method=method)
    pixels = embedding.project(embedding.pixel_features(images[placed.indices]), method)
    model_score = embedding.separation(placed.points, placed.labels)
    pixel_score = embedding.separation(pixels, placed.labels)
    assert model_score["neighbour_accuracy"] > pixel_score["neighbour_accuracy"] + 0.05, (model_score, pixel_score)
    assert model_score["silhouette"] > pixel_score["silhouette"], (model_score, pixel_score)
    # The model's own choices are recorded beside each point, and it is right on nearly all of them.
    assert placed.layer == "dense" and placed.dimensions == 128
    assert (placed.predicted == placed.labels).mean() > 0.98


def test_the_map_places_a_stratified_sample_and_records_what_the_model_chose():
    keras.utils.set_random_seed(0)
    model = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (200, 28, 28, 1)).astype(np.uint8)
    labels = np.arange(200) % 10
    placed = embedding.embed(model, images, labels, samples=50)
    assert placed.points.shape == (50, 2) and placed.method == "pca" and placed.layer == "flatten"
    assert np.bincount(placed.labels, minlength=10).tolist() == [5] * 10  # the same share of every class
    assert (labels[placed.indices] == placed.labels).all() and (np.diff(placed.indices) > 0).all()
    probabilities = np.asarray(model(images[placed.indices].astype(np.float32)))
    assert placed.predicted.tolist() == probabilities.argmax(axis=1).tolist()
    np.testing.assert_allclose(placed.confidence, probabilities.max(axis=1), rtol=1e-4)


def test_a_classifiers_vectors_are_the_input_of_its_last_layer_and_an_autoencoders_its_code():
    model = architectures.build("cnn-deep", (28, 28, 1), 10)
    images = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype(np.float32)
    head_input = keras.Model(model.inputs, model.get_layer("predictions").input)
    np.testing.assert_allclose(embedding.features(model, images), np.asarray(head_input(images)), rtol=1e-4, atol=1e-5)
    assert embedding.feature_layer_name(model) == "dense"
    assert embedding.feature_layer_name(architectures.build("vit", (28, 28, 1), 10, vit_dim=16, vit_depth=1,
                                                            vit_heads=2)) == "class_token"
    autoencoder = architectures.build_autoencoder((28, 28, 1), latent_dim=3)
    assert embedding.features(autoencoder, images).shape == (3, 3)
    assert embedding.feature_layer_name(autoencoder) == "latent"
    placed = embedding.embed(autoencoder, images, np.array([0, 1, 2]), samples=3)
    assert placed.predicted is None and placed.confidence is None


def test_the_json_contract_names_the_classes():
    placed = embedding.Embedding(method="tsne", points=np.array([[1.0, 2.0], [3.0, 4.0]], np.float32),
                                 indices=np.array([7, 9]), labels=np.array([1, 0]), predicted=np.array([1, 1]),
                                 confidence=None, layer="dense", dimensions=128)
    assert placed.to_json(["cat", "dog"]) == {
        "method": "tsne", "n": 2, "layer": "dense", "dimensions": 128,
        "points": [{"x": 1.0, "y": 2.0, "label": "dog", "predicted": "dog", "index": 7},
                   {"x": 3.0, "y": 4.0, "label": "cat", "predicted": "dog", "index": 9}]}


def test_bad_methods_and_too_few_points_are_refused():
    with pytest.raises(ValueError, match="Unknown method 'umap'; choose one of pca, tsne"):
        embedding.project(np.zeros((10, 4)), "umap")
    with pytest.raises(ValueError, match="at least 3 vectors"):
        embedding.project(np.zeros((2, 4)))


def test_tsne_keeps_close_neighbours_close():
    rng = np.random.default_rng(0)
    clouds = np.concatenate([rng.normal(0, 1, (40, 20)), rng.normal(8, 1, (40, 20))])
    labels = np.repeat([0, 1], 40)
    assert embedding.separation(embedding.project(clouds, "tsne"), labels)["neighbour_accuracy"] == 1.0


def test_docstring_examples_run():
    results = doctest.testmod(embedding, extraglobs={"np": np})
    assert results.attempted > 0 and results.failed == 0
