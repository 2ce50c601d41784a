"""Tests for imgrec.trust: each metric on a case where the right answer is known, so a wrong metric fails."""

import doctest

import keras
import numpy as np
import pytest

from imgrec import architectures, explain, registry, trust
from imgrec.datasets import shapes
from imgrec.explain import baselines
from imgrec.trust import curves, localisation, randomization, verdict

# The one pixel that decides the one-pixel model's class 1, and its weight and bias: the
# class-1 logit is 0.1 * x - 20, about +5.5 when the pixel is white (p = 0.996) and -7 when
# it is painted with a mid-grey mean (p < 0.001).
PIXEL = (17, 9)


def one_pixel_model():
    """A 28 x 28 classifier whose class 1 depends on one pixel only, and nothing else."""
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs, name="one_pixel")
    kernel = np.zeros((28, 28, 2), np.float32)
    kernel[PIXEL[0], PIXEL[1], 1] = 0.1
    model.get_layer("predictions").set_weights([kernel.reshape(784, 2), np.array([0.0, -20.0], np.float32)])
    return model


def one_pixel_image():
    image = np.random.default_rng(0).uniform(0, 255, (28, 28, 1)).astype(np.float32)
    image[PIXEL] = 255.0
    return image


@pytest.fixture(scope="module")
def mnist_cnn():
    import os

    # The real models/ folder, whatever a session fixture of the app tests pointed it at.
    saved = os.environ.pop("IMGREC_MODELS_DIR", None)
    try:
        return registry.load("mnist-cnn")
    finally:
        if saved is not None:
            os.environ["IMGREC_MODELS_DIR"] = saved


def mnist_digit(classifier, index=0):
    from imgrec import datasets

    data = datasets.load("mnist-5k")
    return data.x_test[index].astype(np.float32), int(data.y_test[index])


# ---------------------------------------------------------------------------------------
# Deletion and insertion curves.
# ---------------------------------------------------------------------------------------


def test_the_true_map_of_a_one_pixel_model_drops_at_the_first_step_and_a_random_map_does_not():
    model, image = one_pixel_model(), one_pixel_image()
    true_map = explain.explain(model, image, "saliency", 1)
    assert np.unravel_index(np.argmax(true_map), true_map.shape) == PIXEL
    [(deletion, insertion), (random_deletion, random_insertion)] = curves.deletion_insertion_curves(
        model, image, [true_map, curves.random_heatmap((28, 28), seed=0)], 1)
    assert deletion.probabilities[0] > 0.99 and deletion.fractions[1] == pytest.approx(1 / 20)
    # The first step removes the cells ranked highest, the pixel's among them: the score falls.
    assert deletion.probabilities[1] < 0.01
    # A random ranking leaves the pixel for later (its cell is not among the first two of 49).
    assert random_deletion.probabilities[1] > 0.99
    # Insertion is the mirror image: the pixel comes back first and the score jumps.
    assert insertion.probabilities[0] < 0.01 and insertion.probabilities[1] > 0.99
    assert random_insertion.probabilities[1] < 0.01
    # The areas: one step of twenty against wherever random maps happen to find the pixel (the
    # mean of four random maps: 0.22 for deletion, 0.78 for insertion).
    reference_deletion, reference_insertion = curves.random_reference(model, image, 1)
    assert deletion.auc < 0.03 < 0.15 < reference_deletion.auc
    assert insertion.auc > 0.97 > 0.85 > reference_insertion.auc


def test_curves_start_and_end_on_the_image_and_the_canvas():
    model, image = one_pixel_model(), one_pixel_image()
    from imgrec import inference

    for canvas in curves.CANVASES:
        painted = baselines.reference(image, canvas)
        whole, blank = inference.predict_probabilities(model, np.stack([image, painted]))[:, 1]
        [(deletion, insertion)] = curves.deletion_insertion_curves(model, image, [np.ones((28, 28))], 1,
                                                                   steps=5, canvas=canvas)
        assert len(deletion.probabilities) == len(insertion.probabilities) == 6
        np.testing.assert_allclose([deletion.probabilities[0], deletion.probabilities[-1]], [whole, blank], rtol=1e-6)
        np.testing.assert_allclose([insertion.probabilities[0], insertion.probabilities[-1]], [blank, whole],
                                   rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown canvas 'noise'"):
        curves.deletion_insertion_curves(model, image, [np.ones((28, 28))], 1, canvas="noise")
    with pytest.raises(ValueError, match="steps must be a whole number from 2 to 100"):
        curves.deletion_insertion_curves(model, image, [np.ones((28, 28))], 1, steps=1)
    with pytest.raises(ValueError, match="must have the image's shape"):
        curves.deletion_insertion_curves(model, image, [np.ones((14, 14))], 1)


def test_step_masks_take_the_ranked_cells_in_order():
    # A 4 x 4 image in cells of 2: four cells, ranked bottom-right, top-left, top-right, bottom-left.
    heatmap = np.array([[3, 3, 2, 2], [3, 3, 2, 2], [1, 1, 4, 4], [1, 1, 4, 4]], np.float64)
    order = curves.cell_order(heatmap, 2)
    assert order.tolist() == [3, 0, 1, 2]
    masks = curves.step_masks(order, (2, 2), 2, (4, 4), steps=4)
    assert masks.shape == (5, 4, 4)
    assert [int(mask.sum()) for mask in masks] == [0, 4, 8, 12, 16]
    assert masks[1][2:, 2:].all() and masks[2][:2, :2].all() and not masks[2][:2, 2:].any()


def test_cell_order_breaks_ties_at_random_not_from_the_top_left():
    flat = np.zeros((28, 28))
    first = curves.cell_order(flat, 4, seed=0)
    assert sorted(first.tolist()) == list(range(49)) and first[:5].tolist() != [0, 1, 2, 3, 4]
    assert first.tolist() == curves.cell_order(flat, 4, seed=0).tolist()
    assert curves.cell_side(28, 28) == 4 and curves.cell_side(224, 224) == 32 and curves.cell_side(64, 64) == 10


def test_curve_area_is_the_trapezoid_rule():
    curve = curves.Curve("deletion", np.linspace(0, 1, 5), np.array([1.0, 0.5, 0.5, 0.0, 0.0]))
    # (1 + 0.5) / 2 + (0.5 + 0.5) / 2 + (0.5 + 0) / 2 + 0, times a width of 1/4.
    assert curve.auc == pytest.approx((0.75 + 0.5 + 0.25) / 4)
    assert curve.to_dict()["auc"] == curve.auc


def test_random_reference_averages_several_random_maps():
    model, image = one_pixel_model(), one_pixel_image()
    deletion, insertion = curves.random_reference(model, image, 1, maps=3, steps=6)
    pairs = curves.deletion_insertion_curves(model, image, [curves.random_heatmap((28, 28), seed) for seed in range(3)],
                                             1, steps=6)
    np.testing.assert_allclose(deletion.probabilities, np.mean([pair[0].probabilities for pair in pairs], axis=0))
    np.testing.assert_allclose(insertion.probabilities, np.mean([pair[1].probabilities for pair in pairs], axis=0))


# ---------------------------------------------------------------------------------------
# The randomisation check.
# ---------------------------------------------------------------------------------------


def test_spearman_by_hand_and_against_scipy():
    # Ranks of b with a tie: [1, 2, 3.5, 5, 3.5]; against 1..5 the covariance of the ranks is 8,
    # their variances 10 and 9.5, so rho = 8 / sqrt(95).
    assert trust.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / np.sqrt(95))
    assert trust.spearman(np.eye(3), np.eye(3)) == pytest.approx(1.0)
    assert trust.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert trust.spearman(np.zeros(5), np.arange(5)) == 0.0  # A constant map ranks nothing.
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    first, second = rng.random((7, 7)), rng.random((7, 7))
    assert trust.spearman(first, second) == pytest.approx(stats.spearmanr(first.ravel(), second.ravel()).statistic)
    with pytest.raises(ValueError, match="cannot be compared"):
        trust.spearman(np.zeros(4), np.zeros(5))


@pytest.mark.parametrize(
    "architecture, expected",
    [
        ("cnn-deep", ["predictions", "dense", "conv3", "conv2", "conv1"]),
        ("cnn", ["predictions", "conv2", "conv1"]),
        ("crnn", ["predictions", "recurrent", "conv2", "conv1"]),
    ],
)
def test_layer_groups_run_from_the_output_down_with_their_normalisation(architecture, expected):
    model = architectures.build(architecture, (28, 28, 1), 10, recurrent_units=8)
    groups = trust.layer_groups(model)
    assert [group.name for group in groups] == expected
    if architecture == "cnn-deep":
        assert groups[2].layer_names == ("conv3", "bn3")


def test_efficientnet_groups_are_its_stages():
    from imgrec import pretrained

    groups = trust.layer_groups(pretrained.build_efficientnet_lite0())
    assert [group.name for group in groups] == ["predictions", "head_conv", *(f"block{n}" for n in range(7, 0, -1)),
                                                "stem_conv"]
    assert len(trust.layer_groups(pretrained.build_efficientnet_lite0(), max_groups=4)) == 4


def test_the_cascade_scrambles_one_more_group_each_step_and_never_the_model():
    model = architectures.build("cnn-deep", (28, 28, 1), 10, seed=0)
    before = [np.array(weight) for weight in model.get_weights()]
    names = [group.name for group in trust.layer_groups(model)]
    changed = []

    def record(variant):
        # Which layers differ from the trained model at this step.
        changed.append([name for name in ("predictions", "dense", "conv3", "conv2", "conv1") if any(
            not np.array_equal(np.asarray(a), np.asarray(b))
            for a, b in zip(variant.get_layer(name).weights, model.get_layer(name).weights, strict=True))])
        return np.zeros((28, 28), np.float32)

    steps = trust.cascade(model, record, np.zeros((28, 28)))
    assert [step.layer for step in steps] == names
    assert changed == [names[: count] for count in range(1, len(names) + 1)]
    for weight, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weight, original)
    # The clone is cached per model and its weights are put back after every check.
    scratch = randomization._SCRATCH[model][0]
    trust.cascade(model, lambda variant: np.zeros((28, 28), np.float32), np.zeros((28, 28)))
    assert randomization._SCRATCH[model][0] is scratch
    for weight, original in zip(scratch.clone.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weight, original)


def test_randomising_every_layer_decorrelates_gradcam_on_a_trained_model(mnist_cnn):
    image, label = mnist_digit(mnist_cnn)
    model = mnist_cnn.model
    original = explain.explain(model, image, "gradcam", label)
    steps = trust.cascade(model, lambda variant: explain.explain(variant, image, "gradcam", label), original)
    assert [step.layer for step in steps] == ["predictions", "dense", "conv3", "conv2", "conv1"]
    assert abs(steps[-1].spearman) < 0.5
    assert all(step.heatmap.shape == (28, 28) for step in steps)


def _edges(image):
    """A Sobel edge map of the image: a map that ignores the model entirely."""
    from scipy import ndimage

    grey = np.asarray(image, np.float64)[..., 0]
    return np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))


def test_a_map_that_ignores_the_model_stays_correlated(mnist_cnn):
    image, _ = mnist_digit(mnist_cnn)
    original = _edges(image)
    steps = trust.cascade(mnist_cnn.model, lambda variant: _edges(image), original)
    assert [step.spearman for step in steps] == pytest.approx([1.0] * len(steps))
    level, sentence = verdict.judge(0.99, 0.2, 0.8, 0.5, 0.5, steps[-1].spearman)
    assert level == "partly" and "scrambled" in sentence and sentence.startswith("Partly trustworthy")


# ---------------------------------------------------------------------------------------
# The verdict and the whole check.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "probability, areas, final, level, start",
    [
        (0.9, (0.1, 0.8, 0.5, 0.5), 0.1, "trustworthy", "Trustworthy on both checks"),
        (0.9, (0.1, 0.8, 0.5, 0.5), -0.9, "partly", "Partly trustworthy"),  # The size counts, not the sign.
        (0.9, (0.5, 0.5, 0.5, 0.5), 0.1, "doubtful", "Doubtful"),
        (0.9, (0.47, 0.53, 0.5, 0.5), 0.1, "doubtful", "Doubtful"),  # An advantage of 0.03 could be luck.
        (0.9, (0.6, 0.4, 0.5, 0.5), 0.9, "untrustworthy", "Not trustworthy here"),
        (0.03, (0.1, 0.8, 0.5, 0.5), 0.1, "unclear", "Hard to judge"),
        (0.9, (0.1, 0.8, 0.5, 0.5), None, "trustworthy", "Trustworthy on both checks"),
    ],
)
def test_verdict_is_one_sentence_for_each_case(probability, areas, final, level, start):
    judged, sentence = verdict.judge(probability, *areas, final)
    assert judged == level and judged in verdict.LEVELS and sentence.startswith(start)
    assert sentence.endswith(".") and sentence.count(". ") == 0


def test_check_reports_everything_the_cli_prints(mnist_cnn):
    image, label = mnist_digit(mnist_cnn, index=3)
    report = trust.check(mnist_cnn.model, image, "gradcam", label)
    values = report.to_dict()
    assert list(values) == ["method", "class_index", "probability", "deletion_auc", "insertion_auc",
                            "random_deletion_auc", "random_insertion_auc", "randomization", "verdict"]
    assert [row["layer"] for row in values["randomization"]] == ["predictions", "dense", "conv3", "conv2", "conv1"]
    assert values["probability"] > 0.9 and 0.0 <= values["deletion_auc"] <= 1.0
    # On a confident digit Grad-CAM beats the random maps on both curves, and scrambling ends it.
    assert values["deletion_auc"] < values["random_deletion_auc"]
    assert values["insertion_auc"] > values["random_insertion_auc"]
    assert report.verdict.startswith("Trustworthy") and report.level == "trustworthy"
    detailed = report.to_dict(with_maps=True)
    assert len(detailed["curves"]) == 4 and np.asarray(detailed["randomization"][0]["heatmap"]).shape == (28, 28)
    # The map passed in is the map checked, and without randomisation there is no row of maps.
    quick = trust.check(mnist_cnn.model, image, "gradcam", label, heatmap=report.heatmap, randomize=False)
    assert quick.randomization == () and quick.deletion.auc == pytest.approx(report.deletion.auc)
    # A reference passed in (the random maps do not depend on the explainer) is the one used.
    flat = curves.Curve("deletion", np.linspace(0, 1, 3), np.full(3, 0.5))
    reused = trust.check(mnist_cnn.model, image, "saliency", label, reference=(flat, flat), randomize=False)
    assert reused.random_deletion is flat and reused.random_insertion.auc == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------
# Localisation against ground-truth masks.
# ---------------------------------------------------------------------------------------


def test_pointing_game_and_relevance_mass_by_hand():
    mask = np.zeros((4, 4))
    mask[:2, :2] = 1.0
    mask[2, 0] = 0.4  # An edge pixel less than half covered is not the object's.
    heatmap = np.zeros((4, 4))
    heatmap[0, 1], heatmap[3, 3] = 1.0, 0.5
    assert localisation.pointing_game(heatmap, mask)
    assert localisation.relevance_mass(heatmap, mask) == pytest.approx(1.0 / 1.5)
    heatmap[2, 0] = 2.0
    assert not localisation.pointing_game(heatmap, mask)
    # Ties at the peak: a hit when at least half of them lie on the object.
    assert localisation.pointing_game(np.ones((4, 4)) * mask.round(), mask)
    assert not localisation.pointing_game(np.ones((4, 4)), mask)
    assert not localisation.pointing_game(np.zeros((4, 4)), mask)  # An empty map points nowhere.
    assert localisation.relevance_mass(np.zeros((4, 4)), mask) == 0.0


def test_localisation_scores_an_oracle_a_liar_and_noise():
    _, _, masks = shapes.generate(12, seed=7)
    oracle = localisation.scores([(mask >= 0.5).astype(float) for mask in masks], masks)
    assert oracle == {"n": 12, "pointing_game": 1.0, "relevance_mass": 1.0}
    liar = localisation.scores([1.0 - mask for mask in masks], masks)
    assert liar["pointing_game"] == 0.0 and liar["relevance_mass"] < 0.05
    noise = localisation.scores([np.random.default_rng(index).random((64, 64)) for index in range(12)], masks)
    # Noise lands on the object about as often as the object covers the image.
    share = float(np.mean([(mask >= 0.5).mean() for mask in masks]))
    assert noise["relevance_mass"] == pytest.approx(share, abs=0.03)


def test_docstring_examples_run():
    results = doctest.testmod(curves, extraglobs={"np": np})
    assert results.attempted > 0 and results.failed == 0
