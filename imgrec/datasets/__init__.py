"""Offline-first image datasets: what there is, where it comes from on this machine, loading it, samples.

Every dataset has an ordered list of sources and the first one present wins: the data cache
(`imgrec.paths.data_dir()`), files that an npm or Debian package installed, an earlier Keras
download, a Keras download (only when the network answers), and for some a subset that a
pip package ships. Nothing here needs the network, and nothing imports Keras or TensorFlow
unless a download is attempted, so listing datasets stays cheap.

- `catalog`: names, descriptions, class names and aliases (`names`, `class_names`, `ALIASES`).
- `formats`: IDX files and CIFAR batches (`read_idx`, `write_idx`, `read_cifar_batch`).
- `sources`: where each dataset may come from, in order (`is_online`).
- `loading`: `load` and `split_validation`.
- `inventory`: `info`, `describe` and `fetch_to_cache`.
- `samples`: labelled sample images (`samples`, `load_sample`).
- `shapes`: the drawn shapes dataset and its object masks (`shapes.test_with_masks`).
- `domains`: which images a model knows (`collections_for`, `domain_mismatch`).
"""

from imgrec.datasets import shapes
from imgrec.datasets.catalog import (
    ALIASES,
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    DIGITS_TEST_FRACTION,
    FASHION_MNIST_CLASSES,
    MNIST_5K_TEST_SIZE,
    MNIST_CLASSES,
    SHAPES_CLASSES,
    Dataset,
    DatasetUnavailable,
    Sample,
    class_names,
    imagenet_class_names,
    input_shape,
    names,
)
from imgrec.datasets.domains import collections_for, domain_mismatch
from imgrec.datasets.formats import read_cifar_batch, read_idx, write_idx
from imgrec.datasets.inventory import Description, check_present, describe, fetch_to_cache, info
from imgrec.datasets.loading import load, split_validation
from imgrec.datasets.samples import COLLECTIONS, load_sample, samples
from imgrec.datasets.sources import how_to_get, is_online

__all__ = [
    "ALIASES",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
    "COLLECTIONS",
    "DIGITS_TEST_FRACTION",
    "FASHION_MNIST_CLASSES",
    "MNIST_5K_TEST_SIZE",
    "MNIST_CLASSES",
    "SHAPES_CLASSES",
    "Dataset",
    "DatasetUnavailable",
    "Description",
    "Sample",
    "check_present",
    "class_names",
    "collections_for",
    "describe",
    "domain_mismatch",
    "fetch_to_cache",
    "how_to_get",
    "imagenet_class_names",
    "info",
    "input_shape",
    "is_online",
    "load",
    "load_sample",
    "names",
    "read_cifar_batch",
    "read_idx",
    "samples",
    "shapes",
    "split_validation",
    "write_idx",
]
