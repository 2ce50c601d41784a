"""The file formats datasets come in: IDX (MNIST's, raw or gzip) and CIFAR's pickled python batches.

Both readers validate before they trust: an IDX header must match its length, and a CIFAR
batch is unpickled by an unpickler that can only build numpy arrays.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from imgrec import atomic

# IDX: a big-endian header (two zero bytes, a type code, the number of dimensions, each
# dimension as uint32), then the raw values.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """Reads a file, decompressing it when it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as handle:
        head = handle.read(2)
        handle.seek(0)
        if head != _GZIP_MAGIC:
            return handle.read()
        try:
            with gzip.GzipFile(fileobj=handle) as stream:
                return stream.read()
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise ValueError(
                f"{path} is a damaged gzip file ({error}); delete it and fetch it again."
            ) from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file (raw or gzip-compressed), validating its header and length.

    Args:
        path: The file. Compression is detected from the content, not the name.

    Returns:
        An array with the file's dimensions, in native byte order. uint8 data comes back
        as a read-only view of the file's bytes (no copy).

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the magic number, the data type code, the number of dimensions or
            the length of the data is wrong; the message names the file and the problem.

    Example:

    >>> images = read_idx("data/mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"{path} is not an IDX file: {len(data)} bytes is shorter than the 4-byte magic number."
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path} is not an IDX file: its magic number starts with {data[:2].hex()} instead of 0000."
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02x}.")
    if ndim == 0:
        raise ValueError(f"{path}: an IDX file needs at least one dimension, the header says 0.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path} is truncated: the header needs {header_size} bytes, the file has {len(data)}."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = _IDX_DTYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    expected = count * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        problem = "is truncated" if found < expected else "has trailing bytes"
        raise ValueError(
            f"{path} {problem}: dimensions {shape} need {expected} bytes of data, found {found}."
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_size).reshape(shape)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_idx_shape(path: Path) -> tuple[int, ...]:
    """Reads only the dimensions of an IDX file (a few bytes, even when compressed)."""
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as handle:
        head = handle.read(4)
        if len(head) < 4 or head[:2] != b"\x00\x00" or head[3] == 0:
            raise ValueError(f"{path} is not an IDX file.")
        return struct.unpack(f">{head[3]}I", handle.read(4 * head[3]))


def is_gzip(path: Path) -> bool:
    """Says whether a file starts with the gzip magic, whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Writes an array as an IDX file, gzip-compressed when the name ends in `.gz`.

    The file appears atomically (a temporary file in the same folder, then `os.replace`),
    so a reader never sees half a file.

    Args:
        path: The file to write; its folder is created.
        array: uint8, int8, int16, int32, float32 or float64 values, at least 1-D.

    Returns:
        The path written.

    Raises:
        ValueError: if the dtype has no IDX code or the array is 0-D.
    """
    path = Path(path)
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _IDX_CODES:
        raise ValueError(
            f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, float32 or float64."
        )
    if array.ndim == 0:
        raise ValueError("IDX needs an array with at least one dimension.")
    code = _IDX_CODES[dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        # Level 6 compresses MNIST to within 2% of level 9 in a fraction of the time.
        payload = gzip.compress(header + body, compresslevel=6, mtime=0)
    else:
        payload = header + body
    write_file(path, payload)
    return path


def write_file(path: Path, payload: bytes) -> None:
    """Writes bytes atomically and durably, creating the folder first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, payload)


# CIFAR python batches are read with an unpickler that can only build numpy arrays.
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays, and refuses anything else.

    A pickle can name any callable; plain `pickle.load` on a downloaded file would run
    whatever it names. CIFAR batches only need the three numpy globals below.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1").
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch only holds arrays."
            )
        if name == "encode":
            return _latin1_encode
        if name == "_reconstruct":
            # The numpy 2 home of `_reconstruct`; old pickles name numpy.core.
            return (
                np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
            )
        return getattr(np, name)


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Only the one codec a pickle needs for bytes; other codecs have no business here.
    if encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"refusing the {encoding!r} codec: a CIFAR batch only needs latin1.")
    return text.encode("latin1")


def read_cifar_batch(path: str | os.PathLike) -> dict:
    """Reads one CIFAR python batch file safely.

    Args:
        path: e.g. `cifar-10-batches-py/data_batch_1`.

    Returns:
        The batch dict with str keys (`"data"`, `"labels"`, ...).

    Raises:
        ValueError: if the file is not a CIFAR batch or names anything but numpy arrays.
    """
    try:
        with open(path, "rb") as handle:
            # The batches were pickled by Python 2; "bytes" keeps their str fields as bytes.
            batch = _NumpyOnlyUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, IndexError) as error:
        raise ValueError(f"{path} is not a readable CIFAR batch ({error}).") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR batch: it holds a {type(batch).__name__}, not a dict.")
    return {key.decode("latin-1") if isinstance(key, bytes) else key: value for key, value in batch.items()}


def cifar_arrays(batch: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Returns the uint8 images `(N, 32, 32, 3)` and int64 labels `(N,)` of a batch from `read_cifar_batch`."""
    data = np.asarray(batch.get("data"))
    labels = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: expected uint8 data of shape (N, 3072) and N labels, got {data.shape}.")
    # Rows hold the red plane, then green, then blue: (N, C, H, W) -> (N, H, W, C).
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
