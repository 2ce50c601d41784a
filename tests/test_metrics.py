"""Metrics through sklearn, checked against direct computations."""

import numpy as np
import pytest

from imgrec import metrics


def test_metrics_match_a_direct_computation():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=200)
    logits = rng.normal(size=(200, 3)) + np.eye(3)[y_true] * 1.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    report = metrics.from_probabilities(y_true, probabilities, ["a", "b", "c"])
    y_pred = probabilities.argmax(axis=1)
    assert report["accuracy"] == pytest.approx((y_pred == y_true).mean())
    confusion = np.zeros((3, 3), int)
    for truth, guess in zip(y_true, y_pred, strict=True):
        confusion[truth, guess] += 1
    assert report["confusion"] == confusion.tolist()
    for index, row in enumerate(report["per_class"]):
        true_positive = confusion[index, index]
        assert row["precision"] == pytest.approx(true_positive / confusion[:, index].sum())
        assert row["recall"] == pytest.approx(true_positive / confusion[index].sum())
        assert row["support"] == confusion[index].sum()
    assert report["macro_f1"] == pytest.approx(np.mean([row["f1"] for row in report["per_class"]]))
    assert 0.5 < report["roc_auc"] <= 1.0


def test_perfect_binary_scores_auc_one_and_roc_curve_reaches_corner():
    y_true = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    report = metrics.from_probabilities(y_true, probabilities, ["cat", "dog"])
    assert report["accuracy"] == 1.0 and report["roc_auc"] == 1.0
    curves = metrics.roc_curves(y_true, probabilities, ["cat", "dog"])
    assert len(curves) == 2 and curves[1]["auc"] == 1.0 and curves[1]["tpr"][-1] == 1.0


def test_auc_is_none_when_a_class_is_absent():
    y_true = np.array([0, 0, 1, 1])
    probabilities = np.full((4, 3), 1 / 3)
    report = metrics.from_probabilities(y_true, probabilities, ["a", "b", "c"])
    assert report["roc_auc"] is None and report["roc_auc_per_class"][2] is None
    assert report["per_class"][2]["support"] == 0


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="Expected probabilities"):
        metrics.from_probabilities([0, 1], np.ones((3, 2)) / 2, ["a", "b"])


def test_evaluate_a_model_on_digits():
    from imgrec import architectures

    model = architectures.build("mlp", (8, 8, 1), 10)
    report = metrics.evaluate(model, "digits", "test")
    assert report["n"] == 360 and report["dataset"] == "digits" and report["split"] == "test"
    assert len(report["confusion"]) == 10 and sum(map(sum, report["confusion"])) == 360
    with pytest.raises(ValueError, match="Unknown split"):
        metrics.evaluate(model, "digits", "holdout")
    with pytest.raises(ValueError, match="expects images of shape"):
        metrics.evaluate(architectures.build("mlp", (28, 28, 1), 10), "digits")


def test_roc_curves_keep_the_corners_and_round_only_the_points():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, size=500)
    probabilities = np.clip(rng.normal(0.35 + 0.3 * y_true, 0.2), 0, 1)
    probabilities = np.stack([1 - probabilities, probabilities], axis=1)
    exact = metrics.roc_curves(y_true, probabilities, ["no", "yes"])
    rounded = metrics.roc_curves(y_true, probabilities, ["no", "yes"], decimals=2)
    for curve, small in zip(exact, rounded, strict=True):
        # Hand-made reference: sweep every threshold, keep the rate pairs that turn a corner.
        scores = probabilities[:, 1] if curve["class"] == "yes" else probabilities[:, 0]
        positives = y_true == (curve["class"] == "yes")
        thresholds = np.unique(scores)[::-1]
        tpr = [0.0] + [float((scores[positives] >= t).mean()) for t in thresholds]
        fpr = [0.0] + [float((scores[~positives] >= t).mean()) for t in thresholds]
        assert curve["auc"] == pytest.approx(np.trapezoid(tpr, fpr))
        assert len(curve["fpr"]) < len(thresholds) + 1  # Straight runs dropped to their ends.
        assert set(zip(curve["fpr"], curve["tpr"], strict=True)) <= set(zip(fpr, tpr, strict=True))
        assert small["auc"] == curve["auc"]
        assert small["fpr"] == [round(value, 2) for value in curve["fpr"]]
        assert small["tpr"] == [round(value, 2) for value in curve["tpr"]]
