"""Image file formats from their bytes alone: which accepted format a file is, and the size its header claims.

Pure byte parsing; Pillow is not involved yet. `images.decode_image` refuses a decompression
bomb from these answers before Pillow allocates, loops or warns about anything. Files built
to be slow rather than big are refused here too: each header walk counts the pieces it
passes (PNG chunks, JPEG markers, GIF blocks) and the progressive JPEG scans, and stops at
the limits it is given (`images.MAX_SEGMENTS`, `images.MAX_JPEG_SCANS`), so it is cheap on
any input.
"""

import re
import struct

from imgrec import texts

# Formats we decode, in the names Pillow uses for its plugins.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")

FORMATS_TEXT = f"{', '.join(ACCEPTED_FORMATS[:-1])} or {ACCEPTED_FORMATS[-1]}"


class TooManyPieces(ValueError):
    """A file built from far more pieces or scans than a normal image; str(e) is one sentence a user can act on."""


def sniff_format(data: bytes) -> str | None:
    """Returns the accepted format named by the file's signature, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    # "BM" alone starts plenty of text files, so the DIB header size must be a known one too.
    if data[:2] == b"BM" and data[14:18] in _BMP_HEADER_SIZES:
        return "BMP"
    return None


# Sizes of the BMP info headers Pillow reads: core, info, v2, v3, OS/2 v2, v4, v5.
_BMP_HEADER_SIZES = tuple(struct.pack("<I", size) for size in (12, 40, 52, 56, 64, 108, 124))


def rejected_format_key(data: bytes) -> str:
    """Returns the catalog key (`imgrec.texts`) of the sentence for bytes that are not an accepted format."""
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "errors_images.tiff"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"):
        return "errors_images.heic"
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "errors_images.svg"
    return "errors_images.not_an_image"


def rejected_format_message(data: bytes) -> str:
    """Returns the sentence, in English, for bytes that are not an accepted format."""
    return texts.ENGLISH(rejected_format_key(data), formats=FORMATS_TEXT)


def header_size(data: bytes, image_format: str, *, max_segments: int, max_scans: int) -> tuple[int, int] | None:
    """Returns the (width, height) the header claims, or None if it cannot be read.

    None is not an error: Pillow parses the header next and its `image.size` is checked
    too. These parsers only let bombs be refused before Pillow touches them, and each
    walks at most `max_segments` pieces of the file, so they are cheap on any input.

    Args:
        data: The file's bytes.
        image_format: The format `sniff_format` named.
        max_segments: Most PNG chunks, JPEG markers or GIF blocks a file may have.
        max_scans: Most progressive JPEG scans a file may have.

    Returns:
        `(width, height)`, or None when the header cannot be read.

    Raises:
        TooManyPieces: If the file has more segments or scans than allowed.
    """
    try:
        if image_format == "PNG":
            return _png_size(data, max_segments)
        elif image_format == "GIF":
            return _gif_size(data, max_segments)
        elif image_format == "BMP":
            return _bmp_size(data)
        elif image_format == "JPEG":
            return _jpeg_size(data, max_segments, max_scans)
        elif image_format == "WEBP":
            return _webp_size(data)
    except (struct.error, IndexError):
        return None
    return None


def _too_many_segments(image_format: str, max_segments: int) -> TooManyPieces:
    return texts.said(TooManyPieces, "errors_images.too_many_pieces", format=image_format, pieces=max_segments)


def _png_size(data: bytes, max_segments: int) -> tuple[int, int] | None:
    """Width and height from IHDR, after counting the chunks up to IEND."""
    if data[12:16] != b"IHDR":
        return None
    size = struct.unpack(">II", data[16:24])
    position = 8
    for _ in range(max_segments):
        if position + 8 > len(data) or data[position + 4 : position + 8] == b"IEND":
            return size
        (length,) = struct.unpack(">I", data[position : position + 4])
        position += 12 + length  # Length, type, payload, CRC.
    raise _too_many_segments("PNG", max_segments)


def _gif_size(data: bytes, max_segments: int) -> tuple[int, int]:
    """Logical screen size, grown by the first frame as Pillow grows it."""
    width, height, flags = struct.unpack("<HHB", data[6:11])
    position = 13
    if flags & 0x80:
        position += 3 << ((flags & 7) + 1)
    # Skip extension blocks (0x21), each a label and sub-blocks ending in an empty one,
    # until the first image descriptor (0x2C).
    pieces = 0
    while data[position] == 0x21:
        position += 2
        while True:
            pieces += 1
            if pieces > max_segments:
                raise _too_many_segments("GIF", max_segments)
            if not data[position]:
                break
            position += data[position] + 1
        position += 1
    if data[position] == 0x2C:
        left, top, frame_width, frame_height = struct.unpack("<HHHH", data[position + 1 : position + 9])
        width, height = max(width, left + frame_width), max(height, top + frame_height)
    return width, height


def _bmp_size(data: bytes) -> tuple[int, int]:
    """Width and height from the BITMAPCOREHEADER or BITMAPINFOHEADER (and later)."""
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:
        return struct.unpack("<HH", data[18:22])
    # Read as Pillow does: an unsigned width, and a negative height for top-down rows.
    width, height = struct.unpack("<Ii", data[18:26])
    return width, abs(height)


# Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_START_OF_FRAME = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# Inside scan data 0xFF is followed by 0x00 (a stuffed byte) or a restart marker D0-D7;
# anything else (other than more 0xFF fill) starts the next marker.
_JPEG_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_size(data: bytes, max_segments: int, max_scans: int) -> tuple[int, int] | None:
    """Width and height from the first start-of-frame, after counting markers and scans."""
    size = None
    scans = 0
    position = 2
    for _ in range(max_segments):
        if position + 4 > len(data) or data[position] != 0xFF:
            return size  # Truncated or malformed: Pillow will say which.
        marker = data[position + 1]
        if marker == 0xD9:  # End of image; anything after it (MPO frames, junk) is not read.
            return size
        if marker == 0xFF:  # Fill byte before a marker.
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # Markers without a length.
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_START_OF_FRAME and size is None:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            size = (width, height)
        position += 2 + length
        if marker == 0xDA:
            scans += 1
            if scans > max_scans:
                raise texts.said(TooManyPieces, "errors_images.too_many_scans", scans=max_scans)
            next_marker = _JPEG_MARKER_AFTER_SCAN.search(data, position)
            if next_marker is None:
                return size
            position = next_marker.start()
    raise _too_many_segments("JPEG", max_segments)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size from the VP8X, VP8 (lossy) or VP8L (lossless) chunk."""
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None
