"""Hostile model files: code, bombs, malformed archives and cards, bad names; refused in one sentence.

Extends tests/test_registry.py (which covers hand-planted Lambda code, callables named in a
config, the plain Dense bomb, broken archives, wrong weights, symlinks). Every case here ends
with the registry still healthy: Keras is not in unsafe-deserialisation mode and a good
model still loads and predicts.
"""

import contextlib
import io
import json
import re
import resource
import time
import warnings
import zipfile

import keras
import numpy as np
import pytest
from keras.src.saving import serialization_lib
from PIL import Image

from imgrec import __main__ as cli
from imgrec import architectures, datasets, registry

# A lambda in the hostile models appends to the file this variable names, whenever it is called.
MARKER_VARIABLE = "IMGREC_HOSTILE_MARKER"
MEMORY_GROWTH_LIMIT_KB = 200 * 1024  # ru_maxrss is in KiB on Linux.


def good_card(name="good", shape=(28, 28, 1)):
    return {
        "name": name,
        "title": "A small untrained CNN",
        "architecture": "cnn",
        "dataset": "mnist",
        "input": {"shape": list(shape), "dtype": "float32", "range": [0, 255], "color_mode": "grayscale"},
        "preprocessing": registry.preprocessing_for_dataset("mnist").to_json(),
        "class_names": list(datasets.MNIST_CLASSES),
        "metrics": {"split": "test", "dataset": "mnist", "n": 10, "test_accuracy": 0.1},
    }


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory):
    """A registry folder holding `good`: an untrained CNN (built and saved in about a second)."""
    folder = tmp_path_factory.mktemp("hostile-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_MODELS_DIR", str(folder))
        registry.save(architectures.build("cnn", (28, 28, 1), 10, seed=0), "good",
                      registry.ModelCard.from_json(good_card()))
    return folder


@pytest.fixture(autouse=True)
def models(template_dir, tmp_path, monkeypatch):
    """A fresh registry folder per test; afterwards the registry must still be healthy."""
    folder = tmp_path / "models"
    folder.mkdir()
    for path in template_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(folder))
    monkeypatch.delenv(MARKER_VARIABLE, raising=False)
    yield folder
    assert_registry_healthy()
    assert not (tmp_path / "marker").exists(), "a hostile model ran code"


def assert_registry_healthy():
    """Keras is still in safe mode and a good model still loads and predicts."""
    # None is Keras's default (safe); False would mean enable_unsafe_deserialization() ran.
    assert serialization_lib.in_safe_mode() is not False
    with pytest.raises(ValueError, match="[Ll]ambda"):
        keras.layers.Lambda.from_config({"function": {"class_name": "__lambda__", "config": {}}, "name": "probe"})
    classifier = registry.load("good")
    probabilities = classifier.predict_inputs(np.zeros((1, 28, 28, 1), np.float32))
    assert probabilities.shape == (1, 10)


def assert_one_sentence(message):
    assert "\n" not in message and "Traceback" not in message, message
    assert message.endswith(".") and len(message) < 320, message
    assert not re.search(r"\.\s+[A-Z]", message), f"more than one sentence: {message}"


@contextlib.contextmanager
def refused(match, *, before_keras=True):
    """Expects an UnsafeModelError (one sentence) and, by default, that Keras never deserialised anything."""
    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        if before_keras:
            patch.setattr(keras.saving, "load_model", spy)
        with pytest.raises(registry.UnsafeModelError, match=match) as caught:
            yield caught
    assert_one_sentence(str(caught.value))
    assert not calls, "Keras deserialised a file the registry should have refused first"


def install(folder, name, data, **card_changes):
    """Puts archive bytes in the registry under `name`, with a card whose sha256 matches."""
    card = {**good_card(name), "sha256": registry.sha256_bytes(data), **card_changes}
    (folder / f"{name}.keras").write_bytes(data)
    (folder / f"{name}.json").write_text(json.dumps(card))


def rewrite(data, config_edit=None, replace=None, compression=zipfile.ZIP_STORED):
    """Rebuilds an archive with an edited config.json or replaced members."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as target:
        for info in source.infolist():
            member = source.read(info.filename)
            if info.filename == "config.json" and config_edit is not None:
                config = json.loads(member)
                config_edit(config)
                member = json.dumps(config).encode()
            if replace and info.filename in replace:
                member = replace[info.filename]
            target.writestr(info.filename, member)
    return buffer.getvalue()


def good_bytes(models):
    return (models / "good.keras").read_bytes()


def layers_of(config, class_name):
    return [layer for layer in config["config"]["layers"] if layer["class_name"] == class_name]


def marker_lambda_model(tmp_path, monkeypatch, path):
    """Saves a real Keras model whose Lambda appends to $IMGREC_HOSTILE_MARKER whenever it runs.

    Proves the payload works (calling the model in this process writes a control marker), then
    arms it: from here on, the lambda running anywhere in this process writes `tmp_path/marker`.
    """
    inputs = keras.Input((28, 28, 1), name="image")
    touched = keras.layers.Lambda(
        lambda x: (open(__import__("os").environ.get("IMGREC_HOSTILE_MARKER", "/dev/null"), "a").close(), x)[1],
        name="payload",
    )(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(touched))
    model = keras.Model(inputs, outputs)
    control = tmp_path / "control-marker"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MARKER_VARIABLE, str(control))
        model(np.zeros((1, 28, 28, 1), np.float32))
    assert control.exists(), "the payload did not run when called: the test would prove nothing"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that HDF5 is a legacy format.
        model.save(path)
    monkeypatch.setenv(MARKER_VARIABLE, str(tmp_path / "marker"))
    return path.read_bytes()


def resident_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------------------
# Code in model files.


def test_hdf5_model_with_a_lambda_is_never_listed_or_loaded(models, tmp_path, monkeypatch):
    data = marker_lambda_model(tmp_path, monkeypatch, tmp_path / "evil.h5")
    assert data[:8] == b"\x89HDF\r\n\x1a\n"

    # Dropped in the folder under HDF5 names, with or without a card beside it.
    for file_name in ("x.h5", "evil.h5", "good.h5", "model.weights.h5"):
        (models / file_name).write_bytes(data)
    card = {**good_card("only-h5"), "sha256": registry.sha256_bytes(data), "file": "only-h5.h5"}
    (models / "only-h5.json").write_text(json.dumps(card))
    (models / "only-h5.h5").write_bytes(data)
    assert {card.name for card in registry.list_models()} <= {"good", "only-h5", *registry.BUILT_MODELS}
    for name in ("x.h5", "evil.h5", "model.weights.h5"):
        with pytest.raises(registry.RegistryError, match="Invalid model name") as caught:
            registry.load(name)
        assert_one_sentence(str(caught.value))
    # The card's "file" field is ignored: the model file is always NAME.keras.
    with pytest.raises(registry.ModelNotFound, match="missing"):
        registry.load("only-h5")
    assert_registry_healthy()

    # HDF5 bytes behind a .keras name and a correct card: not a zip, so never handed to Keras.
    install(models, "h5-inside", data)
    with refused("not a valid zip"):
        registry.load("h5-inside")


def test_a_real_keras_lambda_model_with_a_correct_card_is_refused(models, tmp_path, monkeypatch):
    path = tmp_path / "lambda.keras"
    install(models, "lambda-model", marker_lambda_model(tmp_path, monkeypatch, path))  # Saved by Keras; not edited.
    with refused("'keras.layers.Lambda'.*allow-list"):
        registry.load("lambda-model")
    assert not (tmp_path / "marker").exists()
    # Defence in depth: Keras's own safe mode refuses it too (and runs nothing).
    with pytest.raises(ValueError, match="[Ll]ambda"):
        keras.saving.load_model(path, compile=False, safe_mode=True)
    assert not (tmp_path / "marker").exists()


def test_a_vocabulary_file_outside_the_archive_is_refused_before_keras_reads_it(models):
    def read_passwd(config):
        flatten = layers_of(config, "Flatten")[0]
        flatten.update(class_name="StringLookup", module="keras.layers", registered_name=None)
        flatten["config"] = {"name": flatten["config"]["name"], "vocabulary": "/etc/passwd", "output_mode": "int"}

    install(models, "passwd", rewrite(good_bytes(models), read_passwd))
    with refused("'keras.layers.StringLookup'.*allow-list"):
        registry.load("passwd")


def test_a_foreign_registered_name_cannot_swap_in_another_class(models):
    # Keras resolves `registered_name` before module and class name: a Dense entry could become any
    # registered class, so the allow-list must check the name Keras will actually use.
    def swap(config):
        layers_of(config, "Dense")[0]["registered_name"] = "imgrec>ClassTokenSlice"

    install(models, "swapped", rewrite(good_bytes(models), swap))
    with refused("foreign registration"):
        registry.load("swapped")


# ---------------------------------------------------------------------------------------
# Memory bombs.


def test_the_60000_unit_dense_bomb_is_refused_from_its_config_fast_and_without_memory(models, tmp_path):
    inputs = keras.Input((4, 4, 1), name="image")
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(keras.layers.Flatten()(inputs))
    path = tmp_path / "small.keras"
    keras.Model(inputs, outputs).save(path)

    def inflate(config):
        dense = layers_of(config, "Dense")[0]
        dense["config"]["units"] = 60_000
        dense["build_config"] = {"input_shape": [None, 60_000]}  # 3.6e9 weights: about 14 GB of float32.

    data = rewrite(path.read_bytes(), inflate)
    assert len(data) < 20_000, len(data)
    install(models, "bomb", data, input={"shape": [4, 4, 1]})
    before, started = resident_kb(), time.perf_counter()
    with refused("3,600,060,000 parameters"):
        registry.load("bomb")
    assert time.perf_counter() - started < 1.0
    assert resident_kb() - before < MEMORY_GROWTH_LIMIT_KB


def test_a_conv2d_with_100000_filters_is_refused(models, tmp_path):
    # Few weights (2 M), but one 224 x 224 image would make 5e9 activations (20 GB).
    inputs = keras.Input((224, 224, 1), name="image")
    features = keras.layers.Conv2D(100_000, 3, name="wide")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled))
    path = tmp_path / "wide.keras"
    model.save(path)
    install(models, "wide-conv", path.read_bytes(), input={"shape": [224, 224, 1]})
    before = resident_kb()
    # Refused from the loaded graph's shapes (a config can lie about them); nothing is computed.
    with refused("in its layer 'wide' for one image", before_keras=False):
        registry.load("wide-conv")
    assert resident_kb() - before < MEMORY_GROWTH_LIMIT_KB

    def widen(config):  # The same idea hand-edited into the CNN: its next layer's weights give it away.
        conv1, conv2 = layers_of(config, "Conv2D")[:2]
        conv1["config"]["filters"] = 100_000
        conv2["build_config"]["input_shape"][-1] = 100_000

    install(models, "wide-edit", rewrite(good_bytes(models), widen))
    with refused("parameters"):
        registry.load("wide-edit")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(lambda c: layers_of(c, "InputLayer")[0]["config"].update(batch_shape=[None, 100_000, 100_000, 3]),
                     "input of 30,000,000,000 values per image", id="input-100000x100000x3"),
        pytest.param(lambda c: layers_of(c, "Dense")[0].update(build_config=None), "does not record the input shape",
                     id="dense-without-build-config"),
        pytest.param(lambda c: layers_of(c, "Dense")[0].update(build_config=[1]), "does not record the input shape",
                     id="build-config-not-a-dict"),
        pytest.param(lambda c: layers_of(c, "Conv2D")[0]["config"].update(
            activation={"module": "keras.activations", "class_name": "function", "config": [1]}),
            "activation", id="activation-not-a-name"),
    ],
)
def test_configs_that_hide_or_inflate_sizes_are_refused(models, edit, message):
    install(models, "sized", rewrite(good_bytes(models), edit))
    with refused(message):
        registry.load("sized")


def test_vit_layers_cannot_claim_huge_sequences_or_heads(models, tmp_path):
    vit = architectures.build("vit", (28, 28, 1), 10, seed=0, patch_size=7, vit_dim=16, vit_depth=1, vit_heads=2)
    path = tmp_path / "vit.keras"
    vit.save(path)

    def long_sequence(config):  # 50 M position embeddings of 16 values: 3.2 GB.
        layer = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "ClassTokenPositionEmbedding")
        layer["build_config"] = {"input_shape": [None, 50_000_000, 16]}

    def wide_heads(config):  # 16 heads of 100,000 dimensions over 16-value tokens: 1.6 GB of kernels.
        layer = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "MultiHeadAttention")
        layer["config"].update(num_heads=16, key_dim=100_000, value_dim=100_000)

    for name, edit in (("long-sequence", long_sequence), ("wide-heads", wide_heads)):
        install(models, name, rewrite(path.read_bytes(), edit), architecture="vit")
        with refused("parameters"):
            registry.load(name)


def test_a_zip_bomb_weights_member_is_refused_before_anything_reads_it(models):
    source = zipfile.ZipFile(io.BytesIO(good_bytes(models)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for member in ("metadata.json", "config.json"):
            target.writestr(member, source.read(member))
        with target.open("model.weights.h5", "w", force_zip64=True) as stream:
            chunk = bytes(2**20)
            for _ in range(200):  # 200 MiB of zeros in about 200 KB.
                stream.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 2_000_000
    install(models, "zip-bomb", data)
    before = resident_kb()
    with refused("would unpack to 210 MB.*decompression bomb"):
        registry.load("zip-bomb")
    assert resident_kb() - before < 100 * 1024

    # A bomb declaring 4 GB (sizes forged in both headers): refused from the numbers alone.
    forged = bytearray(rewrite(good_bytes(models)))
    archive = zipfile.ZipFile(io.BytesIO(bytes(forged)))
    weights = archive.getinfo("model.weights.h5")
    central = forged.rindex(b"PK\x01\x02", 0, len(forged))
    while forged[central + 46 : central + 46 + len(b"model.weights.h5")] != b"model.weights.h5":
        central = forged.rindex(b"PK\x01\x02", 0, central)
    forged[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # Uncompressed size: 4 GB.
    forged[weights.header_offset + 22 : weights.header_offset + 26] = (0xFFFFFFF0).to_bytes(4, "little")
    install(models, "forged-bomb", bytes(forged))
    with refused("decompression bomb"):
        registry.load("forged-bomb")


def test_a_config_depth_bomb_is_refused_with_a_sentence_not_a_recursion_error(models):
    depth_50_mb = b"[" * 25_000_000 + b"]" * 25_000_000
    deep_fits = b"[" * 900_000 + b"]" * 900_000  # Under the config size limit, 900,000 levels deep.
    huge_number = b'{"class_name": "Functional", "config": ' + b"9" * 5000 + b"}"
    for name, config, message in (("depth-50mb", depth_50_mb, "oversized config"),
                                  ("depth-1mb", deep_fits, "nested too deeply"),
                                  ("huge-number", huge_number, "unreadable config")):
        data = rewrite(good_bytes(models), replace={"config.json": config}, compression=zipfile.ZIP_DEFLATED)
        assert len(data) < 1_500_000
        install(models, name, data)
        with refused(message):
            registry.load(name)
        with pytest.raises(registry.UnsafeModelError, match=message):
            registry.inspect_archive(data, name)  # The same check, for bytes that never touch the folder.


def test_duplicate_member_names_are_refused(models, tmp_path, monkeypatch):
    lambda_path = tmp_path / "lambda.keras"
    marker_lambda_model(tmp_path, monkeypatch, lambda_path)
    source = zipfile.ZipFile(io.BytesIO(good_bytes(models)))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as target:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name.
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        # A second config.json: a reader taking the first sees a CNN, one taking the last a Lambda.
        target.writestr("config.json", zipfile.ZipFile(lambda_path).read("config.json"))
    install(models, "twice", buffer.getvalue())
    with refused("'config.json' appears twice"):
        registry.load("twice")


# ---------------------------------------------------------------------------------------
# Cards and names.


@pytest.mark.parametrize(
    ("card_text", "message"),
    [
        pytest.param(lambda card: b"{not json", "not valid JSON", id="not-json"),
        pytest.param(lambda card: b"\xff\xfe binary", "not valid JSON", id="binary"),
        pytest.param(lambda card: json.dumps({"name": "card-test"}).encode(), "lacks required fields", id="no-fields"),
        pytest.param(lambda card: json.dumps([card]).encode(), "lacks required fields", id="a-list"),
        pytest.param(lambda card: json.dumps({**card, "name": "good"}).encode(), "names another model", id="other-name"),
        pytest.param(lambda card: json.dumps({**card, "pad": "x" * 5_000_000}).encode(), "too large", id="5-mb"),
        pytest.param(lambda card: b"[" * 200_000 + b"]" * 200_000, "nested too deeply", id="depth-bomb"),
        pytest.param(lambda card: json.dumps({**card, "input": "28x28"}).encode(), "malformed", id="input-a-string"),
        pytest.param(lambda card: json.dumps({**card, "class_names": 10}).encode(), "malformed", id="classes-a-number"),
    ],
)
def test_bad_cards_are_refused_and_do_not_break_the_list(models, card_text, message):
    data = good_bytes(models)
    card = {**good_card("card-test"), "sha256": registry.sha256_bytes(data)}
    (models / "card-test.keras").write_bytes(data)
    (models / "card-test.json").write_bytes(card_text(card))
    with refused(message):
        registry.load("card-test")
    with refused(message):
        registry.card("card-test")
    assert [card.name for card in registry.list_models() if card.name in ("good", "card-test")] == ["good"]


@pytest.fixture
def digit_png(tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path)
    return path


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x", "Invalid model name"),
        ("/etc/passwd", "Invalid model name"),
        ("http://example.com/model.keras", "Invalid model name"),
        ("hf://org/model", "Invalid model name"),
        ("a\x00b", "Invalid model name"),
        ("x.h5", "Invalid model name"),
        ("h5-inside", "not a valid zip"),
        ("lambda-model", "allow-list"),
        ("deep-card", "nested too deeply"),
    ],
)
def test_cli_predict_refuses_with_exit_2_and_one_line(models, tmp_path, monkeypatch, digit_png, capsys, name,
                                                     message):
    install(models, "h5-inside", b"\x89HDF\r\n\x1a\n" + bytes(100))
    install(models, "lambda-model", marker_lambda_model(tmp_path, monkeypatch, tmp_path / "lambda.keras"))
    install(models, "deep-card", good_bytes(models))
    (models / "deep-card.json").write_bytes(b"{" + b'"a":{' * 100_000 + b"}" * 100_001)

    code = cli.main(["predict", "--model", name, str(digit_png)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
    assert_one_sentence(lines[0])
