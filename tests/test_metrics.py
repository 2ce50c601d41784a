"""Metrics through sklearn, checked against small examples worked out by hand."""

import numpy as np
import pytest

from imgrec import metrics

# Ten samples of three classes, worked out by hand. Truth -> prediction:
#   class 0: 0 0 0 1     class 1: 1 1 0     class 2: 2 1 1
# Confusion (rows are the truth): [[3, 1, 0], [1, 2, 0], [0, 2, 1]]; column sums 4, 5, 1.
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 1, 0, 2, 1, 1]
# precision = diagonal / column sum, recall = diagonal / row sum, F1 = 2PR / (P + R):
#   class 0: 3/4, 3/4, 3/4    class 1: 2/5, 2/3, 1/2    class 2: 1/1, 1/3, 1/2
PRECISION, RECALL, F1 = [3 / 4, 2 / 5, 1.0], [3 / 4, 2 / 3, 1 / 3], [3 / 4, 1 / 2, 1 / 2]
# The predicted class gets 0.6 and the others 0.2, so one-vs-rest AUC counts ties as halves:
#   class 0: 4 positives x 6 negatives, 15 wins and 8 ties -> 19/24
#   class 1: 3 x 7, 8 wins and 10 ties -> 13/21     class 2: 3 x 7, 7 wins and 14 ties -> 14/21
AUC = [19 / 24, 13 / 21, 14 / 21]


def test_metrics_match_a_hand_computed_three_class_example():
    probabilities = np.full((10, 3), 0.2)
    probabilities[np.arange(10), Y_PRED] = 0.6
    report = metrics.from_probabilities(Y_TRUE, probabilities, ["a", "b", "c"])
    assert report["n"] == 10 and report["accuracy"] == pytest.approx(0.6)
    assert report["confusion"] == [[3, 1, 0], [1, 2, 0], [0, 2, 1]]
    assert [row["class"] for row in report["per_class"]] == ["a", "b", "c"]
    assert [row["support"] for row in report["per_class"]] == [4, 3, 3]
    assert [row["precision"] for row in report["per_class"]] == pytest.approx(PRECISION)
    assert [row["recall"] for row in report["per_class"]] == pytest.approx(RECALL)
    assert [row["f1"] for row in report["per_class"]] == pytest.approx(F1)
    assert report["macro_f1"] == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
    assert report["roc_auc_per_class"] == pytest.approx(AUC)
    assert report["roc_auc"] == pytest.approx(sum(AUC) / 3)


def test_binary_auc_counts_the_one_pair_out_of_order():
    # Positives score 0.4 and 0.9, negatives 0.1 and 0.6: of the 4 pairs only (0.4, 0.6) is out of order.
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]])
    report = metrics.from_probabilities([0, 0, 1, 1], probabilities, ["cat", "dog"])
    assert report["roc_auc"] == pytest.approx(3 / 4)
    assert report["accuracy"] == pytest.approx(1 / 2)  # 0.6 for the second cat and 0.4 for the first dog.


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
