"""Tests for imgrec.images: every file is generated here, in memory; no binary fixtures."""

import io
import os
import struct
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin

from imgrec import image_formats, images
from imgrec.images import ImageError, decode_image, encode_png, read_image_file, thumbnail
from tests.support.images import encode

# Loose sanity bound for rejecting a hostile file; the real cost is milliseconds.
FAST_SECONDS = 1.0

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)

# A valid EXIF block with an empty IFD: enough to make JPEG write APP1 and WEBP write VP8X.
MINIMAL_EXIF = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + bytes(6)


def header_size(data: bytes, image_format: str) -> tuple[int, int] | None:
    """The size `image_formats` reads from the header, under the limits `decode_image` sets."""
    return image_formats.header_size(data, image_format, max_segments=images.MAX_SEGMENTS,
                                     max_scans=images.MAX_JPEG_SCANS)


# ---------------------------------------------------------------------------------------
# File builders (`encode`, any image in any format, is in tests/support/images.py).


def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", crc)


def png_ihdr(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))


def png_by_hand(width, height, *, bit_depth=1, colour_type=0, extra_chunks=(), trailing_chunks=()):
    """A PNG of all-zero rows, compressed row by row so huge sizes cost little memory."""
    bits_per_pixel = bit_depth * {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = bytes(1 + (width * bits_per_pixel + 7) // 8)  # Filter byte 0, then zero samples.
    compressor = zlib.compressobj(9)
    pieces = [compressor.compress(row) for _ in range(height)]
    idat = b"".join(pieces) + compressor.flush()
    return (
        PngImagePlugin._MAGIC
        + png_ihdr(width, height, bit_depth, colour_type)
        + b"".join(extra_chunks)
        + png_chunk(b"IDAT", idat)
        + b"".join(trailing_chunks)
        + png_chunk(b"IEND", b"")
    )


def patch_png_size(png: bytes, width: int, height: int) -> bytes:
    """Rewrites the IHDR width and height (and its CRC) of a Pillow-made PNG."""
    ihdr_payload = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + png_chunk(b"IHDR", ihdr_payload) + png[33:]


def patch_gif_screen(gif: bytes, width: int, height: int) -> bytes:
    return gif[:6] + struct.pack("<HH", width, height) + gif[10:]


def ztxt_chunk(compressed_text: bytes, keyword: bytes = b"Comment") -> bytes:
    return png_chunk(b"zTXt", keyword + b"\x00\x00" + compressed_text)


def compressed_zeros(count: int, level: int = 9) -> bytes:
    """zlib stream of `count` zero bytes, built in 1 MB steps to keep memory small."""
    compressor = zlib.compressobj(level)
    block = bytes(1 << 20)
    pieces = [
        compressor.compress(block[: min(len(block), count - done)]) for done in range(0, count, len(block))
    ]
    return b"".join(pieces) + compressor.flush()


def gradient_rgb(height=24, width=32) -> np.ndarray:
    """A small image with distinct rows and columns, so flips and rotations show."""
    rows = np.linspace(0, 255, height, dtype=np.uint8)[:, np.newaxis]
    cols = np.linspace(0, 255, width, dtype=np.uint8)[np.newaxis, :]
    return np.stack(
        [
            np.broadcast_to(rows, (height, width)),
            np.broadcast_to(cols, (height, width)),
            np.full((height, width), 77, np.uint8),
        ],
        axis=2,
    )


def assert_one_sentence(message: str) -> None:
    assert message and message[0].isupper() and message.endswith("."), message
    assert "\n" not in message and ". " not in message, message
    # Nothing from Pillow's internals reaches the student.
    for leak in ("Traceback", "PIL", "Pillow", "pixels, could be", "cannot identify", "MAX_TEXT"):
        assert leak not in message, message


def assert_rejected(data: bytes, match: str | None = None, max_seconds=FAST_SECONDS, **limits) -> ImageError:
    started = time.perf_counter()
    with pytest.raises(ImageError, match=match) as caught:
        decode_image(data, **limits)
    elapsed = time.perf_counter() - started
    assert elapsed < max_seconds, f"rejection took {elapsed:.2f} s"
    assert_one_sentence(str(caught.value))
    return caught.value


def assert_valid_output(rgb: np.ndarray, height: int, width: int) -> None:
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags["C_CONTIGUOUS"] and rgb.flags["WRITEABLE"]


# ---------------------------------------------------------------------------------------
# Accepted formats and the API contract.


@pytest.mark.parametrize(
    "image_format, params",
    [
        ("PNG", {}),
        ("BMP", {}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("JPEG", {"quality": 95, "subsampling": 0}),
    ],
)
def test_each_accepted_format_decodes_to_rgb_uint8(image_format, params):
    rgb = gradient_rgb()
    if image_format == "GIF":
        rgb = (rgb // 64) * 64  # Few enough colours to survive GIF's palette exactly.
    decoded = decode_image(encode(Image.fromarray(rgb), image_format, **params))
    assert_valid_output(decoded, *rgb.shape[:2])
    tolerance = 8 if image_format == "JPEG" else 0
    assert np.abs(decoded.astype(int) - rgb).max() <= tolerance


def test_accepted_formats_constant_and_not_an_image_sentence():
    assert image_formats.ACCEPTED_FORMATS == ("PNG", "JPEG", "GIF", "WEBP", "BMP")
    assert images.MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    assert images.MAX_PIXELS == 25_000_000
    error = assert_rejected(b"hello, world")
    assert str(error) == "This file is not a PNG, JPEG, GIF, WEBP or BMP image."


def test_bytearray_and_memoryview_are_accepted():
    png = encode(Image.new("RGB", (3, 2), RED), "PNG")
    for data in (bytearray(png), memoryview(png)):
        assert_valid_output(decode_image(data), 2, 3)


def test_programming_errors_are_not_image_errors():
    png = encode(Image.new("RGB", (3, 2)), "PNG")
    with pytest.raises(TypeError):
        decode_image("not bytes")
    for limits in ({"max_bytes": 0}, {"max_pixels": -1}, {"max_pixels": 2.5}, {"max_aspect_ratio": 0.5}):
        with pytest.raises(ValueError) as caught:
            decode_image(png, **limits)
        assert not isinstance(caught.value, ImageError)


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)


def test_pillow_is_opened_with_exactly_the_sniffed_format(monkeypatch):
    calls = []
    real_open = Image.open

    def spying_open(fp, mode="r", formats=None):
        calls.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spying_open)
    for image_format in image_formats.ACCEPTED_FORMATS:
        decode_image(encode(Image.new("RGB", (4, 4), BLUE), image_format))
    assert calls == [[image_format] for image_format in image_formats.ACCEPTED_FORMATS]


@pytest.mark.parametrize(
    "image_format, params",
    [
        ("PNG", {}),
        ("GIF", {}),
        ("BMP", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("JPEG", {"exif": MINIMAL_EXIF}),  # APP1 before SOF.
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"exif": MINIMAL_EXIF}),  # Extended (VP8X).
    ],
)
@pytest.mark.parametrize("size", [(1, 1), (17, 5), (5, 17), (300, 201)])
def test_header_size_parser_agrees_with_pillow(image_format, params, size):
    data = encode(Image.new("RGB", size, GREEN), image_format, **params)
    assert image_formats.sniff_format(data) == image_format
    assert header_size(data, image_format) == Image.open(io.BytesIO(data)).size == size


def test_header_size_parser_sees_a_gif_frame_that_grows_the_canvas():
    gif = encode(Image.new("P", (40, 30)), "GIF")
    # Shrink the logical screen: Pillow grows it back to the frame's 40x30.
    small_screen = patch_gif_screen(gif, 4, 3)
    assert header_size(small_screen, "GIF") == Image.open(io.BytesIO(small_screen)).size == (40, 30)


def test_top_down_bmp_with_negative_height():
    rgb = gradient_rgb(6, 10)
    bmp = encode(Image.fromarray(rgb), "BMP")
    (height,) = struct.unpack("<i", bmp[22:26])
    top_down = bmp[:22] + struct.pack("<i", -height) + bmp[26:]
    assert header_size(top_down, "BMP") == Image.open(io.BytesIO(top_down)).size == (10, 6)
    # The same rows read in the other order: the picture comes out upside down.
    np.testing.assert_array_equal(decode_image(top_down), rgb[::-1])


def test_header_size_parser_gives_up_quietly_on_garbage():
    for image_format in image_formats.ACCEPTED_FORMATS:
        assert header_size(b"\x00" * 3, image_format) is None


# ---------------------------------------------------------------------------------------
# Colour modes.


def test_mode_1_bilevel():
    bits = np.zeros((6, 8), bool)
    bits[:, :4] = True
    decoded = decode_image(encode(Image.fromarray(bits), "PNG"))
    assert decoded.shape == (6, 8, 3)
    assert (decoded[:, :4] == 255).all() and (decoded[:, 4:] == 0).all()


def test_mode_l_grayscale_is_copied_to_three_channels():
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    decoded = decode_image(encode(Image.fromarray(gray), "PNG"))
    assert (decoded == gray[:, :, np.newaxis]).all()


def test_mode_p_palette():
    image = Image.new("P", (4, 2))
    image.putpalette([*RED, *GREEN] + [0] * 762)
    image.putpixel((3, 1), 1)
    decoded = decode_image(encode(image, "PNG"))
    assert tuple(decoded[0, 0]) == RED and tuple(decoded[1, 3]) == GREEN


@pytest.mark.parametrize("image_format", ["PNG", "GIF"])
def test_mode_p_with_transparency_shows_white(image_format):
    # Index 0 is red and transparent, index 1 is opaque blue.
    image = Image.new("P", (4, 2), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.putpixel((3, 1), 1)
    decoded = decode_image(encode(image, image_format, transparency=0))
    assert tuple(decoded[0, 0]) == WHITE
    assert tuple(decoded[1, 3]) == BLUE


def test_mode_rgba_transparent_red_is_white_and_alpha_blends():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = RED  # Every pixel hides red.
    rgba[0, 0, 3] = 0  # Fully transparent.
    rgba[0, 1, 3] = 128  # Half transparent.
    rgba[0, 2, 3] = 255  # Opaque.
    rgba[1, :, 3] = 0
    decoded = decode_image(encode(Image.fromarray(rgba), "PNG"))
    assert tuple(decoded[0, 0]) == WHITE
    assert (
        decoded[0, 1, 0] == 255
        and abs(int(decoded[0, 1, 1]) - 127) <= 1
        and abs(int(decoded[0, 1, 2]) - 127) <= 1
    )
    assert tuple(decoded[0, 2]) == RED
    assert (decoded[1] == 255).all()


def test_mode_la_composited_on_white():
    la = np.zeros((1, 2, 2), np.uint8)  # Black everywhere...
    la[0, 1, 1] = 255  # ...transparent at (0, 0), opaque at (0, 1).
    decoded = decode_image(encode(Image.fromarray(la, mode="LA"), "PNG"))
    assert tuple(decoded[0, 0]) == WHITE and tuple(decoded[0, 1]) == (0, 0, 0)


@pytest.mark.parametrize("mode, colour, transparent", [("RGB", RED, RED), ("L", 0, 0)])
def test_png_trns_colour_key_is_transparent(mode, colour, transparent):
    image = Image.new(mode, (3, 1), colour)
    image.putpixel((2, 0), 100 if mode == "L" else GREEN)
    decoded = decode_image(encode(image, "PNG", transparency=transparent))
    assert tuple(decoded[0, 0]) == WHITE
    assert tuple(decoded[0, 2]) == ((100,) * 3 if mode == "L" else GREEN)


@pytest.mark.parametrize("image_format", ["WEBP", "GIF"])
def test_transparent_webp_and_gif_show_white(image_format):
    rgba = Image.new("RGBA", (4, 4), (*RED, 0))
    rgba.putpixel((3, 3), (*BLUE, 255))
    params = {"lossless": True} if image_format == "WEBP" else {}
    decoded = decode_image(encode(rgba, image_format, **params))
    assert tuple(decoded[0, 0]) == WHITE
    assert tuple(decoded[3, 3]) == BLUE


def test_cmyk_jpeg_is_converted_not_inverted():
    cmyk = Image.new("CMYK", (8, 8), (255, 0, 0, 0))  # Pure cyan ink.
    cmyk.paste((0, 0, 0, 255), (4, 0, 8, 8))  # Pure black ink on the right.
    decoded = decode_image(encode(cmyk, "JPEG", quality=95))
    assert np.abs(decoded[:, :3].astype(int) - (0, 255, 255)).max() <= 3
    assert decoded[:, 5:].max() <= 3


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    values = np.array([[0, 257 * 100, 40000, 65535]], np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    data = encode(image, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"  # The mode Pillow decodes, not just saves.
    decoded = decode_image(data)
    assert decoded[0, :, 0].tolist() == [0, 100, round(40000 / 257), 255]
    assert (decoded == decoded[:, :, :1]).all()


def test_16_bit_rgb_png_keeps_the_high_byte():
    # Pillow reads 16-bit RGB PNG as 8-bit RGB; check that path against the values.
    rows = np.array([[0, 0x8000, 0xFFFF]], np.uint16)
    raw = b"".join(b"\x00" + rows.repeat(3).astype(">u2").tobytes() for _ in range(1))
    png = (
        PngImagePlugin._MAGIC
        + png_ihdr(3, 1, 16, 2)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )
    decoded = decode_image(png)
    assert decoded[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize(
    "mode, values, expected",
    [
        ("I", np.array([[0, 25700, 65535]], np.int32), [0, 100, 255]),  # 16-bit range.
        ("I", np.array([[-1000, 0, 1000]], np.int32), [0, 128, 255]),  # Stretched.
        ("F", np.array([[0.0, 0.5, 1.0]], np.float32), [0, 128, 255]),  # Unit range.
        ("F", np.array([[-2.0, np.nan, 2.0]], np.float32), [0, 128, 255]),  # NaN -> 0, stretched.
        ("F", np.array([[7.0, 7.0, 7.0]], np.float32), [7, 7, 7]),  # Constant: no stretch.
    ],
)
def test_i_and_f_modes_are_mapped_to_8_bit(mode, values, expected):
    # I and F only come from TIFF, which decode_image refuses; the converter handles them anyway.
    image = Image.fromarray(values, mode=mode) if mode == "F" else Image.fromarray(values)
    assert image.mode == mode
    rgb = images._to_rgb_array(image)
    assert_valid_output(rgb, 1, 3)
    assert rgb[0, :, 0].tolist() == expected


# ---------------------------------------------------------------------------------------
# Frames and orientation.


@pytest.mark.parametrize("image_format", ["GIF", "PNG", "WEBP"])
def test_only_the_first_frame_of_an_animation_is_decoded(image_format):
    frames = [Image.new("RGB", (20, 10), colour) for colour in (RED, GREEN, BLUE)]
    params = {"lossless": True} if image_format == "WEBP" else {}
    data = encode(
        frames[0], image_format, save_all=True, append_images=frames[1:], duration=100, loop=0, **params
    )
    assert Image.open(io.BytesIO(data)).n_frames == 3
    decoded = decode_image(data)
    assert_valid_output(decoded, 10, 20)
    assert (decoded == RED).all()


def orientation_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize(
    "orientation, expected",
    [
        (1, lambda a: a),
        (2, lambda a: a[:, ::-1]),
        (3, lambda a: a[::-1, ::-1]),
        (4, lambda a: a[::-1]),
        (5, lambda a: a.transpose(1, 0, 2)),  # Flip over the main diagonal.
        (6, lambda a: np.rot90(a, -1)),  # Stored sideways: rotate 90 degrees clockwise.
        (7, lambda a: a[::-1, ::-1].transpose(1, 0, 2)),  # Flip over the anti-diagonal.
        (8, lambda a: np.rot90(a, 1)),
    ],
)
def test_exif_orientation_is_applied(orientation, expected):
    rgb = gradient_rgb(6, 10)
    png = encode(Image.fromarray(rgb), "PNG", exif=orientation_exif(orientation))
    np.testing.assert_array_equal(decode_image(png), expected(rgb))


def test_exif_orientation_in_jpeg_swaps_width_and_height():
    jpeg = encode(Image.new("RGB", (40, 10), RED), "JPEG", exif=orientation_exif(6))
    assert decode_image(jpeg).shape == (40, 10, 3)


@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\x00\x00" + b"\xde\xad" * 20,  # Not TIFF at all.
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",  # First IFD far beyond the end.
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff\x12\x01\x03\x00\x01\x00\x00\x00",  # 65535 entries.
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x07\x00\xff\xff\xff\x0f\x00\x00\x00\x00",
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x09\x00\x00",  # Orientation 9.
    ],
)
def test_corrupt_exif_does_not_crash(exif):
    jpeg = encode(Image.new("RGB", (12, 8), GREEN), "JPEG", exif=exif)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns "Corrupt EXIF data"; that is fine.
        decoded = decode_image(jpeg)
    assert decoded.shape == (8, 12, 3)  # Not transposed: no orientation could be read.
    np.testing.assert_allclose(decoded.reshape(-1, 3).mean(axis=0), GREEN, atol=8)  # The pixels, not a blank.


@pytest.mark.parametrize("error", [SyntaxError("bad"), struct.error("bad"), KeyError(274), TypeError("bad")])
def test_exif_reader_that_raises_falls_back_to_no_transpose(monkeypatch, error):
    def broken_getexif(self):
        raise error

    monkeypatch.setattr(Image.Image, "getexif", broken_getexif)
    jpeg = encode(Image.new("RGB", (12, 8), GREEN), "JPEG", exif=orientation_exif(6))
    assert decode_image(jpeg).shape == (8, 12, 3)


# ---------------------------------------------------------------------------------------
# Files that are not accepted images.


def test_empty_bytes():
    assert "empty" in str(assert_rejected(b""))


def test_over_max_bytes_is_refused_before_decoding():
    png = encode(Image.new("RGB", (64, 64)), "PNG")
    error = assert_rejected(png, max_bytes=len(png) - 1)
    assert "limit" in str(error)
    assert_rejected(b"x" * (images.MAX_UPLOAD_BYTES + 1), match="10 MB")
    decode_image(png, max_bytes=len(png))  # Exactly at the limit is fine.


@pytest.mark.parametrize(
    "data",
    [
        b"Just some text that a student renamed to cat.png\n",
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40),  # ZIP.
        b"\x7fELF\x02\x01\x01\x00" + bytes(56),  # Linux executable.
        b"MZ\x90\x00" + bytes(60),  # Windows executable.
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n",  # Would reach Ghostscript if Pillow guessed formats.
        b"\x00\x00\x01\x00\x01\x00\x10\x10" + bytes(40),  # ICO.
        b"\x00" * 100,
        b"\xff\xd8",  # JPEG start-of-image alone is too short to be a JPEG.
        b"GIF",
        b"BMW drivers wrote this text file, whose first two letters look like a bitmap.",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF but audio.
    ],
)
def test_non_images_are_refused(data):
    assert str(assert_rejected(data)) == "This file is not a PNG, JPEG, GIF, WEBP or BMP image."


def test_tga_that_pillow_would_open_is_refused():
    tga = encode(Image.new("RGB", (4, 4), RED), "TGA")
    assert Image.open(io.BytesIO(tga)).format == "TGA"  # Pillow on its own accepts it.
    assert str(assert_rejected(tga)) == "This file is not a PNG, JPEG, GIF, WEBP or BMP image."


def test_tiff_is_refused_with_its_own_sentence():
    for params in ({}, {"compression": "tiff_lzw"}):
        tiff = encode(Image.new("RGB", (4, 4), RED), "TIFF", **params)
        assert "TIFF" in str(assert_rejected(tiff))
    float_tiff = encode(Image.fromarray(np.ones((4, 4), np.float32), mode="F"), "TIFF")
    assert "TIFF" in str(assert_rejected(float_tiff))


def test_svg_is_refused_with_its_own_sentence():
    for svg in (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    ):
        assert "SVG" in str(assert_rejected(svg))


def test_heic_is_refused_with_its_own_sentence():
    heic = struct.pack(">I", 24) + b"ftypheic" + bytes(12)
    assert "HEIC" in str(assert_rejected(heic))


def test_png_signature_alone():
    assert_rejected(PngImagePlugin._MAGIC, match="PNG file is damaged")


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
@pytest.mark.parametrize("keep", [0.3, 0.9])
def test_truncated_files_are_refused(image_format, keep):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), image_format)
    assert_rejected(data[: int(len(data) * keep)], match=f"This {image_format} file is damaged")


def test_truncated_jpeg_missing_only_its_end_marker_is_refused():
    jpeg = encode(Image.new("RGB", (64, 64), RED), "JPEG")
    assert_rejected(jpeg[: len(jpeg) // 2], match="JPEG file is damaged")


def test_load_truncated_images_stays_false():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    png = encode(Image.new("RGB", (64, 64), RED), "PNG")
    assert_rejected(png[:-30])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("width, height", [(0, 10), (10, 0), (0, 0)])
def test_zero_sized_png_is_refused(width, height):
    png = (
        PngImagePlugin._MAGIC
        + png_ihdr(width, height)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    assert_rejected(png, match=f"{width}x{height} pixels, so it has nothing to show")


def test_png_with_a_zip_appended_is_accepted():
    rgb = gradient_rgb()
    zip_bytes = b"PK\x03\x04" + bytes(26) + b"payload.sh" + b"rm -rf /" + b"PK\x05\x06" + bytes(18)
    decoded = decode_image(encode(Image.fromarray(rgb), "PNG") + zip_bytes)
    np.testing.assert_array_equal(decoded, rgb)


# ---------------------------------------------------------------------------------------
# Decompression bombs and limits.


def test_1_bit_png_of_10000_by_10000_is_refused_without_warning(recwarn):
    bomb = png_by_hand(10_000, 10_000, bit_depth=1)
    assert len(bomb) < 20_000
    assert_rejected(bomb, match="10000x10000 pixels, more than the 25 megapixel limit")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_png_of_20000_by_10000_is_refused():
    assert_rejected(png_by_hand(20_000, 10_000, bit_depth=1), match="20000x10000 pixels")


def test_png_header_claiming_100000_by_100000_with_a_tiny_body():
    bomb = patch_png_size(encode(Image.new("RGB", (1, 1)), "PNG"), 100_000, 100_000)
    assert len(bomb) < 100
    assert_rejected(bomb, match="100000x100000 pixels")


def test_gif_header_claiming_65535_by_65535():
    bomb = patch_gif_screen(encode(Image.new("P", (1, 1)), "GIF"), 65535, 65535)
    assert_rejected(bomb, match="65535x65535 pixels")


def test_gif_frame_larger_than_its_screen():
    gif = encode(Image.new("P", (1, 1)), "GIF")
    descriptor = gif.index(b"\x2c\x00\x00\x00\x00")  # Image separator at (0, 0).
    bomb = gif[: descriptor + 5] + struct.pack("<HH", 65535, 65535) + gif[descriptor + 9 :]
    assert_rejected(bomb, match="65535x65535 pixels")


def test_jpeg_bmp_and_webp_headers_claiming_too_many_pixels():
    jpeg = encode(Image.new("RGB", (8, 8)), "JPEG")
    start_of_frame = jpeg.index(b"\xff\xc0")
    jpeg_bomb = jpeg[: start_of_frame + 5] + struct.pack(">HH", 65000, 65000) + jpeg[start_of_frame + 9 :]
    assert_rejected(jpeg_bomb, match="65000x65000 pixels")

    bmp = encode(Image.new("RGB", (8, 8)), "BMP")
    assert_rejected(bmp[:18] + struct.pack("<ii", 30000, -30000) + bmp[26:], match="30000x30000 pixels")

    webp = encode(Image.new("RGB", (8, 8)), "WEBP", exif=MINIMAL_EXIF)
    assert webp[12:16] == b"VP8X"
    webp_bomb = webp[:24] + (16383).to_bytes(3, "little") * 2 + webp[30:]
    assert_rejected(webp_bomb, match="16384x16384 pixels")


def test_pillow_size_is_checked_even_if_the_header_parser_misses_it(monkeypatch):
    monkeypatch.setattr(image_formats, "header_size", lambda data, image_format, **limits: None)
    # 100 megapixels: Pillow itself only warns; our check of image.size refuses it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert_rejected(png_by_hand(10_000, 10_000), match="10000x10000 pixels")
    # With warnings as errors, Pillow's warning itself becomes our ImageError.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_rejected(png_by_hand(10_000, 10_000), match="than the 25 megapixel limit")
    # 200 megapixels: Pillow raises DecompressionBombError inside open(), which becomes ours.
    assert_rejected(png_by_hand(20_000, 10_000), match="than the 25 megapixel limit")


def test_pillow_bomb_limit_stays_in_force_when_ours_is_raised():
    max_image_pixels = Image.MAX_IMAGE_PIXELS
    assert_rejected(png_by_hand(20_000, 10_000), max_pixels=10**12, match="pixel limit")
    assert Image.MAX_IMAGE_PIXELS == max_image_pixels


# Files made of many tiny pieces: Pillow walks each one in Python, so 10 MB of them cost
# it seconds per upload (measured: PNG 6.5 s, GIF 3.5 s, JPEG 9.4 s) without any pixels.

# Just under the upload limit, leaving room for the image around the flood.
FLOOD_BYTES = images.MAX_UPLOAD_BYTES - 4096


def test_png_with_too_many_chunks_is_refused_fast():
    png = encode(Image.new("RGB", (8, 8)), "PNG")
    empty_private_chunk = png_chunk(b"prIv", b"")
    bomb = png[:33] + empty_private_chunk * (FLOOD_BYTES // len(empty_private_chunk)) + png[33:]
    assert_rejected(bomb, match=f"PNG file is built from more than {images.MAX_SEGMENTS} pieces")


def test_png_split_into_many_idat_chunks():
    rgb = gradient_rgb(64, 64)
    png = encode(Image.fromarray(rgb), "PNG", compress_level=0)
    idat_start = png.index(b"IDAT") - 4
    (idat_length,) = struct.unpack(">I", png[idat_start : idat_start + 4])
    stream = png[idat_start + 8 : idat_start + 8 + idat_length]

    def split(piece_size):
        pieces = [png_chunk(b"IDAT", stream[i : i + piece_size]) for i in range(0, len(stream), piece_size)]
        return png[:idat_start] + b"".join(pieces) + png[idat_start + 12 + idat_length :], len(pieces)

    # Encoders write IDATs of 8-64 KB; a few thousand small ones are still an image...
    data, count = split(8)
    assert 1000 < count < images.MAX_SEGMENTS
    np.testing.assert_array_equal(decode_image(data), rgb)
    # ...but one-byte IDATs all the way is a file built to be slow.
    data, count = split(1)
    assert count > images.MAX_SEGMENTS
    assert_rejected(data, match="PNG file is built from more than")


@pytest.mark.parametrize(
    "blocks",
    [b"\x21\xfe\x00" * (FLOOD_BYTES // 3), b"\x21\xfe" + b"\x01a" * (FLOOD_BYTES // 2) + b"\x00"],
    ids=["empty-extensions", "one-byte-sub-blocks"],
)
def test_gif_with_too_many_blocks_is_refused_fast(blocks):
    gif = encode(Image.new("P", (8, 8)), "GIF")
    after_palette = 13 + 3 * 2 ** ((gif[10] & 7) + 1)
    assert_rejected(
        gif[:after_palette] + blocks + gif[after_palette:], match="GIF file is built from more than"
    )


@pytest.mark.parametrize("filler", [b"\xff\xfe\x00\x02", b"\xff"], ids=["empty-comments", "fill-bytes"])
def test_jpeg_with_too_many_markers_is_refused_fast(filler):
    jpeg = encode(Image.new("RGB", (8, 8)), "JPEG")
    bomb = jpeg[:2] + filler * (FLOOD_BYTES // len(filler)) + jpeg[2:]
    assert_rejected(bomb, match="JPEG file is built from more than")


def progressive_jpeg_with_extra_scans(extra_scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated, as a scan-flooding file does."""
    jpeg = encode(Image.fromarray(gradient_rgb(64, 64)), "JPEG", progressive=True)
    last_scan = jpeg[jpeg.rindex(b"\xff\xda") : -2]  # Up to the end-of-image marker.
    return jpeg[:-2] + last_scan * extra_scans + jpeg[-2:]


def test_progressive_jpeg_scan_count_limit():
    normal = encode(Image.fromarray(gradient_rgb(64, 64)), "JPEG", progressive=True)
    assert 1 < normal.count(b"\xff\xda") <= 20
    assert_valid_output(decode_image(normal), 64, 64)
    # Repeated scans only refine what is there: Pillow decodes them, slowly at scale.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_valid_output(decode_image(progressive_jpeg_with_extra_scans(50)), 64, 64)
    bomb = progressive_jpeg_with_extra_scans(100_000)
    assert len(bomb) < images.MAX_UPLOAD_BYTES
    assert_rejected(bomb, match=f"more than {images.MAX_JPEG_SCANS} scans")


def test_pixel_limit_boundary():
    assert_valid_output(decode_image(png_by_hand(10, 10), max_pixels=100), 10, 10)
    assert_rejected(png_by_hand(11, 10), max_pixels=100, match="11x10 pixels, more than the 100 pixel limit")


@pytest.mark.parametrize("width, height", [(60_000, 1), (1, 60_000), (510, 10)])
def test_extreme_aspect_ratio_is_refused(width, height):
    assert_rejected(png_by_hand(width, height, bit_depth=8, colour_type=2), match="too long and thin")


def test_aspect_ratio_at_the_limit_is_accepted_and_the_limit_is_adjustable():
    assert_valid_output(decode_image(png_by_hand(500, 10)), 10, 500)
    strip = png_by_hand(60_000, 1)
    assert_valid_output(decode_image(strip, max_aspect_ratio=60_000), 1, 60_000)


@pytest.mark.parametrize("after_idat", [False, True], ids=["before-IDAT", "after-IDAT"])
def test_ztxt_that_inflates_to_50_mb_is_refused_fast_with_bounded_memory(after_idat):
    chunk = ztxt_chunk(compressed_zeros(50 * 1024 * 1024))
    assert len(chunk) < 100_000
    placement = {"trailing_chunks": [chunk]} if after_idat else {"extra_chunks": [chunk]}
    bomb = png_by_hand(8, 8, **placement)
    tracemalloc.start()
    try:
        assert_rejected(bomb, match="PNG file is damaged")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Pillow stops inflating at MAX_TEXT_CHUNK (1 MB); allow a few copies of that.
    assert peak < 8 * PngImagePlugin.MAX_TEXT_CHUNK


def test_ztxt_chunk_of_50_mb_on_disk():
    # Stored (level 0) deflate: the chunk really is 50 MB long, and inflates to 50 MB.
    chunk = ztxt_chunk(compressed_zeros(50 * 1024 * 1024, level=0))
    assert len(chunk) > 50 * 1024 * 1024
    bomb = png_by_hand(8, 8, extra_chunks=[chunk])
    del chunk
    # The byte limit refuses it first...
    assert_rejected(bomb, match="limit")
    # ...and with the limit raised, the text-chunk limit itself refuses it.
    tracemalloc.start()
    try:
        # Pillow copies the 50 MB a few times (~0.2 s alone, more on a busy machine): the
        # cost of the raised byte limit, not of decoding, so the time bound is looser.
        assert_rejected(bomb, max_bytes=64 * 1024 * 1024, match="PNG file is damaged", max_seconds=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * len(bomb)


@pytest.mark.parametrize("chunk_type", [b"iTXt", b"iCCP"])
def test_other_compressed_chunks_that_inflate_to_50_mb_are_refused(chunk_type):
    inflating = compressed_zeros(50 * 1024 * 1024)
    if chunk_type == b"iTXt":  # Keyword, compressed flag and method, language, translated keyword.
        payload = b"Comment\x00\x01\x00en\x00Comment\x00" + inflating
    else:  # Profile name, compression method.
        payload = b"sRGB\x00\x00" + inflating
    assert_rejected(
        png_by_hand(8, 8, extra_chunks=[png_chunk(chunk_type, payload)]), match="PNG file is damaged"
    )


def test_many_text_chunks_beyond_max_text_memory_are_refused():
    one_mb_of_text = ztxt_chunk(compressed_zeros(PngImagePlugin.MAX_TEXT_CHUNK))
    count = PngImagePlugin.MAX_TEXT_MEMORY // PngImagePlugin.MAX_TEXT_CHUNK + 2
    bomb = png_by_hand(8, 8, extra_chunks=[one_mb_of_text] * count)
    assert len(bomb) < 200_000
    assert_rejected(bomb, match="PNG file is damaged")


def test_bombs_leave_pillow_globals_and_warning_filters_alone():
    filters = list(warnings.filters)
    max_image_pixels = Image.MAX_IMAGE_PIXELS
    max_text_chunk, max_text_memory = PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
    assert_rejected(png_by_hand(10_000, 10_000))
    assert_rejected(png_by_hand(8, 8, extra_chunks=[ztxt_chunk(compressed_zeros(5 * 1024 * 1024))]))
    assert warnings.filters == filters
    assert Image.MAX_IMAGE_PIXELS == max_image_pixels
    assert (PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY) == (
        max_text_chunk,
        max_text_memory,
    )
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# ---------------------------------------------------------------------------------------
# Any exception from Pillow becomes an ImageError.


@pytest.mark.parametrize(
    "error",
    [
        OSError("decoder error -2"),
        SyntaxError("broken PNG file"),
        struct.error("unpack requires a buffer of 4 bytes"),
        ValueError("Decompressed data too large"),
        EOFError(),
        IndexError("list index out of range"),
        KeyError("transparency"),
        TypeError("bad operand"),
        ZeroDivisionError(),
        zlib.error("invalid distance"),
        RuntimeError("maximum recursion depth exceeded"),
        Image.DecompressionBombError("Image size exceeds limit"),
        MemoryError(),
    ],
    ids=lambda error: type(error).__name__,
)
@pytest.mark.parametrize("stage", ["open", "load"])
def test_unexpected_pillow_exceptions_become_image_errors(monkeypatch, error, stage):
    def raising(*args, **kwargs):
        raise error

    if stage == "open":
        monkeypatch.setattr(Image, "open", raising)
    else:
        monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", raising)
    with pytest.raises(ImageError) as caught:
        decode_image(encode(Image.new("RGB", (4, 4)), "PNG"))
    assert_one_sentence(str(caught.value))
    assert caught.value.__cause__ is error  # Kept for logs, never shown to the student.


def test_memory_error_gets_its_own_sentence(monkeypatch):
    def raising(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", raising)
    with pytest.raises(ImageError, match="not enough memory"):
        decode_image(encode(Image.new("RGB", (4, 4)), "PNG"))


# ---------------------------------------------------------------------------------------
# read_image_file.


def test_read_image_file(tmp_path):
    rgb = gradient_rgb()
    path = tmp_path / "picture.png"
    path.write_bytes(encode(Image.fromarray(rgb), "PNG"))
    np.testing.assert_array_equal(read_image_file(path), rgb)
    np.testing.assert_array_equal(read_image_file(str(path)), rgb)
    with pytest.raises(ImageError, match="limit"):
        read_image_file(path, max_bytes=100)
    with pytest.raises(ImageError, match="pixel limit"):
        read_image_file(path, max_pixels=100)


def test_read_image_file_reads_at_most_max_bytes_plus_one(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(bytes(5000))
    sizes = []
    real_decode = images.decode_image

    def spying_decode(data, **limits):
        sizes.append(len(data))
        return real_decode(data, **limits)

    monkeypatch.setattr(images, "decode_image", spying_decode)
    with pytest.raises(ImageError, match="limit"):
        read_image_file(path, max_bytes=1000)
    assert sizes == [1001]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_read_image_file_of_an_endless_file_stops():
    started = time.perf_counter()
    with pytest.raises(ImageError, match="limit"):
        read_image_file("/dev/zero")
    assert time.perf_counter() - started < FAST_SECONDS


def test_read_image_file_missing_path_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image_file(tmp_path / "missing.png")


# ---------------------------------------------------------------------------------------
# encode_png and thumbnail.


def test_encode_png_round_trips_exactly_and_drops_everything_else():
    rgb = np.random.default_rng(1).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    png = encode_png(rgb)
    np.testing.assert_array_equal(decode_image(png), rgb)
    position, chunk_types = 8, []
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        chunk_types.append(png[position + 4 : position + 8])
        position += 12 + length
    assert set(chunk_types) == {b"IHDR", b"IDAT", b"IEND"}


def test_encode_png_strips_what_the_upload_carried():
    rgb = gradient_rgb()
    upload = encode(Image.fromarray(rgb), "PNG", exif=orientation_exif(1)) + b"PK\x03\x04appended"
    clean = encode_png(decode_image(upload))
    assert b"PK\x03\x04" not in clean and b"eXIf" not in clean
    np.testing.assert_array_equal(decode_image(clean), rgb)


def test_encode_png_accepts_gray_and_rgba():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert Image.open(io.BytesIO(encode_png(gray))).mode == "L"
    assert Image.open(io.BytesIO(encode_png(gray[:, :, np.newaxis]))).mode == "L"
    assert Image.open(io.BytesIO(encode_png(np.zeros((3, 4, 4), np.uint8)))).mode == "RGBA"
    # A non-contiguous view is fine too.
    rgb = gradient_rgb()
    np.testing.assert_array_equal(decode_image(encode_png(rgb[:, ::-2])), rgb[:, ::-2])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        np.zeros((2, 4, 4, 3), np.uint8),
        np.zeros(5, np.uint8),
    ],
)
def test_encode_png_rejects_non_images(bad):
    with pytest.raises(ValueError):
        encode_png(bad)


@pytest.mark.parametrize(
    "shape, size, expected",
    [
        ((600, 800), 128, (96, 128)),
        ((800, 600), 128, (128, 96)),
        ((40, 30), 128, (40, 30)),
        ((1000, 20), 64, (64, 1)),
        ((300, 300), 7, (7, 7)),
    ],
)
def test_thumbnail_fits_keeps_aspect_and_never_enlarges(shape, size, expected):
    rgb = np.full((*shape, 3), 200, np.uint8)
    small = thumbnail(rgb, size)
    assert_valid_output(small, *expected)
    assert (np.abs(small.astype(int) - 200) <= 1).all()


def test_thumbnail_default_size_and_bad_arguments():
    assert max(thumbnail(gradient_rgb(300, 500)).shape[:2]) == 128
    for bad_size in (0, -5, 2.5, True):
        with pytest.raises(ValueError):
            thumbnail(gradient_rgb(), bad_size)
    with pytest.raises(ValueError):
        thumbnail(np.zeros((4, 4), np.uint8))
