"""What an autoencoder does with images: its reconstructions and their error, its latent codes, and a walk over them.

An autoencoder (`architectures.build_autoencoder`) takes raw 0..255 pixels and returns the
image again with pixels in 0..1; its layer "latent" holds the code it squeezed the image
into. The error is the mean squared difference per pixel with both images scaled to 0..1,
the number its card records as `reconstruction_mse`.

Example:

>>> model = architectures.build_autoencoder((28, 28, 1), latent_dim=2)
>>> encode(model, np.zeros((3, 28, 28, 1), np.float32)).shape
(3, 2)
"""

import dataclasses

import numpy as np

from imgrec import architectures, inference
from imgrec.explain import cache, taps

WALK_STEPS = 10  # Decoded images along each side of the latent walk: 100 images, readable at 1280x800.
# The walk spans the middle 96% of the codes along each axis: the extremes hold a few odd
# images whose codes would stretch the grid over empty space.
WALK_COVERAGE = 0.96


def _check(model):
    if not architectures.is_autoencoder(model):
        raise ValueError(f"Model {model.name!r} is not an autoencoder: it has no layer {architectures.LATENT_LAYER!r} "
                         "or does not return an image of its input's shape.")


def reconstruct(model, images, batch_size=256):
    """Returns an autoencoder's reconstructions of images.

    Args:
        model: an autoencoder (`architectures.is_autoencoder`).
        images: `(N, height, width, channels)` raw pixels in 0..255 (uint8 or float).
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        float32 `(N, height, width, channels)` in 0..1.

    Raises:
        ValueError: for a model that is not an autoencoder or images of another shape.
    """
    _check(model)
    return inference.predict_outputs(model, images, batch_size).astype(np.float32)


def squared_errors(images, reconstructions):
    """Returns the mean squared error per image, with `images` (0..255) scaled to the 0..1 of `reconstructions`.

    Example:

    >>> squared_errors(np.full((1, 2, 2, 1), 255), np.full((1, 2, 2, 1), 0.5)).tolist()
    [0.25]
    """
    images = np.asarray(images, dtype=np.float64) / 255.0
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    if images.shape != reconstructions.shape:
        raise ValueError(f"Images {images.shape} and reconstructions {reconstructions.shape} differ in shape.")
    return ((images - reconstructions) ** 2).reshape(len(images), -1).mean(axis=1)


def from_errors(errors, labels, class_names):
    """Returns the report of per-image errors: `task`, `n`, `reconstruction_mse` and the error per class.

    Args:
        errors: `(N,)` mean squared errors (`squared_errors`).
        labels: `(N,)` the images' class indices, to say which classes it rebuilds worst.
        class_names: the dataset's class names.

    Returns:
        A JSON-ready dict; `per_class` lists `{"class", "mse", "support"}`.
    """
    errors, labels = np.asarray(errors, dtype=np.float64), np.asarray(labels).astype(np.int64).ravel()
    per_class = []
    for index, name in enumerate(class_names):
        chosen = errors[labels == index]
        per_class.append({"class": str(name), "mse": float(chosen.mean()) if len(chosen) else None,
                          "support": int(len(chosen))})
    return {"task": "reconstruction", "n": int(len(errors)),
            "reconstruction_mse": float(errors.mean()) if len(errors) else None, "per_class": per_class,
            "class_names": [str(name) for name in class_names]}


def evaluate(model, dataset, split="test", *, max_samples=None, batch_size=256):
    """Measures an autoencoder's reconstruction error on one split of a dataset.

    Args:
        model: an autoencoder, or a `registry.Classifier` holding one.
        dataset: a dataset name or a loaded `datasets.Dataset`.
        split: "test" (default), "validation" or "train".
        max_samples: only the first N images of the split. Defaults to all.
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        The dict of `from_errors`, plus `dataset`, `split` and `source`.
    """
    from imgrec import datasets, metrics

    if isinstance(dataset, str):
        dataset = datasets.load(dataset)
    images, labels = metrics.split_arrays(dataset, split)
    if max_samples is not None:
        images, labels = images[:max_samples], labels[:max_samples]
    keras_model = getattr(model, "model", model)
    errors = squared_errors(images, reconstruct(keras_model, images, batch_size))
    report = from_errors(errors, labels, dataset.class_names)
    report.update({"dataset": dataset.name, "split": split, "source": dataset.source})
    return report


def encode(model, images, batch_size=256):
    """Returns the latent codes of images, `(N, latent_dim)` float32."""
    _check(model)
    tapped = ((model.get_layer(architectures.LATENT_LAYER), "output"),)
    images = np.asarray(images, dtype=np.float32)
    codes = [taps.read(model, images[start : start + batch_size], tapped)[0]
             for start in range(0, len(images), batch_size)]
    return np.concatenate(codes).astype(np.float32) if codes else np.zeros((0, latent_size(model)), np.float32)


def latent_size(model):
    """Returns how many numbers an autoencoder's code has."""
    return int(model.get_layer(architectures.LATENT_LAYER).output.shape[-1])


def _decoder(model):
    """The decoder as its own model: the layers after "latent", applied in order to a code (cached per model)."""

    def build():
        import keras

        codes = keras.Input(shape=(latent_size(model),), name="code")
        names = [layer.name for layer in model.layers]
        outputs = codes
        for layer in model.layers[names.index(architectures.LATENT_LAYER) + 1 :]:
            outputs = layer(outputs)
        return keras.Model(codes, outputs, name="decoder")

    return cache.cached(model, ("decoder",), build)


def decode(model, codes, batch_size=256):
    """Returns the images an autoencoder's decoder draws from latent codes: float32 `(N, h, w, c)` in 0..1."""
    _check(model)
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 2 or codes.shape[1] != latent_size(model):
        raise ValueError(f"Expected codes of shape (N, {latent_size(model)}), got {codes.shape}.")
    return inference.predict_outputs(_decoder(model), codes, batch_size)


@dataclasses.dataclass(frozen=True, eq=False)
class LatentWalk:
    """Images decoded along a grid over the plane where an autoencoder's codes spread most."""

    images: np.ndarray  # float32 (steps, steps, h, w, c) in 0..1; row 0 is the top of the plane.
    x: np.ndarray  # (steps,) the grid's coordinates along the plane's first axis, left to right.
    y: np.ndarray  # (steps,) along its second axis, top to bottom (largest first, as a plot's y axis).
    axes_are_the_code: bool  # True when the code has 2 numbers: the plane is the code itself.


def latent_plane(codes):
    """Returns `(origin, axes)`: the plane through the codes' mean along their two main directions.

    For a two-number code the plane is the code itself (origin 0, identity axes), so the
    walk's coordinates are the code's own; a wider code is walked along its first two
    principal components, the map view's PCA axes.

    Raises:
        ValueError: for codes of fewer than two numbers.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"A walk needs codes of at least 2 numbers, got shape {codes.shape}.")
    if codes.shape[1] == 2:
        return np.zeros(2), np.eye(2)
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(codes)
    return pca.mean_, pca.components_


def latent_walk(model, codes, steps=WALK_STEPS, coverage=WALK_COVERAGE):
    """Decodes a `steps` x `steps` grid over the plane of a set of codes ("walking the latent space").

    Args:
        model: an autoencoder.
        codes: `(N, latent_dim)` codes of real images (`encode`), which set the plane and its extent.
        steps: images along each side. Defaults to `WALK_STEPS`.
        coverage: the share of the codes the grid spans along each axis. Defaults to `WALK_COVERAGE`.

    Returns:
        A `LatentWalk`.

    Raises:
        ValueError: for fewer than 2 steps, a coverage outside (0, 1], or codes of another size.
    """
    if int(steps) < 2 or not 0 < coverage <= 1:
        raise ValueError(f"A walk needs at least 2 steps and a coverage in (0, 1], got {steps} and {coverage}.")
    origin, axes = latent_plane(codes)
    projected = (np.asarray(codes, dtype=np.float64) - origin) @ axes.T
    tail = (1 - coverage) / 2 * 100
    low, high = np.percentile(projected, [tail, 100 - tail], axis=0)
    x = np.linspace(low[0], high[0], int(steps))
    y = np.linspace(high[1], low[1], int(steps))
    grid = np.array([[origin + a * axes[0] + b * axes[1] for a in x] for b in y])
    images = decode(model, grid.reshape(-1, grid.shape[-1]))
    return LatentWalk(images.reshape(int(steps), int(steps), *images.shape[1:]), x, y, latent_size(model) == 2)
