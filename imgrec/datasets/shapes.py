"""The `shapes` dataset: 64x64 colour images of one circle, square, triangle or star each, with its ground-truth mask.

Drawn on demand with Pillow from a seed, never stored: image i of a split comes from its own
generator seeded with (split seed, i), so the same seed gives the same pixels on every machine
and any image can be drawn alone. The right answer of an explanation is known (the object's
mask), which is what the localisation metrics (`imgrec.trust.localisation`) need.

Not trivial on purpose: a smooth random background with pixel noise, a random colour (kept
distinct from the background), size, position and rotation for the object, and thin lines,
dots and crosses as distractors drawn beneath it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from imgrec.datasets import catalog

CLASSES = catalog.SHAPES_CLASSES
SIZE = 64
TRAIN_SIZE = 16_000
TEST_SIZE = 4_000
TRAIN_SEED = 0
TEST_SEED = 1
# Drawn at 4x and reduced with a box filter: edges are anti-aliased as in a photo, and the
# mask is the object's share of each pixel, not a jagged 1-bit outline.
_SUPERSAMPLE = 4
# The object's outer radius in output pixels: from a fifth to over half of the image.
_RADIUS = (7.0, 18.0)
# The least distance (in 0..255 RGB) between the object's colour and the background's mean.
_MIN_CONTRAST = 90.0


def _polygon(centre, radius, corners, angle, inner=None):
    """The vertices of a regular polygon, or of a star when `inner` (the inner radius) is given."""
    points = []
    count = corners * (2 if inner else 1)
    for index in range(count):
        theta = angle + 2.0 * math.pi * index / count
        length = inner if inner and index % 2 else radius
        points.append((centre[0] + length * math.cos(theta), centre[1] + length * math.sin(theta)))
    return points


def _draw_shape(draw, label, centre, radius, angle, fill):
    """Draws one class's shape, centred, with its outer radius, on a Pillow ImageDraw."""
    if label == 0:
        draw.ellipse([centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius], fill=fill)
    elif label == 1:
        # A square of the same outer radius would look bigger than the circle; its inscribed
        # radius times sqrt(2) keeps the areas within 30%.
        draw.polygon(_polygon(centre, radius, 4, angle), fill=fill)
    elif label == 2:
        draw.polygon(_polygon(centre, radius * 1.1, 3, angle), fill=fill)
    else:
        draw.polygon(_polygon(centre, radius * 1.1, 5, angle, inner=radius * 0.45), fill=fill)


def _background(rng):
    """A smooth random colour field (a 3 x 3 grid of colours, bilinear) plus pixel noise, float32 (64, 64, 3)."""
    from PIL import Image

    corners = rng.uniform(0, 255, (3, 3, 3)).astype(np.uint8)
    field = np.asarray(Image.fromarray(corners).resize((SIZE, SIZE), Image.Resampling.BILINEAR), dtype=np.float32)
    return field + 10.0 * rng.standard_normal(field.shape, dtype=np.float32)


def _distinct_colour(rng, background_mean):
    for _ in range(100):
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - background_mean) >= _MIN_CONTRAST:
            return colour
    return 255.0 - background_mean  # The opposite colour is always far enough.


def draw_one(seed, index, label):
    """Draws one image of a class.

    Args:
        seed: the split's seed.
        index: the image's index in its split; with the seed it seeds the generator.
        label: the class index in `CLASSES`.

    Returns:
        `(image, mask)`: uint8 `(64, 64, 3)` and float32 `(64, 64)`, the share of each pixel
        the object covers, in [0, 1].
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, index])
    scale = _SUPERSAMPLE
    big = SIZE * scale
    background = _background(rng)
    # Each background pixel becomes a 4 x 4 block, which the box filter turns back into itself.
    canvas = Image.fromarray(np.clip(np.rint(background), 0, 255).astype(np.uint8)).resize(
        (big, big), Image.Resampling.NEAREST)
    pen = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(2, 6))):
        colour = tuple(int(value) for value in rng.uniform(0, 255, 3))
        kind = rng.integers(0, 3)
        x, y = rng.uniform(0, big, 2)
        if kind == 0:  # A thin line across part of the image.
            length, theta = rng.uniform(10, 40) * scale, rng.uniform(0, math.pi)
            pen.line([(x, y), (x + length * math.cos(theta), y + length * math.sin(theta))], fill=colour,
                     width=int(rng.integers(1, 3) * scale))
        elif kind == 1:  # A dot, far smaller than any circle of the class.
            radius = rng.uniform(1.0, 2.5) * scale
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
        else:  # A small cross.
            arm = rng.uniform(2, 5) * scale
            pen.line([(x - arm, y), (x + arm, y)], fill=colour, width=scale)
            pen.line([(x, y - arm), (x, y + arm)], fill=colour, width=scale)
    radius = rng.uniform(*_RADIUS)
    centre = rng.uniform(radius + 1, SIZE - radius - 1, 2) * scale
    angle = rng.uniform(0, 2 * math.pi)
    colour = tuple(int(value) for value in _distinct_colour(rng, background.mean(axis=(0, 1))))
    mask = Image.new("L", (big, big), 0)
    _draw_shape(pen, label, centre, radius * scale, angle, colour)
    _draw_shape(ImageDraw.Draw(mask), label, centre, radius * scale, angle, 255)
    image = np.asarray(canvas.resize((SIZE, SIZE), Image.Resampling.BOX), dtype=np.uint8)
    return image, np.asarray(mask.resize((SIZE, SIZE), Image.Resampling.BOX), dtype=np.float32) / 255.0


def _block(seed, block):
    # Each run of four images holds the four classes in a shuffled order of its own.
    return np.random.default_rng([seed, 2**31, block]).permutation(len(CLASSES))


def label_of(seed, index):
    """Returns the class of image `index` of a split: each run of four images holds the four classes, shuffled."""
    return int(_block(seed, index // len(CLASSES))[index % len(CLASSES)])


def labels(seed, count):
    """Returns the classes of the first `count` images of a split without drawing them (16,000 in about 0.1 s)."""
    blocks = -(-count // len(CLASSES))
    return np.concatenate([_block(seed, block) for block in range(blocks)])[:count].astype(np.int64)


def draw(seed, indices):
    """Draws the images of a split at these indices.

    Returns:
        `(images, labels, masks)`: uint8 `(n, 64, 64, 3)`, int64 `(n,)` and float32 `(n, 64, 64)`.
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    classes = np.array([label_of(seed, int(index)) for index in indices], dtype=np.int64)
    images = np.empty((len(indices), SIZE, SIZE, 3), np.uint8)
    masks = np.empty((len(indices), SIZE, SIZE), np.float32)
    for position, (index, label) in enumerate(zip(indices, classes, strict=True)):
        images[position], masks[position] = draw_one(seed, int(index), int(label))
    return images, classes, masks


def generate(count, seed, start=0):
    """Draws `count` consecutive images of a split, the classes balanced within every four.

    Args:
        count: how many images.
        seed: the seed of the split (`TRAIN_SEED`, `TEST_SEED` or any other).
        start: the index of the first image, so a split can be drawn in pieces. Defaults to `0`.

    Returns:
        `(images, labels, masks)`: uint8 `(count, 64, 64, 3)`, int64 `(count,)` and float32
        `(count, 64, 64)`.
    """
    return draw(seed, np.arange(start, start + count))


@functools.lru_cache(maxsize=2)
def _split(seed, count):
    images, labels, masks = generate(count, seed)
    for array in (images, labels, masks):
        array.flags.writeable = False
    return images, labels, masks


def train_split():
    """Returns the fixed training split `(images, labels, masks)`, drawn once per process (16,000 images, ~15 s)."""
    return _split(TRAIN_SEED, TRAIN_SIZE)


def test_split():
    """Returns the fixed test split `(images, labels, masks)`, drawn once per process (4,000 images, ~4 s)."""
    return _split(TEST_SEED, TEST_SIZE)


def test_with_masks(name="shapes", max_samples=None):
    """Returns the test split of a shapes task with each image's object mask.

    Args:
        name: "shapes", or a class subset such as "shapes:circle,square" (or its alias
            "shapes-circle-vs-square"), whose labels become 0, 1, ... in the order named.
        max_samples: keep only the first this many images. Defaults to `None` (all 4,000).

    Returns:
        `(images, labels, masks)`: uint8 `(n, 64, 64, 3)`, int64 `(n,)`, float32 `(n, 64, 64)`.

    Raises:
        ValueError: for a name that is not the shapes dataset or one of its class subsets.
    """
    base, selected = catalog.parse_name(name)
    if base != "shapes":
        raise ValueError(f"{name!r} has no object masks; only the shapes dataset and its class subsets do.")
    images, labels, masks = test_split()
    if selected is not None:
        keep = np.isin(labels, selected)
        mapping = np.full(len(CLASSES), -1, dtype=np.int64)
        mapping[list(selected)] = np.arange(len(selected))
        images, labels, masks = images[keep], mapping[labels[keep]], masks[keep]
    if max_samples is not None:
        images, labels, masks = images[:max_samples], labels[:max_samples], masks[:max_samples]
    return images, labels, masks


def sample(index):
    """Draws test image `index` alone: `(image, label, mask)`, the same pixels as in `test_split()`."""
    label = label_of(TEST_SEED, index)
    image, mask = draw_one(TEST_SEED, index, label)
    return image, label, mask
