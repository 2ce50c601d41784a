"""Tests for imgrec.datasets.domains: which sample images a model knows, and the sentence for the others."""

import doctest

import pytest

from imgrec import datasets
from imgrec.datasets import domains

IMAGENET = "ImageNet-1k (ILSVRC 2012)"  # The ImageNet model's card says this.
IMAGENET_CLASSES = [f"class {index}" for index in range(1000)]


@pytest.mark.parametrize(("dataset", "own"), [
    ("mnist", "mnist"), ("mnist-5k", "mnist"), ("digits", "mnist"), ("mnist:3,8", "mnist"), ("mnist-3-vs-8", "mnist"),
    ("fashion-mnist", "fashion-mnist"), ("fashion-sneaker-vs-boot", "fashion-mnist"), ("cifar10", "cifar10"),
    ("cifar10-cat-vs-dog", "cifar10"), (IMAGENET, "imagenet"),
])
def test_every_dataset_s_own_collection_comes_first(dataset, own):
    assert domains.collections_for(dataset)[0] == own
    assert set(domains.collections_for(dataset)) <= set(datasets.COLLECTIONS)


def test_an_unknown_dataset_has_no_collections_and_no_sentence():
    assert domains.collections_for("someone's own data") == ()
    assert domains.collections_for(None) == ()
    assert domains.domain_mismatch("someone's own data", ["a", "b"], "mnist", "7") is None


def test_a_digit_model_says_a_cat_photo_is_a_guess():
    sentence = domains.domain_mismatch("mnist", datasets.MNIST_CLASSES, "cifar10", "cat")
    assert sentence == ("This model only knows the digits 0-9, and this is a small colour photo: "
                        "its answer is a guess among those.")
    assert domains.domain_mismatch("mnist", datasets.MNIST_CLASSES, "photos") is not None


def test_the_imagenet_model_says_a_digit_is_a_guess_but_knows_photos():
    assert "1,000 kinds" in domains.domain_mismatch(IMAGENET, IMAGENET_CLASSES, "mnist", "7")
    assert "a handwritten digit" in domains.domain_mismatch(IMAGENET, IMAGENET_CLASSES, "mnist", "7")
    for collection in ("imagenet", "photos", "cifar10", "cifar100"):
        assert domains.domain_mismatch(IMAGENET, IMAGENET_CLASSES, collection, "cat") is None, collection


def test_a_model_s_own_images_need_no_sentence():
    assert domains.domain_mismatch("mnist", datasets.MNIST_CLASSES, "mnist", "7") is None
    fashion = datasets.FASHION_MNIST_CLASSES
    assert domains.domain_mismatch("fashion-mnist", fashion, "fashion-mnist", "Ankle boot") is None


def test_a_two_class_model_names_its_classes_and_the_sample_s():
    two = datasets.class_names("fashion-sneaker-vs-boot")
    sentence = domains.domain_mismatch("fashion-sneaker-vs-boot", two, "fashion-mnist", "Pullover")
    assert sentence == ("This model only knows Sneaker and Ankle boot, and this is a Pullover: "
                        "its answer is a guess between those.")
    assert domains.domain_mismatch("fashion-sneaker-vs-boot", two, "fashion-mnist", "Ankle boot") is None
    digits = domains.domain_mismatch("mnist-3-vs-8", ("3", "8"), "mnist", "7")
    assert digits == "This model only knows the digits 3 and 8, and this is the digit 7: its answer is a guess between those."
    assert "the digits 3 and 8, and this is a photo" in domains.domain_mismatch("mnist:3,8", ("3", "8"), "photos")


def test_an_upload_of_unknown_kind_gets_no_sentence():
    assert domains.domain_mismatch("mnist", datasets.MNIST_CLASSES, None) is None


def test_the_examples_in_the_docstrings_hold():
    results = doctest.testmod(domains)
    assert results.attempted >= 2 and not results.failed
