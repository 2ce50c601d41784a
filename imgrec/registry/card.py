"""What a model card says: the card of a trained model, of the built ImageNet model, and the fields every card has.

A card is a dict, written as `models/NAME.json` beside `NAME.keras`; the store fills in the
file's own facts (sha256, size, parameters, Keras version, creation time) when it saves.
"""

import os
import platform

# The fields a card read from disk must have; the store refuses a card without them.
REQUIRED_FIELDS = ("name", "architecture", "dataset", "input", "preprocessing", "class_names", "sha256")


def preprocessing_for_dataset(dataset_name):
    """Returns the preprocessing spec a model trained on a dataset needs for arbitrary photos."""
    base = dataset_name.split(":", 1)[0]
    if base in ("mnist", "mnist-5k", "digits"):
        return {"kind": "mnist-digit", "invert": "auto", "normalisation": "in-model Rescaling(1/255)"}
    if base == "fashion-mnist":
        return {"kind": "fit", "invert": "auto", "normalisation": "in-model Rescaling(1/255)"}
    return {"kind": "fit", "invert": False, "normalisation": "in-model Rescaling(1/255)"}


def card_for_training(result, report, *, title=None, summary=None):
    """Builds a model card from a `training.TrainResult` and a `metrics.evaluate` report."""
    import tensorflow as tf

    from imgrec import architectures

    config = result.config
    return {
        "title": title or f"{config.architecture} on {config.dataset}",
        "summary": summary or architectures.DESCRIPTIONS.get(config.architecture, config.architecture),
        "architecture": config.architecture,
        "dataset": config.dataset,
        "input": {"shape": list(result.input_shape), "dtype": "float32", "range": [0, 255],
                  "color_mode": "grayscale" if result.input_shape[-1] == 1 else "rgb"},
        "preprocessing": preprocessing_for_dataset(config.dataset),
        "class_names": list(result.class_names),
        "training": {
            "config": config.to_dict(),
            "seconds": round(result.seconds, 1),
            "samples_per_second": round(result.samples_per_second, 1),
            "train_samples": result.train_samples,
            "validation_samples": result.validation_samples,
            "dataset_source": result.dataset_source,
            "history": result.history,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}",
            "cancelled": result.cancelled,
        },
        "metrics": {
            "split": report["split"],
            "dataset": report["dataset"],
            "n": report["n"],
            "test_accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "roc_auc": report["roc_auc"],
            "per_class_f1": {row["class"]: row["f1"] for row in report["per_class"]},
        },
    }


def built_model_card(name, model=None):
    """Returns the card of the ImageNet classifier built on first use.

    Args:
        name: its registry name (one of the store's `BUILT_MODELS`).
        model: the built `keras.Model`, measured on foolbox's 20 labelled samples; `None` for
            the card listed before the model is built. Defaults to `None`.
    """
    from imgrec import pretrained

    if model is None:
        measured = None
        meta = {"architecture": "EfficientNet-Lite0", "dataset": "ImageNet-1k (ILSVRC 2012)"}
    else:
        meta = pretrained.card_metadata(model)
        measured = meta["sample_accuracy"]
    size = pretrained.INPUT_SIZE
    policy = "crop"
    metrics = {"test_accuracy": None, "split": "not built yet"}
    if measured is not None:
        samples = measured[policy]
        metrics = {
            "split": "foolbox ImageNet samples",
            "dataset": "20 labelled ImageNet validation photos shipped by pip foolbox 3.3.4",
            "n": samples["n"],
            "test_accuracy": samples["top1"] / samples["n"],
            "top5_accuracy": samples["top5"] / samples["n"],
            "by_resize_policy": measured,
        }
    return {
        **meta,
        "name": name,
        "title": "ImageNet classifier (EfficientNet-Lite0)",
        "summary": "Names 1,000 everyday objects and animals; rebuilt offline from the weights a pip package ships.",
        "architecture": "EfficientNet-Lite0",
        "dataset": "ImageNet-1k (ILSVRC 2012)",
        "input": {"shape": [size, size, 3], "dtype": "float32", "range": [0, 255], "color_mode": "rgb"},
        "preprocessing": {
            "kind": "imagenet",
            "resize": policy,
            "normalisation": "in-model Rescaling: (x - 127) / 128",
            "why": "crop and squash both score 17/20 top-1 and 20/20 top-5 on the (square) samples; "
                   "crop keeps the aspect ratio of non-square photos, so it is the default",
        },
        "class_names": list(pretrained.class_names()),
        "last_conv_layer": pretrained.LAST_CONV_LAYER,
        "metrics": metrics,
        "built": measured is not None,
    }
