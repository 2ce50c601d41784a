"""Shared fixtures: a tiny trained model in a temporary registry, and quiet TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """A registry folder holding `tiny-cnn`: a CNN trained for one epoch on 600 MNIST digits."""
    from imgrec import metrics, registry, training
    from tests.app.tiny_models import models_dir_env

    folder = tmp_path_factory.mktemp("models")
    with models_dir_env(folder):
        config = training.TrainConfig(architecture="cnn", dataset="mnist", max_samples=600, epochs=1, seed=1)
        result = training.train(config)
        report = metrics.evaluate(result.model, "mnist", "test", max_samples=500)
        registry.save(result.model, "tiny-cnn", registry.card_for_training(result, report))
    return folder


@pytest.fixture
def models_dir(tiny_models_dir, monkeypatch, tmp_path):
    """A fresh registry folder per test, holding a copy of `tiny-cnn`."""
    import shutil

    folder = tmp_path / "models"
    shutil.copytree(tiny_models_dir, folder)
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(folder))
    return folder
