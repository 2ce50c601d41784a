"""Image files and bytes built in memory: any array or Pillow image in any format, and a drawn digit."""

import io

import numpy as np
from PIL import Image


def encode(image, image_format="PNG", **params):
    """Returns `image` (a Pillow image or a uint8 array) encoded as `image_format` bytes.

    Args:
        image: a `PIL.Image.Image`, or a uint8 array `(height, width)` or `(height, width, channels)`.
        image_format: a format Pillow writes. Defaults to `"PNG"`.
        **params: passed to `Image.save` (e.g. `quality=90`, `exif=...`).
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def drawn_one():
    """Returns a white 64x64 RGB uint8 image with a black vertical bar, like a 1 drawn on the canvas."""
    rgb = np.full((64, 64, 3), 255, np.uint8)
    rgb[10:54, 28:36] = 0
    return rgb


def write_png(path, image):
    """Writes `image` (see `encode`) as a PNG file at `path`; returns `path`."""
    path.write_bytes(encode(image))
    return path
