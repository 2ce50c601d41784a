"""imgrec.mistakes: which test images a model got wrong, most confident first, with top classes and heatmaps."""

import numpy as np
import pytest

from imgrec import architectures, datasets, explain, mistakes

# Six images, three classes. Chosen class and its probability per row:
# 0: 0 (0.5) right; 1: 2 (0.9) wrong; 2: 1 (0.6) wrong; 3: 2 (0.7) wrong; 4: 2 (0.6) wrong; 5: 1 (0.8) right.
LABELS = np.array([0, 0, 0, 1, 1, 1])
PROBABILITIES = np.array([
    [0.5, 0.3, 0.2], [0.05, 0.05, 0.9], [0.3, 0.6, 0.1], [0.2, 0.1, 0.7], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1],
])


def test_select_ranks_the_mistakes_by_confidence_and_keeps_ties_in_order():
    assert mistakes.select(LABELS, PROBABILITIES).tolist() == [1, 3, 2, 4]
    assert mistakes.select(LABELS, PROBABILITIES, limit=2).tolist() == [1, 3]


def test_select_serves_one_cell_of_the_confusion_matrix():
    assert mistakes.select(LABELS, PROBABILITIES, true=1, predicted=2).tolist() == [3, 4]
    assert mistakes.select(LABELS, PROBABILITIES, true=0).tolist() == [1, 2]
    assert mistakes.select(LABELS, PROBABILITIES, predicted=2).tolist() == [1, 3, 4]
    # The diagonal holds no mistakes; asking for its images needs wrong_only=False.
    assert mistakes.select(LABELS, PROBABILITIES, true=1, predicted=1).tolist() == []
    assert mistakes.select(LABELS, PROBABILITIES, true=1, predicted=1, wrong_only=False).tolist() == [5]
    assert mistakes.select(LABELS, PROBABILITIES, wrong_only=False).tolist() == [1, 5, 3, 2, 4, 0]


def test_select_refuses_probabilities_that_do_not_match_the_labels():
    with pytest.raises(ValueError, match=r"Expected probabilities of shape \(6, classes\)"):
        mistakes.select(LABELS, PROBABILITIES[:5])


@pytest.fixture(scope="module")
def noise():
    """A made-up 28 x 28 dataset of noise: an untrained CNN gets most of it wrong."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 28, 28, 1), dtype=np.uint8)
    labels = np.arange(40) % 10
    return datasets.Dataset("noise", images, labels, images, labels, datasets.MNIST_CLASSES, "made up")


@pytest.fixture(scope="module")
def cnn():
    return architectures.build("cnn", (28, 28, 1), 10, seed=0)


def test_find_explains_the_most_confident_mistakes_with_the_models_own_numbers(noise, cnn):
    cases = mistakes.find(cnn, noise, limit=5)
    probabilities = np.asarray(cnn(noise.x_test.astype(np.float32)), dtype=np.float64)
    expected = mistakes.select(noise.y_test, probabilities, limit=5)
    assert [case.index for case in cases] == expected.tolist() and len(cases) == 5
    for case in cases:
        row = probabilities[case.index]
        assert case.predicted == int(row.argmax()) != case.true == int(noise.y_test[case.index])
        assert (case.true_label, case.predicted_label) == (str(case.true), str(case.predicted))
        assert case.confidence == pytest.approx(row.max(), abs=1e-5)
        assert [label for label, _ in case.top] == [str(i) for i in np.argsort(-row, kind="stable")[:3]]
        np.testing.assert_array_equal(case.image, noise.x_test[case.index])
        assert case.explainer == "Grad-CAM" and case.heatmap.shape == (28, 28)
        np.testing.assert_allclose(
            case.heatmap, explain.explain(cnn, case.image.astype(np.float32), "gradcam", case.predicted), atol=1e-6)
    confidences = [case.confidence for case in cases]
    assert confidences == sorted(confidences, reverse=True)


def test_find_serves_a_confusion_cell_with_another_technique(noise, cnn):
    first = mistakes.find(cnn, noise, limit=1)[0]
    cell = mistakes.find(cnn, noise, true=first.true, predicted=first.predicted, method="saliency", top=2)
    assert cell and all((case.true, case.predicted) == (first.true, first.predicted) for case in cell)
    assert all(case.explainer == "Saliency" and len(case.top) == 2 for case in cell)
    with pytest.raises(ValueError, match="Unknown explainer 'lime'"):
        mistakes.find(cnn, noise, method="lime")


def test_a_model_without_feature_maps_is_explained_by_its_gradients():
    model = architectures.build("mlp", (8, 8, 1), 10, seed=0)
    cases = mistakes.find(model, datasets.load("digits"), limit=2)
    assert len(cases) == 2 and all(case.explainer == "Saliency" for case in cases)
    assert all(case.heatmap.shape == (8, 8) and 0 <= case.heatmap.min() <= case.heatmap.max() <= 1 for case in cases)
    assert mistakes.explain_cases(model, np.zeros((1, 8, 8, 1)), np.zeros(1), [], datasets.MNIST_CLASSES) == []
