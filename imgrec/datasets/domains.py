"""Which images a model knows: the sample collections of its dataset's kind, and the sentence for an image from elsewhere.

A model trained on digits answers "8 (99.2%)" for a cat photo: it can only choose among the
classes it learned. `collections_for` says which sample collections hold images of the kind
a dataset's models know (its own first), so a page can open a model on a fitting image;
`domain_mismatch` says, in one sentence, when an image does not belong.
"""

from __future__ import annotations

import dataclasses
import re

from imgrec.datasets import catalog


@dataclasses.dataclass(frozen=True)
class Domain:
    """The kind of images the models of one base dataset know."""

    collections: tuple[str, ...]  # Sample collections of that kind, the dataset's own first.
    knows: str  # What a model of the whole dataset knows, for the sentence: "the digits 0-9".


_DIGITS = Domain(("mnist",), "the digits 0-9")
# Colour photos of objects and animals: a CIFAR-10 model reads any photo the way it reads its
# own (it is a guess when the photo shows none of its ten classes, as for any classifier).
_CIFAR10 = Domain(("cifar10", "cifar100", "imagenet", "photos"), "ten kinds of things in small colour photos "
                  "(airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck)")
DOMAINS = {
    "mnist": _DIGITS,
    "mnist-5k": _DIGITS,
    "digits": _DIGITS,
    "fashion-mnist": Domain(("fashion-mnist",), "ten kinds of clothing and shoes"),
    "cifar10": _CIFAR10,
    "shapes": Domain(("shapes",), "four drawn shapes (circle, square, triangle and star)"),
    # Its 1,000 classes cover most of what CIFAR's small photos show, at a lower resolution.
    "imagenet": Domain(("imagenet", "photos", "cifar10", "cifar100"),
                       "1,000 kinds of everyday objects and animals in photos"),
}
# What an image of each sample collection is, for the sentence.
IMAGE_KINDS = {
    "mnist": "a handwritten digit",
    "fashion-mnist": "a piece of clothing",
    "cifar10": "a small colour photo",
    "cifar100": "a small colour photo",
    "imagenet": "a photo",
    "photos": "a photo",
    "shapes": "a drawn shape",
}


def base_of(dataset: str | None) -> str | None:
    """Returns the `DOMAINS` key of a model card's dataset, or None for a dataset of unknown kind.

    Args:
        dataset: A card's `dataset`: a `names()` entry, `"DATASET:A,B"`, an alias such as
            `"fashion-sneaker-vs-boot"`, or the ImageNet model's `"ImageNet-1k (ILSVRC 2012)"`.
    """
    text = (dataset or "").strip()
    if text.lower().startswith("imagenet"):
        return "imagenet"
    try:
        base, _ = catalog.parse_name(text)
    except ValueError:
        return None
    return base if base in DOMAINS else None


def collections_for(dataset: str | None) -> tuple[str, ...]:
    """Returns the sample collections whose images a model of `dataset` knows, its own first.

    Returns:
        A tuple of collection names (`datasets.COLLECTIONS`); empty for a dataset of unknown
        kind (an imported model's, say), whose fitting images nobody can tell.

    Example:

    >>> collections_for("fashion-sneaker-vs-boot")
    ('fashion-mnist',)
    """
    base = base_of(dataset)
    return DOMAINS[base].collections if base else ()


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _with_article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _knows(base: str, names: list[str]) -> str:
    """What a model with these classes knows: its domain's words for the whole dataset, else the classes."""
    spec = catalog.SPECS.get(base)
    if spec is None or [_normalised(name) for name in names] == [_normalised(name) for name in spec.class_names]:
        return DOMAINS[base].knows
    return ("the digits " if DOMAINS[base] is _DIGITS else "") + _listed(names)


def domain_mismatch(dataset: str | None, class_names, collection: str | None, label_name: str | None = None) -> str | None:
    """Says in one sentence when an image is not of a kind a model knows; None when it is, or nobody can tell.

    Args:
        dataset: The model card's `dataset` (see `base_of`).
        class_names: The model's classes, in order.
        collection: The image's sample collection (`Sample.collection`), or None for an
            upload, a camera photo or a drawing, whose kind nobody can tell.
        label_name: The sample's class in its collection (`Sample.label_name`), if any: a
            model trained on a class subset knows only some images of its own collection.

    Returns:
        e.g. "This model only knows the digits 0-9, and this is a photo: its answer is a
        guess among those.", or None.

    Example:

    >>> domain_mismatch("mnist", [str(digit) for digit in range(10)], "mnist", "7") is None
    True
    """
    base = base_of(dataset)
    if base is None or collection is None:
        return None
    domain = DOMAINS[base]
    names = [str(name) for name in class_names]
    among = "between" if len(names) == 2 else "among"
    if collection not in domain.collections:
        image = IMAGE_KINDS.get(collection, "an image of another kind")
        return f"This model only knows {_knows(base, names)}, and this is {image}: its answer is a guess {among} those."
    # Only a class subset of a catalogued dataset can miss a sample of its own collection.
    if collection == domain.collections[0] and label_name is not None and base in catalog.SPECS \
            and _normalised(label_name) not in {_normalised(name) for name in names}:
        image = f"the digit {label_name}" if domain is _DIGITS else _with_article(label_name)
        return f"This model only knows {_knows(base, names)}, and this is {image}: its answer is a guess {among} those."
    return None
