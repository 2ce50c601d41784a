"""Edits of a model's input: strokes painted over what the model sees, as the edit-and-compare view applies them.

A student paints on an enlarged copy of the model's input; the strokes come back as an RGBA
image at the canvas's size. `paint_over` shrinks them to the input's size (each input pixel
takes the mean of the canvas pixels over it, weighted by how much paint covers them) and
blends them in, so the edited array is again a model input.
"""

import numpy as np


def paint_over(model_input, strokes):
    """Returns a model input with RGBA strokes blended over it.

    Args:
        model_input: float32 `(height, width, channels)` in 0..255, channels 1 or 3.
        strokes: uint8 `(canvas height, canvas width, 4)` RGBA, transparent where nothing was
            painted; the canvas covers the whole input, at any whole or fractional scale.

    Returns:
        float32 of the input's shape, in 0..255. A grey input takes the strokes' luma.

    Raises:
        ValueError: for an input that is not an image or strokes that are not RGBA.

    Example:

    >>> image = np.zeros((2, 2, 1), np.float32)
    >>> strokes = np.zeros((4, 4, 4), np.uint8)
    >>> strokes[:2, :2] = (255, 255, 255, 255)  # White paint over the top-left input pixel.
    >>> paint_over(image, strokes)[..., 0]
    array([[255.,   0.],
           [  0.,   0.]], dtype=float32)
    """
    from PIL import Image

    image = np.asarray(model_input, dtype=np.float32)
    strokes = np.asarray(strokes)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"A model input must be (height, width, 1 or 3), got shape {image.shape}.")
    if strokes.ndim != 3 or strokes.shape[-1] != 4:
        raise ValueError(f"Strokes must be an RGBA image (height, width, 4), got shape {strokes.shape}.")
    height, width = image.shape[:2]
    alpha = strokes[..., 3:].astype(np.float32) / 255.0
    # Paint times its coverage, then both shrunk with a box filter: a pixel half covered by
    # paint takes half of the paint's colour, whatever the paint's neighbours are.
    layers = np.concatenate([strokes[..., :3].astype(np.float32) * alpha, alpha], axis=-1)
    shrunk = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(layers[..., index])).resize(
        (width, height), Image.Resampling.BOX)) for index in range(4)], axis=-1)
    coverage = np.clip(shrunk[..., 3:], 0.0, 1.0)
    paint = np.divide(shrunk[..., :3], coverage, out=np.zeros_like(shrunk[..., :3]), where=coverage > 0)
    if image.shape[-1] == 1:
        paint = (paint[..., 0] * 0.299 + paint[..., 1] * 0.587 + paint[..., 2] * 0.114)[..., None]
    return np.clip(image * (1.0 - coverage) + paint * coverage, 0.0, 255.0).astype(np.float32)
