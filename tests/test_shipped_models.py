"""Every shipped model: present, small, intact, above its target, and its card matches a fresh evaluation."""

import numpy as np
import pytest

from imgrec import datasets, metrics, reconstruction, registry

# The accuracy each shipped model must reach on its full official test set (issue 2; shapes: issue 12).
TARGETS = {"mnist-cnn": 0.993, "fashion-cnn": 0.920, "mnist-crnn": 0.988, "mnist-rnn": 0.980, "mnist-vit": 0.980,
           "shapes-cnn": 0.950}
ARCHITECTURES = {"mnist-cnn": "cnn-deep", "fashion-cnn": "cnn-deep", "mnist-crnn": "crnn", "mnist-rnn": "rnn",
                 "mnist-vit": "vit", "shapes-cnn": "cnn-gap"}
# The size of each model's full test split: the MNIST family's official 10,000, the shapes dataset's 4,000.
TEST_SIZES = {"shapes-cnn": 4_000}


@pytest.fixture(autouse=True)
def shipped_registry(monkeypatch):
    # The real models/ folder, whatever another test set.
    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_shipped_model_card_matches_a_fresh_evaluation(name):
    card = registry.card(name)
    assert card.protected is True and card.architecture == ARCHITECTURES[name]
    assert card.file_size < 4 * 1024 * 1024
    test_size = TEST_SIZES.get(name, 10_000)
    assert card.metrics.split == "test" and card.metrics.n == test_size
    assert card.training.seconds > 0 and card.training.machine
    classifier = registry.load(name)  # Checks the sha256 and the allow-list too.
    report = metrics.evaluate(classifier, card.dataset, "test")
    assert report["n"] == test_size
    assert abs(report["accuracy"] - card.accuracy) <= 0.001
    assert report["accuracy"] >= TARGETS[name]


def test_shipped_autoencoder_card_matches_a_fresh_evaluation():
    card = registry.card("mnist-autoencoder")
    assert card.protected is True and card.architecture == "autoencoder" and card.task == "reconstruction"
    assert card.file_size < 4 * 1024 * 1024
    assert card.metrics.split == "test" and card.metrics.n == 10_000 and card.accuracy is None
    assert card.training.seconds > 0 and card.training.machine
    report = reconstruction.evaluate(registry.load("mnist-autoencoder"), "mnist", "test")
    assert report["n"] == 10_000
    assert abs(report["reconstruction_mse"] - card.reconstruction_mse) <= 0.0005
    # Drawing the mean training digit for every image scores about 0.067 (pixels 0..1): the
    # 2-number code must carry far more than that.
    data = datasets.load("mnist")
    mean_image = data.x_train.astype(np.float64).mean(axis=0) / 255.0
    baseline = float(((data.x_test / 255.0 - mean_image) ** 2).mean())
    assert report["reconstruction_mse"] <= 0.05 < baseline


def test_readme_table_is_the_cards():
    from pathlib import Path

    from imgrec.cli.models import markdown_table

    registry.ensure_built("imagenet-efficientnet-lite0")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert markdown_table(registry.list_models()) in readme
