"""The test images a model gets wrong, most confident first, each with its top classes and an explanation.

`select` picks cases from labels and probabilities: every mistake, or one cell of the
confusion matrix (true 4, predicted 9). `explain_cases` gives each picked image its top
classes and a heatmap of the class the model chose; `find` does both over a dataset's split.
"""

import dataclasses

import numpy as np

from imgrec import explain, inference, metrics


@dataclasses.dataclass(frozen=True, eq=False)
class Case:
    """One image of a split as the model classified it. Equality is identity (it holds arrays)."""

    index: int  # Its position in the split.
    true: int  # The true class index.
    predicted: int  # The class index the model chose.
    true_label: str
    predicted_label: str
    confidence: float  # The probability of the chosen class.
    top: tuple  # ((label, probability), ...): the most probable classes, best first.
    image: np.ndarray  # The image as stored in the split: uint8 (height, width, channels).
    heatmap: np.ndarray  # float32 (height, width) in [0, 1]: what spoke for the chosen class.
    explainer: str  # The title of the technique that drew the heatmap, e.g. "Grad-CAM".


def select(labels, probabilities, *, true=None, predicted=None, wrong_only=True, limit=None):
    """Returns the indices of the cases asked for, the most confident (in the chosen class) first.

    Args:
        labels: int array `(N,)` of true class indices.
        probabilities: float array `(N, classes)`.
        true: keep only images of this true class. Defaults to `None` (any).
        predicted: keep only images the model put in this class. Defaults to `None` (any).
        wrong_only: keep only the images the model got wrong. Defaults to `True`; pass
            False for a cell on the diagonal, or to rank every image.
        limit: keep at most this many. Defaults to `None` (all).

    Returns:
        int64 indices into `labels`; ties keep the split's order.

    Raises:
        ValueError: when labels and probabilities do not match.

    Example:

    >>> select(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]])).tolist()
    [1]
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"Expected probabilities of shape ({len(labels)}, classes), got {probabilities.shape}.")
    chosen = probabilities.argmax(axis=1)
    keep = np.ones(len(labels), dtype=bool)
    if wrong_only:
        keep &= chosen != labels
    if true is not None:
        keep &= labels == int(true)
    if predicted is not None:
        keep &= chosen == int(predicted)
    indices = np.flatnonzero(keep)
    confidence = probabilities[indices, chosen[indices]]
    ordered = indices[np.argsort(-confidence, kind="stable")]
    return ordered if limit is None else ordered[: int(limit)]


def _explainer_for(model, method):
    """The explainer record to use: `method`, or the first class-specific one that applies to the model."""
    if method is not None:
        if method not in explain.EXPLAINERS:
            raise ValueError(f"Unknown explainer {method!r}; choose one of {', '.join(explain.EXPLAINERS)}.")
        return explain.EXPLAINERS[method]
    return next(record for record in explain.applicable(model) if record.class_specific)


def explain_cases(model, images, labels, indices, class_names, *, method=None, top=3):
    """Returns the images at `indices` as `Case`s: their top classes and a heatmap of the chosen class.

    Args:
        model: a `keras.Model` that takes the images as stored (0..255 pixels).
        images: the split's images, `(N, height, width, channels)`.
        labels: the split's true class indices, `(N,)`.
        indices: the images to explain, e.g. from `select`.
        class_names: the model's class names.
        method: an explainer's name (`explain.EXPLAINERS`). Defaults to `None`: the first
            class-specific explainer that applies (Grad-CAM for a convnet, saliency for a
            recurrent network or a perceptron).
        top: how many top classes each case lists. Defaults to `3`.

    Returns:
        A list of `Case`, in the order of `indices`.
    """
    indices = [int(index) for index in indices]
    if not indices:
        return []
    record = _explainer_for(model, method)
    batch = np.asarray(images)[indices]
    probabilities = inference.predict_probabilities(model, batch)
    names = [str(name) for name in class_names]
    cases = []
    for index, image, row in zip(indices, batch, probabilities, strict=True):
        order = np.argsort(-row, kind="stable")
        predicted, true = int(order[0]), int(labels[index])
        heatmap = explain.explain(model, image.astype(np.float32), record.name, predicted)
        cases.append(Case(
            index=index, true=true, predicted=predicted, true_label=names[true], predicted_label=names[predicted],
            confidence=float(row[predicted]), top=tuple((names[i], float(row[i])) for i in order[:top]),
            image=image, heatmap=heatmap, explainer=record.title,
        ))
    return cases


def find(model, dataset, split="test", *, true=None, predicted=None, wrong_only=True, limit=12, method=None, top=3):
    """Runs a model over a dataset's split and returns the cases asked for, explained (see `select`).

    Args:
        model: a `keras.Model` that takes the dataset's images.
        dataset: a loaded `datasets.Dataset` (`datasets.load(name)`).
        split: "test" (default), "validation" or "train".
        true, predicted, wrong_only, limit: which cases, as `select` takes them. `limit`
            defaults to `12`.
        method, top: as `explain_cases` takes them.

    Returns:
        A list of `Case`, the most confident first.
    """
    images, labels = metrics.split_arrays(dataset, split)
    probabilities = inference.predict_probabilities(model, images)
    indices = select(labels, probabilities, true=true, predicted=predicted, wrong_only=wrong_only, limit=limit)
    return explain_cases(model, images, labels, indices, dataset.class_names, method=method, top=top)
