"""Augmentation: the Keras pipeline a training config asks for, and previews of what it does to images.

The pipeline acts only in training; the previews show the same pipeline, reseeded, on a few
images, and `augmentation_grid` tiles them into one picture for people to look at.
"""

from __future__ import annotations

import keras
import numpy as np


def make_augmenter(config):
    """Returns the Keras augmentation pipeline a training config asks for, or None when it asks for none.

    Args:
        config: A `TrainConfig`; its `augment_*` settings and `seed` are used.

    Returns:
        What `build_augmenter` returns for those settings.
    """
    return build_augmenter(
        rotate_degrees=config.augment_rotate,
        shift_fraction=config.augment_shift,
        flip=config.augment_flip,
        noise_std=config.augment_noise,
        seed=config.seed,
    )


def build_augmenter(
    *,
    rotate_degrees: float = 0.0,
    shift_fraction: float = 0.0,
    flip: bool = False,
    noise_std: float = 0.0,
    seed: int = 0,
    fill_mode: str = "nearest",
) -> keras.Sequential | None:
    """Builds a Keras augmentation pipeline for float32 images with values in 0..255.

    The layers act only in training (`training=True`); at inference they pass images
    through unchanged. Outputs are not clipped, so noise can leave 0..255 slightly.

    Args:
        rotate_degrees: Random rotation up to this many degrees either way, 0..180.
            Defaults to `0.0`.
        shift_fraction: Random shift up to this fraction of height and width, 0..1.
            Defaults to `0.0`.
        flip: Random horizontal flip (right for clothes and photos, wrong for digits).
            Defaults to `False`.
        noise_std: Standard deviation of additive Gaussian noise in grey levels (0..255
            units, e.g. `10.0`). Defaults to `0.0`.
        seed: Seed of the random layers. Defaults to `0`.
        fill_mode: How rotation and shift fill the uncovered border, as in Keras.
            "nearest" keeps MNIST's black border black and photos free of black wedges.
            Defaults to `"nearest"`.

    Returns:
        A `keras.Sequential` named "augmenter", or None when every option is off.

    Raises:
        ValueError: if an option is out of range.
    """
    checks = (
        ("rotate_degrees", rotate_degrees, 0.0, 180.0),
        ("shift_fraction", shift_fraction, 0.0, 1.0),
        ("noise_std", noise_std, 0.0, 255.0),
    )
    for argument, value, low, high in checks:
        if not (low <= float(value) <= high):
            raise ValueError(f"{argument} must lie in {low}..{high}, got {value}.")
    if not (rotate_degrees or shift_fraction or flip or noise_std):
        return None
    layers = []
    if rotate_degrees:
        # Keras takes rotation as a fraction of a full turn.
        layers.append(
            keras.layers.RandomRotation(
                rotate_degrees / 360.0, fill_mode=fill_mode, seed=seed, name="augment_rotate"
            )
        )
    if shift_fraction:
        layers.append(
            keras.layers.RandomTranslation(
                shift_fraction, shift_fraction, fill_mode=fill_mode, seed=seed + 1, name="augment_shift"
            )
        )
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 2, name="augment_flip"))
    if noise_std:
        # Keras' GaussianNoise accepts a stddev of at most 1, so the noise is added on the
        # 0..1 scale between two Rescaling layers: std noise_std / 255 there is noise_std
        # grey levels here.
        layers += [
            keras.layers.Rescaling(1.0 / 255.0, name="augment_noise_to_unit"),
            keras.layers.GaussianNoise(float(noise_std) / 255.0, seed=seed + 3, name="augment_noise"),
            keras.layers.Rescaling(255.0, name="augment_noise_from_unit"),
        ]
    return keras.Sequential(layers, name="augmenter")


def augment_preview(images: np.ndarray, augmenter, *, copies: int = 1, seed: int = 0) -> np.ndarray:
    """Shows images as the model sees them in training, after augmentation.

    The augmenter is rebuilt with `seed` for the preview, so the same seed shows the same
    images and the augmenter used for training keeps its own random state.

    Args:
        images: uint8 images `(N, H, W, C)`, or one image `(H, W, C)`.
        augmenter: From `make_augmenter` or `build_augmenter`, or None (images are only repeated).
        copies: Augmented copies per image. Defaults to `1`.
        seed: Seed of the preview. Defaults to `0`.

    Returns:
        uint8 images `(N * copies, H, W, C)`, the copies of each image next to each other,
        rounded and clipped to 0..255.

    Raises:
        ValueError: if images are not 3-D or 4-D, or copies is below 1.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"Expected images of shape (N, H, W, C) or (H, W, C), got {images.shape}.")
    if int(copies) < 1:
        raise ValueError(f"copies must be at least 1, got {copies}.")
    batch = np.repeat(images, int(copies), axis=0)
    if augmenter is None:
        return batch.astype(np.uint8)
    if isinstance(augmenter, keras.Sequential):
        reseeded = []
        for position, layer in enumerate(augmenter.layers):
            config = layer.get_config()
            if "seed" in config:
                config["seed"] = seed * 1000 + position
            reseeded.append(type(layer).from_config(config))
        augmenter = keras.Sequential(reseeded)
    augmented = keras.ops.convert_to_numpy(augmenter(batch.astype(np.float32), training=True))
    return np.clip(np.rint(augmented), 0, 255).astype(np.uint8)


def augmentation_grid(originals: np.ndarray, augmented: np.ndarray, gap: int = 2) -> np.ndarray:
    """Tiles images and their augmented copies into one uint8 RGB picture.

    The first row holds the originals; each further row holds one round of augmentation
    of them, so every column is one image and its copies. Grey images are repeated into
    three channels and rows and columns are separated by white gaps.

    Args:
        originals: Images `(N, H, W, C)`, C being 1 or 3, values in 0..255.
        augmented: Their copies as `augment_preview` returns them, `(N * copies, H, W, C)`
            with the copies of each image next to each other.
        gap: White pixels between neighbouring tiles. Defaults to `2`.

    Returns:
        A uint8 array `((copies + 1) * (H + gap) - gap, N * (W + gap) - gap, 3)`.

    Raises:
        ValueError: if the arrays are not 4-D, differ in image shape, `augmented` does not
            hold a whole number of copies of every original, or `gap` is negative.

    Example:

    >>> augmentation_grid(np.zeros((4, 8, 8, 1)), np.zeros((8, 8, 8, 1))).shape
    (28, 38, 3)
    """
    originals = np.asarray(originals)
    augmented = np.asarray(augmented)
    if originals.ndim != 4 or augmented.ndim != 4 or originals.shape[1:] != augmented.shape[1:]:
        raise ValueError(
            f"Expected images (N, H, W, C) and copies (N * copies, H, W, C), got {originals.shape} "
            f"and {augmented.shape}."
        )
    count = len(originals)
    if count == 0 or len(augmented) % count:
        raise ValueError(f"{len(augmented)} augmented images are not whole copies of {count} originals.")
    if int(gap) < 0:
        raise ValueError(f"gap must be 0 or more pixels, got {gap}.")
    copies = len(augmented) // count
    # Rows: the originals, then each round of augmentation; columns: the images.
    rows = [originals] + [augmented[copy::copies] for copy in range(copies)]
    height, width = originals.shape[1:3]
    grid = np.full((len(rows) * (height + gap) - gap, count * (width + gap) - gap, 3), 255, np.uint8)
    for row_index, row in enumerate(rows):
        tiles = np.clip(np.rint(row.astype(np.float32)), 0, 255).astype(np.uint8)
        if tiles.shape[-1] == 1:
            tiles = np.repeat(tiles, 3, axis=-1)
        for column_index, tile in enumerate(tiles):
            top, left = row_index * (height + gap), column_index * (width + gap)
            grid[top : top + height, left : left + width] = tile
    return grid
