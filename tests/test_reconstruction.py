"""The autoencoder: its architecture, training on its own input, reconstructions, the error, codes and the walk."""

import doctest

import keras
import numpy as np
import pytest

from imgrec import architectures, datasets, reconstruction, training


@pytest.fixture(scope="module")
def autoencoder():
    keras.utils.set_random_seed(0)
    return architectures.build_autoencoder((28, 28, 1), latent_dim=2, seed=0)


@pytest.fixture(scope="module")
def digits():
    data = datasets.load("mnist")
    return data.x_test[:64], data.y_test[:64]


def test_the_autoencoder_rebuilds_an_image_of_its_input_shape_through_a_small_code(autoencoder):
    assert architectures.is_autoencoder(autoencoder) and not architectures.is_autoencoder(
        architectures.build("cnn", (28, 28, 1), 10))
    assert autoencoder.get_layer("latent").output.shape[-1] == 2 and autoencoder.output_shape == (None, 28, 28, 1)
    colour = architectures.build_autoencoder((32, 32, 3), latent_dim=16)
    assert colour.output_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="multiples of 4"):
        architectures.build_autoencoder((8, 10, 1))
    with pytest.raises(ValueError, match="latent_dim must be from 2 to 256"):
        architectures.build_autoencoder((28, 28, 1), latent_dim=1)


def test_reconstructions_are_images_in_0_to_1_and_the_error_is_the_mean_squared_difference(autoencoder, digits):
    images, labels = digits
    rebuilt = reconstruction.reconstruct(autoencoder, images)
    assert rebuilt.shape == images.shape and 0 <= rebuilt.min() and rebuilt.max() <= 1
    errors = reconstruction.squared_errors(images, rebuilt)
    np.testing.assert_allclose(errors, ((images / 255.0 - rebuilt) ** 2).mean(axis=(1, 2, 3)), rtol=1e-6)
    report = reconstruction.from_errors(errors, labels, datasets.MNIST_CLASSES)
    assert report["task"] == "reconstruction" and report["n"] == 64
    assert report["reconstruction_mse"] == pytest.approx(errors.mean())
    sevens = next(row for row in report["per_class"] if row["class"] == "7")
    assert sevens["support"] == int((labels == 7).sum()) and sevens["mse"] == pytest.approx(errors[labels == 7].mean())


def test_decoding_a_code_gives_the_reconstruction_of_its_image(autoencoder, digits):
    images, _ = digits
    codes = reconstruction.encode(autoencoder, images[:5])
    assert codes.shape == (5, 2)
    np.testing.assert_allclose(reconstruction.decode(autoencoder, codes), reconstruction.reconstruct(autoencoder, images[:5]),
                               atol=1e-5)
    with pytest.raises(ValueError, match=r"Expected codes of shape \(N, 2\)"):
        reconstruction.decode(autoencoder, np.zeros((1, 3)))


def test_a_two_number_code_is_walked_on_its_own_plane_and_a_wider_one_on_its_main_directions(autoencoder, digits):
    images, _ = digits
    codes = reconstruction.encode(autoencoder, images)
    walk = reconstruction.latent_walk(autoencoder, codes, steps=4)
    assert walk.images.shape == (4, 4, 28, 28, 1) and walk.axes_are_the_code
    low, high = np.percentile(codes, [2, 98], axis=0)
    np.testing.assert_allclose([walk.x[0], walk.x[-1], walk.y[-1], walk.y[0]], [low[0], high[0], low[1], high[1]],
                               rtol=1e-5)
    # The top-left tile is what the decoder draws at (smallest first number, largest second number).
    np.testing.assert_allclose(walk.images[0, 0], reconstruction.decode(autoencoder, [[walk.x[0], walk.y[0]]])[0],
                               atol=1e-5)
    wide = architectures.build_autoencoder((28, 28, 1), latent_dim=8)
    wide_walk = reconstruction.latent_walk(wide, reconstruction.encode(wide, images), steps=3)
    assert wide_walk.images.shape == (3, 3, 28, 28, 1) and not wide_walk.axes_are_the_code


def test_a_classifier_is_not_an_autoencoder():
    with pytest.raises(ValueError, match="is not an autoencoder"):
        reconstruction.reconstruct(architectures.build("cnn", (28, 28, 1), 10), np.zeros((1, 28, 28, 1)))


def test_training_an_autoencoder_lowers_its_error_and_logs_no_accuracy():
    config = training.TrainConfig(architecture="autoencoder", dataset="mnist", max_samples=1200, epochs=2,
                                  latent_dim=8, seed=0)
    untrained = architectures.build_autoencoder((28, 28, 1), latent_dim=8, seed=0)
    result = training.train(config)
    assert [sorted(key for key in epoch if "loss" in key) for epoch in result.history] == [["loss", "val_loss"]] * 2
    assert all("accuracy" not in epoch for epoch in result.history)
    before = reconstruction.evaluate(untrained, "mnist", max_samples=500)["reconstruction_mse"]
    after = reconstruction.evaluate(result.model, "mnist", max_samples=500)
    assert after["reconstruction_mse"] < 0.7 * before and after["n"] == 500 and after["split"] == "test"
    # The loss is the reconstruction error itself: on the validation images, the last epoch's val_loss.
    assert result.history[-1]["val_loss"] == pytest.approx(after["reconstruction_mse"], rel=0.25)


@pytest.mark.parametrize(("changes", "message"), [
    ({"augment_rotate": 5.0}, "augmentation is off for it"),
    ({"latent_dim": 1}, "latent_dim must be between 2 and 256"),
])
def test_impossible_autoencoder_settings_get_one_sentence(changes, message):
    config = training.TrainConfig(architecture="autoencoder", **changes)
    with pytest.raises(training.ConfigError, match=message):
        config.validate()
    assert config.task == "reconstruction" and training.TrainConfig().task == "classification"


def test_a_dataset_whose_sides_are_not_multiples_of_4_is_refused_for_the_autoencoder(monkeypatch):
    from imgrec.training import config as config_module

    monkeypatch.setattr(config_module.datasets, "input_shape", lambda name: (30, 30, 1))
    with pytest.raises(training.ConfigError, match="sides are multiples of 4; mnist is 30x30"):
        training.TrainConfig(architecture="autoencoder").validate()


def test_docstring_examples_run():
    results = doctest.testmod(reconstruction, extraglobs={"np": np, "architectures": architectures})
    assert results.attempted > 0 and results.failed == 0
