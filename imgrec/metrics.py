"""Evaluation through sklearn.metrics: accuracy, per-class precision/recall/F1, confusion matrix, ROC-AUC."""

import numpy as np
from sklearn import metrics as sk_metrics

SPLITS = ("test", "validation", "train")


def from_probabilities(y_true, probabilities, class_names):
    """Computes every metric the app shows from labels and predicted probabilities.

    Args:
        y_true: int array `(N,)` of true class indices.
        probabilities: float array `(N, K)` whose rows sum to 1.
        class_names: the K class names.

    Returns:
        A JSON-ready dict: `n`, `accuracy`, `macro_f1`, `per_class` (a list of dicts with
        `class`, `precision`, `recall`, `f1`, `support`), `confusion` (K x K counts, rows are
        true classes), `roc_auc` (one-vs-rest macro average, or None when a class is absent),
        `roc_auc_per_class`.

    Raises:
        ValueError: when shapes do not match.
    """
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    num_classes = len(class_names)
    if probabilities.ndim != 2 or probabilities.shape != (len(y_true), num_classes):
        raise ValueError(
            f"Expected probabilities of shape ({len(y_true)}, {num_classes}), got {probabilities.shape}."
        )
    labels = np.arange(num_classes)
    y_pred = probabilities.argmax(axis=1)
    precision, recall, f1, support = sk_metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = [
        {
            "class": str(name),
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, name in enumerate(class_names)
    ]
    roc_auc, roc_auc_per_class = _roc_auc(y_true, probabilities, num_classes)
    return {
        "n": int(len(y_true)),
        "accuracy": float(sk_metrics.accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "macro_f1": float(sk_metrics.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": per_class,
        "confusion": sk_metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "roc_auc": roc_auc,
        "roc_auc_per_class": roc_auc_per_class,
        "class_names": [str(name) for name in class_names],
    }


def _roc_auc(y_true, probabilities, num_classes):
    # AUC is undefined for a class with no positive (or no negative) sample in the split.
    present = np.unique(y_true)
    if len(present) < 2:
        return None, [None] * num_classes
    per_class = []
    for index in range(num_classes):
        positives = y_true == index
        if positives.all() or not positives.any():
            per_class.append(None)
        else:
            per_class.append(float(sk_metrics.roc_auc_score(positives, probabilities[:, index])))
    if num_classes == 2:
        return float(sk_metrics.roc_auc_score(y_true, probabilities[:, 1])), per_class
    if len(present) < num_classes:
        return None, per_class
    return float(sk_metrics.roc_auc_score(y_true, probabilities, multi_class="ovr", average="macro")), per_class


def roc_curves(y_true, probabilities, class_names, *, decimals=None):
    """One-vs-rest ROC curves, one per class with positives, for plotting.

    Only the corners of each curve are kept (`drop_intermediate`): the points between them
    lie on straight lines and change nothing in the plot or the area.

    Args:
        y_true: int array `(N,)` of true class indices.
        probabilities: float array `(N, K)`.
        class_names: the K class names.
        decimals: round the rates to this many decimals, to keep a stored curve small; the
            area is computed before rounding. Defaults to `None` (no rounding).

    Returns:
        A list of dicts `{"class", "fpr", "tpr", "auc"}` (lists of floats).
    """
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    curves = []
    for index, name in enumerate(class_names):
        positives = y_true == index
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = sk_metrics.roc_curve(positives, probabilities[:, index], drop_intermediate=True)
        area = float(sk_metrics.auc(fpr, tpr))
        if decimals is not None:
            fpr, tpr = np.round(fpr, decimals), np.round(tpr, decimals)
        curves.append({"class": str(name), "fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": area})
    return curves


def split_arrays(dataset, split, validation_fraction=0.1, seed=0):
    """Returns `(images, labels)` of one split of a loaded `datasets.Dataset`.

    "validation" is the held-out part of the training samples, split as training splits it.

    Raises:
        ValueError: for an unknown split.
    """
    from imgrec import datasets

    if split == "test":
        return dataset.x_test, dataset.y_test
    if split == "train":
        return dataset.x_train, dataset.y_train
    if split == "validation":
        _, _, x_val, y_val = datasets.split_validation(dataset.x_train, dataset.y_train, validation_fraction, seed)
        return x_val, y_val
    raise ValueError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")


def evaluate(model, dataset, split="test", *, max_samples=None, batch_size=256):
    """Evaluates a classifier on one split of a dataset.

    Args:
        model: a `registry.Classifier` or a bare `keras.Model` taking the dataset's images.
        dataset: a dataset name (see `datasets.names()`) or a loaded `datasets.Dataset`.
        split: "test" (default), "validation" or "train".
        max_samples: evaluate only the first N samples of the split. Defaults to all.
        batch_size: images per forward pass. Defaults to `256`.

    Returns:
        The dict of `from_probabilities`, plus `dataset`, `split` and `source`.

    Example:
        >>> report = evaluate(registry.load("mnist-cnn"), "mnist")
        >>> report["accuracy"] > 0.99
        True
    """
    from imgrec import datasets, inference

    if isinstance(dataset, str):
        dataset = datasets.load(dataset)
    images, labels = split_arrays(dataset, split)
    if max_samples is not None:
        images, labels = images[:max_samples], labels[:max_samples]
    keras_model = getattr(model, "model", model)
    if tuple(keras_model.input_shape[1:]) != tuple(images.shape[1:]):
        raise ValueError(
            f"The model expects images of shape {tuple(keras_model.input_shape[1:])}, "
            f"but {dataset.name} has {tuple(images.shape[1:])}."
        )
    probabilities = inference.predict_probabilities(keras_model, images, batch_size=batch_size)
    report = from_probabilities(labels, probabilities, dataset.class_names)
    report.update({"dataset": dataset.name, "split": split, "source": dataset.source})
    return report
