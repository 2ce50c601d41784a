"""Labelled sample images: foolbox's 20 per collection, scikit-image's photos, and 20 drawn shapes.

The files are read from the packages' `data/` folders; neither package is imported. The
shapes samples are the first test images of `shapes`, drawn when loaded.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from imgrec.datasets import catalog, shapes, sources

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
    "shapes": "Shapes",
}
COLLECTIONS = tuple(_COLLECTION_TITLES)

# The first test images of the shapes dataset, drawn on demand: five of each class on average.
_SHAPES_SAMPLES = 20
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


def _label_name(collection: str, label: int) -> str | None:
    table = {
        "mnist": catalog.MNIST_CLASSES,
        "fashion-mnist": catalog.FASHION_MNIST_CLASSES,
        "cifar10": catalog.CIFAR10_CLASSES,
        "cifar100": catalog.CIFAR100_CLASSES,
    }.get(collection)
    if table is not None:
        return table[label] if 0 <= label < len(table) else None
    names = catalog.imagenet_class_names()
    # "tabby, tabby cat" -> "tabby": the first lemma is the common name.
    return names[label].split(",")[0].strip() if 0 <= label < len(names) else None


@functools.lru_cache(maxsize=1)
def _sample_files() -> dict[str, tuple[catalog.Sample, Path]]:
    found = {}
    foolbox = sources.package_folder("foolbox")
    folder = foolbox / "data" if foolbox else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = _FOOLBOX_FILE.match(path.name)
            if not match:
                continue
            collection = _FOOLBOX_COLLECTIONS[match.group(1)]
            index, label = int(match.group(2)), int(match.group(3))
            label_name = _label_name(collection, label)
            sample = catalog.Sample(
                id=f"{collection}-{index:02d}",
                title=f"{_COLLECTION_TITLES[collection]} sample {index}: {label_name or f'class {label}'}",
                collection=collection,
                label=label,
                label_name=label_name,
            )
            found[sample.id] = (sample, path)
    skimage = sources.package_folder("skimage")
    if skimage is not None:
        for key, (filename, title) in _PHOTOS.items():
            path = skimage / "data" / filename
            if path.is_file():
                sample = catalog.Sample(
                    id=f"photos-{key}", title=title, collection="photos", label=None, label_name=None
                )
                found[sample.id] = (sample, path)
    for index in range(_SHAPES_SAMPLES):
        label = shapes.label_of(shapes.TEST_SEED, index)
        label_name = catalog.SHAPES_CLASSES[label]
        sample = catalog.Sample(id=f"shapes-{index:02d}", title=f"Shapes sample {index}: {label_name}",
                                collection="shapes", label=int(label), label_name=label_name)
        found[sample.id] = (sample, None)  # Drawn, not read: no file.
    return found


def samples(collection: str | None = None) -> list[catalog.Sample]:
    """Lists the sample images present on this machine.

    Args:
        collection: Only this collection (`"mnist"`, `"fashion-mnist"`, `"cifar10"`,
            `"cifar100"`, `"imagenet"`, `"photos"`, `"shapes"`). Defaults to `None` (all).

    Returns:
        Samples in collection order, then index order. The shapes samples are always there
        (they are drawn); the others only when the packages that ship them (foolbox,
        scikit-image) are installed.

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
    sample, path = entry
    if sample.collection == "shapes":
        return shapes.sample(int(sample.id.rsplit("-", 1)[1]))[0]
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise catalog.DatasetUnavailable(
            f"The sample file {path} is missing; reinstall the package that ships it "
            "(`pip install --force-reinstall foolbox==3.3.4 scikit-image`)."
        ) from None
