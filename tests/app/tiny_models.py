"""Tiny untrained models saved into a registry folder, so the app's tests never wait for training."""

import contextlib
import os

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
def models_dir_env(folder):
    """Points the registry (IMGREC_MODELS_DIR) at `folder` for a block, then restores what was there."""
    previous = os.environ.get("IMGREC_MODELS_DIR")
    os.environ["IMGREC_MODELS_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("IMGREC_MODELS_DIR", None)
        else:
            os.environ["IMGREC_MODELS_DIR"] = previous


def save_tiny_models(folder):
    """Builds every tiny model and saves it with its card in `folder` (the registry is read from there)."""
    with models_dir_env(folder):
        for name, (architecture, options) in TINY_MODELS.items():
            model = architectures.build(architecture, (28, 28, 1), 10, seed=0, **options)
            registry.save(model, name, tiny_card(name, architecture), overwrite=True)
    return folder
