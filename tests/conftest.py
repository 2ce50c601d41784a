"""Shared fixtures: registries of tiny models, digit images, and quiet TensorFlow for the session.

Fixture names, one meaning each:
- `tiny_registry` (session): a folder holding untrained `tiny-cnn`, `tiny-vit` and `tiny-autoencoder`; sets nothing.
- `trained_registry` (session): a folder holding `tiny-cnn` trained for one epoch; sets nothing.
- `fresh_registry` (per test): a copy of `trained_registry` that IMGREC_MODELS_DIR points at
  for that test only.
- `hostile_files` (session): builds each hostile model file of `tests/support/hostile.py` once.
- `digit_png` (session): PNG bytes of a drawn 1; `digit_png_file` (per test): a PNG file of an
  MNIST test digit.
Environment variables are set through `monkeypatch` (undone after each test), never for the session.
"""

import shutil

import pytest

# Nothing here imports TensorFlow at import time: pytest_configure must run first.
from tests.support import images

_QUIET_TENSORFLOW = pytest.StashKey[pytest.MonkeyPatch]()


def pytest_addoption(parser):
    parser.addoption("--update-screenshots", action="store_true",
                     help="write the README's screenshots to docs/screenshots/ (tests/e2e/test_readme_screenshots.py)")


def pytest_configure(config):
    # TensorFlow reads this once, at import, which happens while tests are collected: earlier
    # than any fixture. It is set for this pytest run only and restored when the run ends.
    config.stash[_QUIET_TENSORFLOW] = patch = pytest.MonkeyPatch()
    patch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_unconfigure(config):
    config.stash[_QUIET_TENSORFLOW].undo()


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory):
    """A registry folder holding untrained `tiny-cnn`, `tiny-vit` and `tiny-autoencoder` (about a second each)."""
    from tests.support import registries

    return registries.save_tiny_models(tmp_path_factory.mktemp("tiny-registry"))


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory):
    """A registry folder holding `tiny-cnn`: a CNN trained for one epoch on 600 MNIST digits."""
    from tests.support import registries

    return registries.save_trained_tiny_cnn(tmp_path_factory.mktemp("trained-registry"))


@pytest.fixture
def fresh_registry(trained_registry, monkeypatch, tmp_path):
    """A private copy of `trained_registry`, the registry (IMGREC_MODELS_DIR) for this test only."""
    folder = shutil.copytree(trained_registry, tmp_path / "models")
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory):
    """The hostile model files of `tests/support/hostile.py`, each built on first use and kept for the session."""
    from tests.support import hostile

    return hostile.HostileFiles(tmp_path_factory.mktemp("hostile-files"))


@pytest.fixture(scope="session")
def digit_png():
    """PNG bytes of a white 64x64 image with a black vertical bar, like a drawn 1."""
    return images.encode(images.drawn_one())


@pytest.fixture
def digit_png_file(tmp_path):
    """A PNG file of the first MNIST test digit (a 7), as a user would pass it to the CLI."""
    from imgrec import datasets

    return images.write_png(tmp_path / "seven.png", datasets.load_sample("mnist-00"))
