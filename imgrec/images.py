"""Untrusted bytes -> validated RGB uint8 arrays: the one door every uploaded image goes through.

A classroom server receives whatever students upload, including prank files: text renamed
to `.png`, decompression bombs, truncated downloads, headers that claim a billion pixels.
`decode_image` is the only place that hands such bytes to Pillow, and it does so
defensively:

- The format is identified from the file's own signature (never its name or MIME type),
  and Pillow is opened with exactly that one format, so none of Pillow's ~40 other
  decoders (EPS through Ghostscript, TIFF through libtiff, ...) can be reached.
- The size is read from the header and checked against `MAX_PIXELS` before Pillow is
  even asked to open the file, and again from `image.size` before `load()` decodes a
  single pixel. Because our limit sits well below Pillow's own `Image.MAX_IMAGE_PIXELS`,
  Pillow's `DecompressionBombWarning` never fires for the default limits; if it is
  raised anyway (a caller raised `max_pixels`, or warnings are turned into errors), it
  becomes an `ImageError`. No Pillow global (`MAX_IMAGE_PIXELS`,
  `ImageFile.LOAD_TRUNCATED_IMAGES`) and no warning filter is changed, because other
  threads of the same server share them.
- Files built to be slow rather than big are refused while reading the header: more than
  `MAX_SEGMENTS` PNG chunks, JPEG markers or GIF blocks (Pillow walks each in Python), or
  more than `MAX_JPEG_SCANS` progressive JPEG scans (each re-decodes the whole image).
- Truncated files are errors (`LOAD_TRUNCATED_IMAGES` stays False), oversized PNG text
  chunks are refused by Pillow's `MAX_TEXT_CHUNK` / `MAX_TEXT_MEMORY`, and every
  exception from Pillow becomes an `ImageError` whose message is one sentence a
  student can act on.

Decisions:
- TIFF is rejected with its own sentence. Pillow decodes TIFF through libtiff, the
  largest and most often patched decoder it has; TIFF also brings many-page files, float,
  signed and 32-bit samples, and dozens of compressions, while classroom images are PNG
  or JPEG and every tool can export those. The mode conversion below still handles the
  `I` and `F` modes that TIFF would produce, so accepting it later is a small change.
- Images longer than `MAX_ASPECT_RATIO`:1 in either direction are rejected: a 60000x1
  strip is cheap to decode, but squeezed into a 224x224 model input it is noise, and a
  clear sentence is more useful to a student than a meaningless prediction.
"""

import io
import os

import numpy as np
from PIL import Image, ImageOps

from imgrec import image_formats, texts

# Limits, each with the reason for its default.
# 10 MB holds any phone photo as JPEG; a 25 megapixel RGBA decode needs ~100 MB of RAM.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# 25 megapixels (e.g. 5000x5000) is twice what a phone camera saves by default.
MAX_PIXELS = 25_000_000
# A 50:1 panorama still shows something; a 60000x1 strip does not.
MAX_ASPECT_RATIO = 50
# Pillow walks PNG chunks, JPEG markers and GIF blocks in Python, a few microseconds each:
# 10 MB of empty ones would cost it 3-10 s per upload. Normal files have well under 2000.
MAX_SEGMENTS = 10_000
# Every progressive JPEG scan re-walks all blocks of the image (~3 ms per scan at 16
# megapixels here); a 300 KB file can carry thousands. Encoders write about 10.
MAX_JPEG_SCANS = 100

# Colour that transparent pixels are composited onto (a drawing on a transparent
# canvas reads as dark-on-white, like paper and like MNIST after inversion).
_BACKGROUND_RGB = (255, 255, 255)

# Modes whose pixels carry an alpha channel (Pillow names; lower-case "a" = premultiplied).
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# Single-channel modes wider than 8 bits, which Pillow's own convert("L") would clip.
_WIDE_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


class ImageError(ValueError):
    """An upload that is not an image we accept; str(e) is one sentence a user can act on."""


def decode_image(
    data: bytes,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_aspect_ratio: float = MAX_ASPECT_RATIO,
) -> np.ndarray:
    """Decodes untrusted bytes into an RGB image array.

    Only the first frame of an animated GIF, APNG or WEBP is decoded. The EXIF
    orientation is applied (a corrupt EXIF block is ignored, not fatal). Every colour
    mode is converted to RGB: transparent pixels are composited onto white using their
    alpha, 16-bit grayscale is scaled (not clipped) to 8 bits, CMYK is converted.

    Args:
        data: The file's bytes, as uploaded (`bytes`, `bytearray` or `memoryview`).
        max_bytes: Largest accepted file size in bytes. Defaults to `MAX_UPLOAD_BYTES`.
        max_pixels: Largest accepted width * height, checked from the file header
            before any pixel is decoded. Pillow's own `Image.MAX_IMAGE_PIXELS` guard
            stays in force above this. Defaults to `MAX_PIXELS`.
        max_aspect_ratio: Largest accepted ratio of the long side to the short side.
            Defaults to `MAX_ASPECT_RATIO`.

    Returns:
        A C-contiguous, writable `uint8` array of shape `(height, width, 3)`.

    Raises:
        ImageError: If the bytes are not an accepted image or break a limit; the
            message is one sentence that says what was wrong and what to do.
        TypeError: If `data` is not bytes-like.
        ValueError: If a limit is not positive.

    Example:

    >>> rgb = decode_image(encode_png(np.zeros((2, 3, 3), np.uint8)))
    >>> rgb.shape, rgb.dtype
    ((2, 3, 3), dtype('uint8'))
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image expects bytes, got {type(data).__name__}.")
    _check_limits(max_bytes, max_pixels, max_aspect_ratio)
    data = bytes(data)
    if not data:
        raise texts.said(ImageError, "errors_images.empty")
    if len(data) > max_bytes:
        raise texts.said(ImageError, "errors_images.too_large", limit=_format_bytes(max_bytes))

    image_format = image_formats.sniff_format(data)
    if image_format is None:
        raise texts.said(ImageError, image_formats.rejected_format_key(data), formats=image_formats.FORMATS_TEXT)

    # First look: the structure and size the header claims, read by hand, so that a bomb
    # is refused before Pillow allocates, loops or warns about anything.
    try:
        header_size = image_formats.header_size(data, image_format, max_segments=MAX_SEGMENTS,
                                                max_scans=MAX_JPEG_SCANS)
    except image_formats.TooManyPieces as error:
        raise texts.carried(ImageError, error) from None
    if header_size is not None:
        _check_size(header_size, max_pixels, max_aspect_ratio)

    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            # Second look: the size Pillow parsed (a GIF frame can grow the canvas),
            # still before `load()` decodes any pixel.
            _check_size(image.size, max_pixels, max_aspect_ratio)
            # Opening leaves the image on its first frame; `load()` decodes only that one.
            image.load()
            _apply_exif_orientation(image)
            return _to_rgb_array(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise texts.said(ImageError, "errors_images.bomb", limit=_format_pixels(max_pixels)) from error
    except MemoryError as error:
        raise texts.said(ImageError, "errors_images.memory") from error
    except Exception as error:
        # Whatever Pillow raises on hostile bytes (OSError, SyntaxError, struct.error,
        # ValueError from its text-chunk limits, EOFError, zlib.error, ...) means the
        # same thing to the student: this file cannot be read.
        raise texts.said(ImageError, "errors_images.damaged", format=image_format) from error


def read_image_file(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_aspect_ratio: float = MAX_ASPECT_RATIO,
) -> np.ndarray:
    """Reads an image file from disk into an RGB image array.

    At most `max_bytes + 1` bytes are read, so a huge file (or `/dev/zero`) is refused
    without being read whole.

    Args:
        path: Path of the file.
        max_bytes: See `decode_image`. Defaults to `MAX_UPLOAD_BYTES`.
        max_pixels: See `decode_image`. Defaults to `MAX_PIXELS`.
        max_aspect_ratio: See `decode_image`. Defaults to `MAX_ASPECT_RATIO`.

    Returns:
        A C-contiguous `uint8` array of shape `(height, width, 3)`.

    Raises:
        ImageError: If the file is not an accepted image or breaks a limit.
        OSError: If the file cannot be opened or read.
    """
    _check_limits(max_bytes, max_pixels, max_aspect_ratio)
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, max_aspect_ratio=max_aspect_ratio)


def encode_png(rgb: np.ndarray) -> bytes:
    """Encodes a decoded image array as PNG bytes, with no metadata.

    The app stores and serves these bytes instead of the original upload, so nothing a
    student smuggled into a file (appended ZIP, text chunks, EXIF) travels further.

    Args:
        rgb: `uint8` array of shape `(height, width, 3)`; `(height, width)` grayscale and
            `(height, width, 4)` RGBA are accepted too.

    Returns:
        The PNG file as bytes.

    Raises:
        ValueError: If `rgb` is not a non-empty `uint8` image array.
    """
    image = Image.fromarray(_checked_image_array(rgb, allow_gray_and_alpha=True))
    buffer = io.BytesIO()
    # Measured here on a 2048x2048 photo: level 3 takes 0.26 s and the default 6 takes
    # 0.60 s, for 15% fewer bytes; these PNGs live in memory, so speed wins.
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def thumbnail(rgb: np.ndarray, size: int = 128) -> np.ndarray:
    """Shrinks an RGB image array to fit in a `size` x `size` square.

    The aspect ratio is kept and small images are never enlarged.

    Args:
        rgb: `uint8` array of shape `(height, width, 3)`.
        size: Longest side of the result in pixels. Defaults to `128`.

    Returns:
        A C-contiguous `uint8` array of shape `(h, w, 3)` with `max(h, w) <= size`.

    Raises:
        ValueError: If `rgb` is not an RGB `uint8` array or `size` is not positive.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}.")
    image = Image.fromarray(_checked_image_array(rgb, allow_gray_and_alpha=False))
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.array(image, dtype=np.uint8)


def _check_limits(max_bytes: int, max_pixels: int, max_aspect_ratio: float) -> None:
    """Raises ValueError for a limit that is not positive (a programming error)."""
    for name, value in (("max_bytes", max_bytes), ("max_pixels", max_pixels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if not (isinstance(max_aspect_ratio, (int, float)) and max_aspect_ratio >= 1):
        raise ValueError(f"max_aspect_ratio must be a number >= 1, got {max_aspect_ratio!r}.")


def _check_size(size: tuple[int, int], max_pixels: int, max_aspect_ratio: float) -> None:
    """Raises ImageError if a (width, height) is empty, too large or too thin."""
    width, height = size
    if width <= 0 or height <= 0:
        raise texts.said(ImageError, "errors_images.empty_size", width=width, height=height)
    if width * height > max_pixels:
        raise texts.said(ImageError, "errors_images.too_many_pixels", width=width, height=height,
                         limit=_format_pixels(max_pixels))
    if max(width, height) > max_aspect_ratio * min(width, height):
        raise texts.said(ImageError, "errors_images.too_thin", width=width, height=height,
                         ratio=f"{max_aspect_ratio:g}")


def _checked_image_array(rgb: np.ndarray, *, allow_gray_and_alpha: bool) -> np.ndarray:
    """Returns `rgb` as a C-contiguous uint8 image array, or raises ValueError."""
    array = np.asarray(rgb)
    channel_counts = (1, 3, 4) if allow_gray_and_alpha else (3,)
    is_gray = allow_gray_and_alpha and array.ndim == 2
    is_colour = array.ndim == 3 and array.shape[2] in channel_counts
    if array.dtype != np.uint8 or not (is_gray or is_colour) or array.size == 0:
        expected = "(height, width[, 1, 3 or 4])" if allow_gray_and_alpha else "(height, width, 3)"
        raise ValueError(
            f"Expected a non-empty uint8 array of shape {expected}, got {array.dtype} of shape {array.shape}."
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return np.ascontiguousarray(array)


def _apply_exif_orientation(image: Image.Image) -> None:
    """Rotates `image` in place as its EXIF orientation says; corrupt EXIF is ignored."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception:
        # EXIF is attacker-controlled metadata, and an unrotated picture is still a
        # picture: a bad orientation tag must not cost the student their upload.
        pass


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Converts a loaded Pillow image of any mode to a (H, W, 3) uint8 array."""
    if image.mode in _WIDE_GRAY_MODES:
        gray = _wide_gray_to_uint8(np.asarray(image), image.mode)
        return np.ascontiguousarray(np.repeat(gray[:, :, np.newaxis], 3, axis=2))

    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        # Pillow resolves palette and tRNS transparency into a real alpha channel here.
        rgba = image.convert("RGBA")
        rgb_image = Image.new("RGB", rgba.size, _BACKGROUND_RGB)
        # An RGBA mask means "use its alpha": the paste blends colour*alpha + white*(1 -
        # alpha) in one pass, so a fully transparent pixel shows white whatever colour it
        # hides (2x faster than splitting out the channels first).
        rgb_image.paste(rgba, mask=rgba)
    else:
        # Covers 1, L, P, RGB, CMYK (JPEG's Adobe inversion is undone by the decoder).
        rgb_image = image.convert("RGB")
    # np.array copies, so the result is writable and owns its memory.
    return np.array(rgb_image, dtype=np.uint8)


def _wide_gray_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Maps one channel of 16-bit, 32-bit integer or float samples to uint8.

    16-bit samples are scaled by 255/65535 (rounded), so white stays white instead of
    clipping everything above 255. Modes I and F carry no fixed range: integers within
    0..65535 are read as 16-bit, floats within 0..1 as unit intensities, and anything
    else is stretched linearly from its minimum to its maximum.
    """
    if mode.startswith("I;16"):
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        values = np.where(finite, values, 0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if mode == "I" and low >= 0 and high <= 65535:
        scaled = values / 257
    elif mode == "F" and low >= 0 and high <= 1:
        scaled = values * 255
    elif high > low:
        scaled = (values - low) * (255 / (high - low))
    else:
        scaled = values
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _format_bytes(count: int) -> str:
    """Returns a byte count for people: '10 MB', '512 KB', '12 bytes'."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


def _format_pixels(count: int) -> str:
    """Returns a pixel count for people: '25 megapixel', '1.5 megapixel', '400 pixel'."""
    if count >= 100_000:
        return f"{count / 1e6:.1f}".removesuffix(".0") + " megapixel"
    return f"{count} pixel"
