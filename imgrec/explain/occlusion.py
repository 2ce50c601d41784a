"""Occlusion sensitivity (Zeiler & Fergus, 2014): slide a patch over the image and record how far the class score falls.

No gradients: only forward passes of occluded copies, all batched, so it works on any model
and is a check on the gradient techniques where gradients mislead (saturated units, noisy
pixel gradients). Each pixel gets the mean score drop of the patches that covered it.

The patch and its stride are shares of the image side, so the same settings cost about the
same on a 28-pixel digit and a 224-pixel photo: by default 13 x 13 = 169 occluded copies.
"""

import math

import numpy as np

from imgrec import overlays
from imgrec.explain import base, baselines, checks, gradients

PATCH = base.Option(
    name="patch", title="Patch side (share of the image)", kind="number", default=0.15, minimum=0.03, maximum=0.5,
    help="The side of the square patch as a share of the image side, so the default covers 4 pixels of a "
         "28-pixel digit and 34 of a 224-pixel photo.",
)
STRIDE = base.Option(
    name="stride", title="Step (share of the patch)", kind="number", default=0.5, minimum=0.25, maximum=1.0,
    help="How far the patch moves each time as a share of its side: smaller steps give a smoother map and cost "
         "more forward passes.",
)
# The image's mean colour rather than Zeiler & Fergus's grey: on a black MNIST-style canvas a
# grey patch adds a blob instead of hiding anything. Measured on a CNN trained to name the
# quadrant of a white square (tests/test_explain.py): grey-patch maps peaked in the square's
# quadrant for 0 of 40 squares, mean-colour maps for 40 of 40. On photos the mean is a grey.
FILL = base.Option(
    name="fill", title="Patch colour", kind="choice", default="mean", choices=("mean", "grey", "black"),
    help="What the patch paints: the image's mean colour, mid-grey, or black (an MNIST digit's background).",
)


def positions(side, patch, stride):
    """Returns the patch's start offsets along one side, the last one flush with the edge so every pixel is covered.

    Example:

    >>> positions(28, 4, 2)[:3], positions(28, 4, 2)[-1], len(positions(28, 4, 2))
    ([0, 2, 4], 24, 13)
    """
    starts = list(range(0, side - patch + 1, stride))
    if starts[-1] != side - patch:
        starts.append(side - patch)
    return starts


def patch_geometry(height, width, patch, stride):
    """Returns `(patch side, stride)` in pixels for shares of the shorter image side (each at least 1 pixel)."""
    side = max(1, round(patch * min(height, width)))
    return side, max(1, round(stride * side))


def occlusion(model, image, class_index, patch=PATCH.default, stride=STRIDE.default, fill=FILL.default):
    """Returns the occlusion-sensitivity map of one class for one image.

    Args:
        model: any `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.
        patch: the patch side as a share of the shorter image side, in [0.03, 0.5].
            Defaults to `0.15`.
        stride: the step as a share of the patch side, in [0.25, 1]. Defaults to `0.5`.
        fill: "mean", "grey" or "black". Defaults to `"mean"`.

    Returns:
        float32 `(height, width)`: the mean drop of the class score (the logit) when a patch
        covered each pixel, its positive part scaled to [0, 1].

    Raises:
        ValueError: for a bad class, image, patch, stride or fill.
    """
    patch, stride, fill = PATCH.check(patch), STRIDE.check(stride), FILL.check(fill)
    class_index = checks.class_index(model, class_index)
    original = checks.as_batch(model, image)[0]
    height, width = original.shape[:2]
    side, step = patch_geometry(height, width, patch, stride)
    painted = baselines.reference(original, fill)
    corners = [(top, left) for top in positions(height, side, step) for left in positions(width, side, step)]
    copies = np.repeat(original[None], len(corners), axis=0)
    for copy, (top, left) in zip(copies, corners, strict=True):
        copy[top : top + side, left : left + side] = painted[top : top + side, left : left + side]
    drops = gradients.class_scores(model, original[None], class_index)[0] - gradients.class_scores(
        model, copies, class_index)
    total = np.zeros((height, width), dtype=np.float64)
    covered = np.zeros((height, width), dtype=np.float64)
    for drop, (top, left) in zip(drops, corners, strict=True):
        total[top : top + side, left : left + side] += drop
        covered[top : top + side, left : left + side] += 1.0
    return overlays.unit_range(total / covered)


def copies_needed(height, width, patch=PATCH.default, stride=STRIDE.default):
    """Returns how many occluded copies (forward passes) a map costs, so a caller can say so before running it."""
    side, step = patch_geometry(height, width, patch, stride)
    return math.prod(len(positions(length, side, step)) for length in (height, width))


EXPLAINER = base.Explainer(
    name="occlusion",
    title="Occlusion",
    description="How far the class score falls when a patch covers each part of the image, measured by running "
                "the model on every covered copy rather than by gradients.",
    heatmap=occlusion,
    applies_to=base.any_model,
    options=(PATCH, STRIDE, FILL),
)
