"""Heatmaps onto images: resize a 2-D map, scale it into [0, 1], colour it and blend it over a picture.

Pure numpy (and Pillow for the resize), as pytorch-grad-cam keeps `show_cam_on_image` apart
from its explainers: explainers compute maps, figures and pages colour them here without
importing TensorFlow.

Example:

>>> overlay(np.zeros((28, 28), np.uint8), np.eye(7), alpha=0.5).shape
(28, 28, 3)
"""

import numpy as np

# Matplotlib's viridis and inferno at 9 evenly spaced stops; linear between them is within a
# few levels of the full tables, enough for an overlay.
_COLOR_STOPS = {
    "viridis": [(68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
                (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37)],
    "inferno": [(0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
                (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164)],
    "gray": [(0, 0, 0), (255, 255, 255)],
    # Matplotlib's cividis (Nunez et al. 2018: made to read the same with red-green colour blindness)
    # at 17 stops: linear between them is within 11 levels of its 256-entry table (measured).
    "cividis": [(0, 34, 78), (0, 46, 106), (26, 56, 111), (50, 67, 109), (67, 78, 108), (83, 90, 109),
                (97, 101, 111), (111, 112, 115), (125, 124, 120), (140, 136, 120), (155, 148, 118),
                (171, 160, 114), (188, 174, 108), (205, 187, 99), (222, 201, 88), (240, 216, 70), (254, 232, 56)],
}
# The maps a colour-blind viewer reads as well as anyone: lightness rises steadily from one end to the other.
COLOUR_BLIND_SAFE = ("viridis", "cividis")
COLORMAPS = ("jet", *_COLOR_STOPS)


def upsample(heatmap, height, width):
    """Resizes a 2-D map to (height, width) with bilinear interpolation (a no-op at that size).

    Bilinear weights are non-negative and sum to 1, so a map in [0, 1] stays in [0, 1].

    Args:
        heatmap: a 2-D array.
        height: the rows of the result.
        width: the columns of the result.

    Returns:
        float32 `(height, width)`.

    Raises:
        ValueError: for an array that is not 2-D.
    """
    from PIL import Image

    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"A heatmap must be 2-D, got shape {heatmap.shape}.")
    if heatmap.shape == (height, width):
        return heatmap.copy()
    resized = Image.fromarray(np.ascontiguousarray(heatmap)).resize((int(width), int(height)), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def unit_range(heatmap):
    """Divides a map by its maximum after clipping negatives to zero; an all-zero map stays zero.

    Returns:
        float32 of the same shape, in [0, 1], with NaN read as 0.
    """
    heatmap = np.nan_to_num(np.maximum(np.asarray(heatmap, dtype=np.float32), 0.0))
    peak = float(heatmap.max()) if heatmap.size else 0.0
    return heatmap / peak if peak > 0 else np.zeros_like(heatmap)


def stretch(values):
    """Maps an array's minimum to 0 and its maximum to 1, so a faint map uses every colour; a flat map is all 0.

    Returns:
        float32 of the same shape, in [0, 1], with NaN read as 0.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def colorize(heatmap, colormap="jet"):
    """Maps values in [0, 1] to colours with a small numpy colormap.

    Args:
        heatmap: an array of values in [0, 1]; values outside are clipped, NaN reads 0.
        colormap: one of `COLORMAPS`. Defaults to `"jet"`.

    Returns:
        uint8 of the input's shape plus a last axis of 3 (RGB).

    Raises:
        ValueError: for an unknown colormap.
    """
    values = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float64)), 0.0, 1.0)
    if colormap == "jet":
        # The classic piecewise-linear jet: blue -> cyan -> yellow -> red.
        red = np.clip(1.5 - np.abs(4.0 * values - 3.0), 0.0, 1.0)
        green = np.clip(1.5 - np.abs(4.0 * values - 2.0), 0.0, 1.0)
        blue = np.clip(1.5 - np.abs(4.0 * values - 1.0), 0.0, 1.0)
        return np.rint(np.stack([red, green, blue], axis=-1) * 255.0).astype(np.uint8)
    if colormap not in _COLOR_STOPS:
        raise ValueError(f"Unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}.")
    stops = np.asarray(_COLOR_STOPS[colormap], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(values, positions, stops[:, index]) for index in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def overlay(rgb_uint8, heatmap, alpha=0.5, colormap="jet"):
    """Blends a coloured heatmap over an image.

    Args:
        rgb_uint8: `(H, W, 3)`, `(H, W, 1)` or `(H, W)` image, uint8 (or float in 0..255).
        heatmap: 2-D map in [0, 1], resized to the image if needed.
        alpha: weight of the heatmap colour, in [0, 1]. Defaults to `0.5`.
        colormap: one of `COLORMAPS` ("jet", "viridis", "inferno", "gray", "cividis"). Defaults to `"jet"`.

    Returns:
        uint8 `(H, W, 3)`.

    Raises:
        ValueError: for an alpha outside [0, 1] or an image that is not RGB or grayscale.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    image = np.asarray(rgb_uint8)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected an RGB or grayscale image, got shape {np.shape(rgb_uint8)}.")
    heatmap = upsample(np.clip(np.nan_to_num(np.asarray(heatmap, np.float32)), 0, 1), image.shape[0], image.shape[1])
    colours = colorize(heatmap, colormap).astype(np.float64)
    blended = (1.0 - alpha) * np.clip(image.astype(np.float64), 0, 255) + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
