"""Registry: names, paths, integrity, the allow-list, parameter caps, atomic save, protection."""

import dataclasses
import io
import json
import os
import zipfile

import keras
import numpy as np
import pytest

from imgrec import architectures, registry


def _rewrite_archive(path, config_edit=None, extra_member=None, drop_member=None):
    """Rewrites a .keras archive with an edited config.json, returning the new bytes."""
    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename == drop_member:
                continue
            data = source.read(info.filename)
            if info.filename == "config.json" and config_edit is not None:
                config = json.loads(data)
                config_edit(config)
                data = json.dumps(config).encode()
            target.writestr(info.filename, data)
        if extra_member:
            target.writestr(extra_member, b"#!/bin/sh\n")
    return buffer.getvalue()


def _install(fresh_registry, name, data, template="tiny-cnn"):
    """Puts raw archive bytes into the registry under `name` with a matching card and hash."""
    card = json.loads((fresh_registry / f"{template}.json").read_text())
    card.update({"name": name, "sha256": registry.sha256_bytes(data), "protected": False})
    (fresh_registry / f"{name}.keras").write_bytes(data)
    (fresh_registry / f"{name}.json").write_text(json.dumps(card))


@pytest.mark.parametrize(
    "name", ["../x", "/etc/passwd", "http://example.com/m", "hf://org/model", "x.h5", "a\x00b", "", "Model",
             "-x", "a" * 65, "a b", "..", "x/y", None, 3]
)
def test_bad_names_are_refused_before_any_file_access(fresh_registry, name):
    with pytest.raises(registry.RegistryError, match="Invalid model name"):
        registry.load(name)


def test_load_predicts_like_the_saved_model(fresh_registry):
    classifier = registry.load("tiny-cnn")
    assert classifier.input_shape == (28, 28, 1) and len(classifier.class_names) == 10
    digits = np.random.default_rng(0).uniform(0, 255, size=(3, 28, 28, 1)).astype("float32")
    probabilities = classifier.predict_inputs(digits)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    top = classifier.rank(probabilities[0], 3)
    assert [p.probability for p in top] == sorted((p.probability for p in top), reverse=True)
    card = registry.card("tiny-cnn")
    assert isinstance(card, registry.ModelCard) and classifier.card == card
    assert card.architecture == "cnn" and card.dataset == "mnist" and card.input.shape == (28, 28, 1)
    assert card.preprocessing.kind == "mnist-digit" and card.class_names == classifier.class_names
    assert card.training.config["architecture"] == "cnn" and card.metrics.split == "test"
    assert card.keras_version == keras.__version__ and card.created and card.parameters > 0 and card.file_size > 0


def test_unknown_model_is_a_clear_error(fresh_registry):
    with pytest.raises(registry.ModelNotFound, match="no model named 'nope'"):
        registry.load("nope")


def test_model_file_returns_the_stored_bytes_with_their_card(fresh_registry):
    card, data = registry.model_file("tiny-cnn")
    assert data == (fresh_registry / "tiny-cnn.keras").read_bytes() and card.sha256 == registry.sha256_bytes(data)


def test_tampered_file_fails_the_hash_check(fresh_registry):
    path = fresh_registry / "tiny-cnn.keras"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(registry.UnsafeModelError, match="sha256"):
        registry.load("tiny-cnn")
    with pytest.raises(registry.UnsafeModelError, match="sha256"):
        registry.model_file("tiny-cnn")


def test_lambda_layer_is_refused_before_keras_runs_it(fresh_registry, tmp_path):
    marker = tmp_path / "marker"
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Lambda(lambda x: x * 2, name="lambda")(inputs)
    outputs = keras.layers.Flatten()(outputs)
    outputs = keras.layers.Dense(10, activation="softmax")(outputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)

    def plant_code(config):
        # The serialised Lambda names a function; a hostile file would make it write the marker.
        config["config"]["layers"][1]["config"]["function"] = {
            "class_name": "__lambda__", "config": {"code": f"open({str(marker)!r}, 'w')"}}

    _install(fresh_registry, "evil-lambda", _rewrite_archive(path, plant_code))
    with pytest.raises(registry.UnsafeModelError, match="Lambda"):
        registry.load("evil-lambda")
    assert not marker.exists()
    assert registry.load("tiny-cnn").name == "tiny-cnn"


def test_lambda_nested_in_a_sub_model_is_refused(fresh_registry, tmp_path):
    inner_in = keras.Input((28, 28, 1))
    inner = keras.Model(inner_in, keras.layers.Lambda(lambda x: x + 1)(inner_in), name="inner")
    outer_in = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inner(outer_in)))
    path = tmp_path / "nested.keras"
    keras.Model(outer_in, outputs).save(path)
    _install(fresh_registry, "nested-lambda", path.read_bytes())
    with pytest.raises(registry.UnsafeModelError, match="Lambda"):
        registry.load("nested-lambda")


@pytest.mark.parametrize(
    "target", [("os", "system"), ("builtins", "eval"), ("keras.config", "enable_unsafe_deserialization"),
               ("keras.models", "load_model"), ("keras.utils", "get_file")]
)
def test_config_naming_a_callable_is_refused(fresh_registry, target):
    module, function = target

    def name_callable(config):
        config["config"]["layers"][1]["module"] = module
        config["config"]["layers"][1]["class_name"] = function

    _install(fresh_registry, "evil-callable", _rewrite_archive(fresh_registry / "tiny-cnn.keras", name_callable))
    with pytest.raises(registry.UnsafeModelError, match="allow-list"):
        registry.load("evil-callable")
    from keras.src.saving import serialization_lib

    assert serialization_lib.in_safe_mode() is not False


def test_memory_bomb_is_refused_from_its_config(fresh_registry):
    def inflate(config):
        dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
        dense["config"]["units"] = 60000
        dense["build_config"] = {"input_shape": [None, 60000]}

    _install(fresh_registry, "bomb", _rewrite_archive(fresh_registry / "tiny-cnn.keras", inflate))
    with pytest.raises(registry.UnsafeModelError, match="parameters"):
        registry.load("bomb")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: b"", "empty"),
        (lambda path: b"not a zip at all", "not a valid zip"),
        (lambda path: path.read_bytes()[:2000], "not a valid zip"),
        (lambda path: _rewrite_archive(path, extra_member="run.sh"), "unexpected member"),
        (lambda path: _rewrite_archive(path, drop_member="model.weights.h5"), "missing"),
    ],
)
def test_broken_archives_are_refused(fresh_registry, make, message):
    _install(fresh_registry, "broken", make(fresh_registry / "tiny-cnn.keras"))
    with pytest.raises(registry.UnsafeModelError, match=message):
        registry.load("broken")


def test_weights_of_the_wrong_shape_are_refused(fresh_registry, tmp_path):
    other = architectures.build("cnn", (28, 28, 1), 10)
    other.get_layer("conv1")  # Same layer names, different filter count below.
    bigger = architectures.build("mlp", (28, 28, 1), 10)
    path = tmp_path / "mlp.keras"
    bigger.save(path)
    weights = zipfile.ZipFile(path).read("model.weights.h5")
    source = zipfile.ZipFile(fresh_registry / "tiny-cnn.keras")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, weights if info.filename == "model.weights.h5" else source.read(info))
    _install(fresh_registry, "mismatch", buffer.getvalue())
    with pytest.raises(registry.UnsafeModelError, match="could not be loaded"):
        registry.load("mismatch")


def test_symlink_out_of_the_folder_is_refused(fresh_registry, tmp_path):
    outside = tmp_path / "outside.keras"
    outside.write_bytes((fresh_registry / "tiny-cnn.keras").read_bytes())
    card = json.loads((fresh_registry / "tiny-cnn.json").read_text())
    card["name"] = "linked"
    (fresh_registry / "linked.json").write_text(json.dumps(card))
    os.symlink(outside, fresh_registry / "linked.keras")
    with pytest.raises(registry.UnsafeModelError, match="link"):
        registry.load("linked")


def test_save_is_atomic_and_refuses_duplicates_and_non_finite(fresh_registry):
    model = architectures.build("mlp", (28, 28, 1), 10)
    card = dataclasses.replace(registry.card("tiny-cnn"), sha256=None, protected=False)
    saved = registry.save(model, "fresh", card)
    assert saved.sha256 == registry.sha256_bytes((fresh_registry / "fresh.keras").read_bytes())
    assert saved == registry.card("fresh") and saved.name == "fresh" and saved.parameters == model.count_params()
    assert not list(fresh_registry.glob(".*.tmp"))
    with pytest.raises(registry.RegistryError, match="already exists"):
        registry.save(model, "fresh", card)
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    with pytest.raises(registry.RegistryError, match="non-finite"):
        registry.save(model, "nan-model", card)
    assert not (fresh_registry / "nan-model.json").exists()


def test_protected_models_cannot_be_deleted_or_replaced(fresh_registry):
    model = architectures.build("mlp", (28, 28, 1), 10)
    card = dataclasses.replace(registry.card("tiny-cnn"), sha256=None, protected=False)
    registry.save(model, "shipped", card, protected=True)
    with pytest.raises(registry.RegistryError, match="shipped model"):
        registry.delete("shipped")
    with pytest.raises(registry.RegistryError, match="shipped model"):
        registry.save(model, "shipped", card, overwrite=True)
    registry.save(model, "mine", card)
    assert registry.is_protected("shipped") and registry.is_protected(registry.card("shipped"))
    assert not registry.is_protected("mine") and not registry.is_protected(registry.card("mine"))
    registry.delete("mine")
    assert "mine" not in [c.name for c in registry.list_models()]


def test_the_built_imagenet_model_counts_as_protected_before_it_is_built(fresh_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGREC_CACHE_DIR", str(tmp_path / "empty-cache"))
    unbuilt = registry.card("imagenet-efficientnet-lite0")
    assert unbuilt.built is False and unbuilt.protected is False and unbuilt.sha256 is None
    assert registry.is_protected(unbuilt) and registry.is_protected("imagenet-efficientnet-lite0")
    with pytest.raises(registry.ModelNotFound):
        registry.is_protected("nope")
    with pytest.raises(ValueError, match="card or a model name"):
        registry.is_protected(None)


def test_leftover_temporary_files_are_cleaned(fresh_registry):
    (fresh_registry / ".tiny-cnn.abc.keras.tmp").write_bytes(b"half a model")
    assert registry.clean_temporary_files() == 1
    assert not list(fresh_registry.glob(".*.tmp"))
    # The next save cleans what a killed one left, whatever its name.
    (fresh_registry / ".other.abc.json.tmp").write_bytes(b"half a card")
    card = dataclasses.replace(registry.card("tiny-cnn"), sha256=None)
    registry.save(architectures.build("mlp", (28, 28, 1), 10), "next", card)
    assert not list(fresh_registry.glob(".*.tmp")) and registry.load("next").name == "next"


def test_list_models_includes_the_imagenet_model(fresh_registry):
    names = [card.name for card in registry.list_models()]
    assert "tiny-cnn" in names and "imagenet-efficientnet-lite0" in names


def test_an_autoencoder_is_saved_and_loaded_with_a_card_that_says_what_it_does(fresh_registry):
    from tests.support.registries import tiny_autoencoder_card

    model = architectures.build_autoencoder((28, 28, 1), latent_dim=2, seed=0)
    saved = registry.save(model, "ae", tiny_autoencoder_card())
    assert saved.task == "reconstruction" and saved.class_names == () and saved.reconstruction_mse == 0.05
    loaded = registry.load("ae")
    assert not loaded.is_classifier and loaded.model.output_shape == (None, 28, 28, 1)
    assert [card.name for card in registry.list_models() if not card.is_classifier] == ["ae"]
    # A classifier's card cannot pass for an autoencoder's, nor the other way round.
    with pytest.raises(registry.RegistryError, match="has 1 outputs but its card names 10 classes"):
        registry.save(model, "ae-as-classifier", registry.card("tiny-cnn"))
    with pytest.raises(registry.RegistryError, match=r"returns \(10,\), not the image its card says it reconstructs"):
        registry.save(architectures.build("cnn", (28, 28, 1), 10), "classifier-as-ae", tiny_autoencoder_card())
