"""Tiny models saved into a registry folder, so tests never wait for real training or touch models/."""

import contextlib
import dataclasses

import pytest

from imgrec import architectures, datasets, registry

# name -> (architecture, builder keyword arguments). Small enough to build and save in about a second each.
TINY_MODELS = {
    "tiny-cnn": ("cnn", {}),
    "tiny-vit": ("vit", {"patch_size": 7, "vit_dim": 16, "vit_depth": 2, "vit_heads": 2}),
}


def tiny_card(name, architecture):
    """Returns a card like the ones training writes, with made-up metrics on a named split."""
    return registry.card_for_model(architecture, "mnist", (28, 28, 1), datasets.MNIST_CLASSES,
                                   title=f"Tiny {architecture} for tests",
                                   metrics=registry.Metrics(split="test", dataset="mnist", n=10000, test_accuracy=0.1))


@contextlib.contextmanager
def registry_at(folder):
    """Points the registry (IMGREC_MODELS_DIR) at `folder` for a block; the environment is restored after it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_MODELS_DIR", str(folder))
        yield folder


def tiny_autoencoder_card():
    """Returns an autoencoder's card like the one training writes, with a made-up error on a named split."""
    metrics = registry.Metrics(split="test", dataset="mnist", n=10000, reconstruction_mse=0.05,
                               per_class_mse={str(digit): 0.05 for digit in range(10)})
    return registry.card_for_model("autoencoder", "mnist", (28, 28, 1), (), title="Tiny autoencoder for tests",
                                   metrics=metrics)


def save_tiny_models(folder):
    """Builds every untrained tiny model (and `tiny-autoencoder`) and saves each with its card in `folder`; returns it."""
    with registry_at(folder):
        for name, (architecture, options) in TINY_MODELS.items():
            model = architectures.build(architecture, (28, 28, 1), 10, seed=0, **options)
            registry.save(model, name, tiny_card(name, architecture), overwrite=True)
        autoencoder = architectures.build_autoencoder((28, 28, 1), latent_dim=2, seed=0)
        registry.save(autoencoder, "tiny-autoencoder", tiny_autoencoder_card(), overwrite=True)
    return folder


def save_trained_tiny_cnn(folder):
    """Trains `tiny-cnn` for one epoch on 600 MNIST digits and saves it with the card training writes."""
    from imgrec import metrics, training

    with registry_at(folder):
        config = training.TrainConfig(architecture="cnn", dataset="mnist", max_samples=600, epochs=1, seed=1)
        result = training.train(config)
        report = metrics.evaluate(result.model, "mnist", "test", max_samples=500)
        registry.save(result.model, "tiny-cnn", registry.card_for_training(result, report))
    return folder


def add_tiny_model(folder, name, architecture, classes=10, **card_changes):
    """Builds one more untrained model of an architecture and saves it in `folder` with a tiny card, changed as asked.

    Example: `add_tiny_model(models, "tiny-fashion", "cnn", 2, dataset="fashion-sneaker-vs-boot",
    class_names=("Sneaker", "Ankle boot"))`.
    """
    card = dataclasses.replace(tiny_card(name, architecture), **card_changes)
    with registry_at(folder):
        registry.save(architectures.build(architecture, (28, 28, 1), classes, seed=0), name, card, overwrite=True)
    return folder
