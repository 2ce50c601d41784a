"""Arrays into inline pictures: enlarged with square pixels, overlaid with a heatmap, encoded into a data URL.

Small inputs (a 28 x 28 digit) are enlarged here with nearest-neighbour pixels rather than by
the browser, because PDF viewers and printers smooth a small image when they scale it and
the pixels the model read would blur. What the model sees stays lossless (PNG); a photo is
stored as the smaller of PNG and JPEG.
"""

import io

import numpy as np
from PIL import Image

from imgrec import images, overlays
from imgrec.figures import common
from imgrec.report import markup

PHOTO_SIDE = 480  # The longest side of an uploaded photo in the report: sharp at 8 cm on paper.
JPEG_QUALITY = 88  # Photos and heatmaps only; skimage's coffee at 480 x 320: 43 kB, against 303 kB as PNG.


def enlarged(image, side):
    """Returns an image enlarged by a whole factor with square pixels, its longest side at most `side` (never shrunk)."""
    rgb = common.to_rgb_uint8(image)
    height, width = rgb.shape[:2]
    factor = max(1, int(side) // max(height, width))
    if factor == 1:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width * factor, height * factor), Image.Resampling.NEAREST))


def overlaid(model_input, heatmap, side, alpha=0.5, colormap="jet"):
    """Returns the model's input enlarged to about `side` pixels with the heatmap blended over it, as the page shows it."""
    return overlays.overlay(enlarged(model_input, side), heatmap, alpha, colormap)


def heatmap_alone(heatmap, shape, colormap="gray"):
    """Returns the heatmap by itself at an image's (height, width), white where it is highest: it reads in black and white."""
    height, width = shape[:2]
    return overlays.colorize(overlays.upsample(np.clip(np.nan_to_num(heatmap), 0, 1), height, width), colormap)


def png_url(image):
    """Returns an image as a lossless PNG data URL."""
    return markup.data_url(images.encode_png(common.to_rgb_uint8(image)), "image/png")


def compact_url(image):
    """Returns an image as the smaller of PNG and JPEG: for photos and heatmaps, where a lossy copy reads the same."""
    rgb = common.to_rgb_uint8(image)
    png = images.encode_png(rgb)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    if len(buffer.getvalue()) < len(png):
        return markup.data_url(buffer.getvalue(), "image/jpeg")
    return markup.data_url(png, "image/png")


def photo_url(image, side=PHOTO_SIDE):
    """Returns a user's image, shrunk to `side` (or enlarged with square pixels when tiny), as `compact_url`."""
    rgb = common.to_rgb_uint8(image)
    return compact_url(enlarged(rgb, 180) if max(rgb.shape[:2]) < 100 else images.thumbnail(rgb, side))


def picture(url, alternative, width_mm=None, **attributes):
    """Returns an `<img>` of a data URL; `width_mm` sets its printed width (it never exceeds the column)."""
    style = f"width:{width_mm}mm" if width_mm else None
    return markup.element("img", src=url, alt=alternative, style=style, **attributes)


def side_by_side(left, right, gap=4):
    """Returns two images of the same height next to each other with a white gap, as one image."""
    left, right = common.to_rgb_uint8(left), common.to_rgb_uint8(right)
    if left.shape[0] != right.shape[0]:
        raise ValueError(f"Images side by side need the same height, got {left.shape[0]} and {right.shape[0]}.")
    space = np.full((left.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([left, space, right], axis=1)
