"""Reference images that carry no information: what Integrated Gradients starts from and trust curves paint with.

An attribution asks "compared with what?": Integrated Gradients integrates from a baseline
image to the real one, and a deletion curve replaces relevant pixels by something neutral.
Each kind here turns one preprocessed image (float32 `(height, width, channels)` in 0..255)
into such a reference of the same shape.
"""

import numpy as np

# A mid-grey in the 0..255 range every model here takes.
GREY = 127.5
# The blur's standard deviation as a share of the image side: 1/16 turns a 28-pixel digit into
# a soft blob (sigma 1.75) and a 224-pixel photo into colour patches (sigma 14), so the
# reference keeps the colours of the image but not its shapes.
BLUR_SIGMA_FRACTION = 1 / 16
KINDS = ("black", "grey", "mean", "blur")


def blur(image, sigma=None):
    """Returns a Gaussian blur of each channel.

    Args:
        image: float `(height, width, channels)`.
        sigma: the standard deviation in pixels. Defaults to `BLUR_SIGMA_FRACTION` of the
            shorter side.

    Returns:
        float32 of the same shape.
    """
    # scipy's filter rather than Pillow's: Pillow blurs only 8-bit images, and rounding a
    # heatmap-weighted canvas to 256 levels would move the curves.
    from scipy import ndimage

    image = np.asarray(image, dtype=np.float32)
    if sigma is None:
        sigma = max(1.0, min(image.shape[:2]) * BLUR_SIGMA_FRACTION)
    return ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype(np.float32)


def reference(image, kind):
    """Returns a reference image of one kind for an image.

    Args:
        image: float `(height, width, channels)` in 0..255.
        kind: "black" (all 0, a blank MNIST canvas), "grey" (all 127.5), "mean" (every pixel
            the image's mean colour) or "blur" (the image blurred, `blur`).

    Returns:
        float32 of the image's shape.

    Raises:
        ValueError: for an unknown kind.
    """
    image = np.asarray(image, dtype=np.float32)
    if kind == "black":
        return np.zeros_like(image)
    if kind == "grey":
        return np.full_like(image, GREY)
    if kind == "mean":
        return np.broadcast_to(image.mean(axis=(0, 1), keepdims=True), image.shape).astype(np.float32)
    if kind == "blur":
        return blur(image)
    raise ValueError(f"Unknown reference image {kind!r}; choose one of {', '.join(KINDS)}.")
