"""Hostile model files, one list for every way a file reaches the registry, and the checks that it was refused.

Each `Case` builds the bytes of one hostile file (code, a memory or zip bomb, a malformed
archive) from a good archive, and says what its refusal must say. tests/test_hostile_models.py
plants each in the registry folder and loads it; tests/test_imports.py and
tests/app/test_import_page.py upload each through the import path (the library, the command
line and the Models page). The `hostile_files` fixture (tests/conftest.py) builds each once.

A Lambda in these files appends to the file that `$IMGREC_HOSTILE_MARKER` names whenever it
runs: a test arms it to a path of its own and checks that nothing wrote there.
"""

import contextlib
import dataclasses
import io
import json
import re
import resource
import warnings
import zipfile

import keras
import numpy as np
import pytest
from keras.src.saving import serialization_lib

from imgrec import architectures, datasets, registry

MARKER_VARIABLE = "IMGREC_HOSTILE_MARKER"
MEMORY_GROWTH_LIMIT_KB = 200 * 1024  # ru_maxrss is in KiB on Linux.


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile file: how to build it, and what refusing it must say."""

    name: str  # The test id, and the name it is planted or imported under.
    build: object  # A function (good archive bytes, scratch folder) -> the hostile file's bytes.
    message: str  # A regular expression the one-sentence refusal matches.
    before_keras: bool = True  # Refused before Keras deserialises anything (else by the loaded graph's shapes).
    card: dict = dataclasses.field(default_factory=dict)  # Card fields that differ from the good model's.
    memory_kb: int | None = None  # The most the process's peak memory may grow while refusing it.


def good_card(name="good", shape=(28, 28, 1)):
    """The card JSON of the good model (an untrained CNN on MNIST), under another name when asked."""
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


def save_good_model(folder):
    """Saves `good` (an untrained CNN, in about a second) in a registry folder; returns the folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_MODELS_DIR", str(folder))
        registry.save(architectures.build("cnn", (28, 28, 1), 10, seed=0), "good",
                      registry.ModelCard.from_json(good_card()))
    return folder


def install(folder, name, data, **card_changes):
    """Puts archive bytes in the registry folder under `name`, with a card whose sha256 matches."""
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


def layers_of(config, class_name):
    return [layer for layer in config["config"]["layers"] if layer["class_name"] == class_name]


def marker_lambda_model(path):
    """Saves a real Keras model whose Lambda appends to $IMGREC_HOSTILE_MARKER whenever it runs; returns its bytes.

    Proves the payload works first: calling the model here writes a control marker beside `path`.
    """
    control = path.parent / f"{path.name}.control-marker"
    # Building the graph and saving it run the payload too: only the control marker may see that.
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.setenv(MARKER_VARIABLE, str(control))
        inputs = keras.Input((28, 28, 1), name="image")
        touched = keras.layers.Lambda(
            lambda x: (open(__import__("os").environ.get("IMGREC_HOSTILE_MARKER", "/dev/null"), "a").close(), x)[1],
            name="payload",
        )(inputs)
        outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(touched))
        model = keras.Model(inputs, outputs)
        control.unlink(missing_ok=True)
        model(np.zeros((1, 28, 28, 1), np.float32))
        assert control.exists(), "the payload did not run when called: the test would prove nothing"
        warnings.simplefilter("ignore")  # Keras warns that HDF5 is a legacy format.
        model.save(path)
    return path.read_bytes()


def resident_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------------------
# The builders: (good archive bytes, scratch folder) -> hostile bytes.


def _passwd_vocabulary(good, folder):
    def read_passwd(config):
        flatten = layers_of(config, "Flatten")[0]
        flatten.update(class_name="StringLookup", module="keras.layers", registered_name=None)
        flatten["config"] = {"name": flatten["config"]["name"], "vocabulary": "/etc/passwd", "output_mode": "int"}

    return rewrite(good, read_passwd)


def _foreign_registration(good, folder):
    # Keras resolves `registered_name` before module and class name: a Dense entry could become any
    # registered class, so the allow-list must check the name Keras will actually use.
    def swap(config):
        layers_of(config, "Dense")[0]["registered_name"] = "imgrec>ClassTokenSlice"

    return rewrite(good, swap)


def _dense_bomb(good, folder):
    inputs = keras.Input((4, 4, 1), name="image")
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(keras.layers.Flatten()(inputs))
    path = folder / "small.keras"
    keras.Model(inputs, outputs).save(path)

    def inflate(config):
        dense = layers_of(config, "Dense")[0]
        dense["config"]["units"] = 60_000
        dense["build_config"] = {"input_shape": [None, 60_000]}  # 3.6e9 weights: about 14 GB of float32.

    data = rewrite(path.read_bytes(), inflate)
    assert len(data) < 20_000, len(data)
    return data


def _wide_conv(good, folder):
    # Few weights (2 M), but one 224 x 224 image would make 5e9 activations (20 GB).
    inputs = keras.Input((224, 224, 1), name="image")
    features = keras.layers.Conv2D(100_000, 3, name="wide")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    path = folder / "wide.keras"
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled)).save(path)
    return path.read_bytes()


def _wide_edit(good, folder):
    def widen(config):  # The wide convolution hand-edited into the CNN: its next layer's weights give it away.
        conv1, conv2 = layers_of(config, "Conv2D")[:2]
        conv1["config"]["filters"] = 100_000
        conv2["build_config"]["input_shape"][-1] = 100_000

    return rewrite(good, widen)


def _vit(folder):
    vit = architectures.build("vit", (28, 28, 1), 10, seed=0, patch_size=7, vit_dim=16, vit_depth=1, vit_heads=2)
    path = folder / "vit.keras"
    vit.save(path)
    return path.read_bytes()


def _long_sequence(good, folder):
    def long_sequence(config):  # 50 M position embeddings of 16 values: 3.2 GB.
        layer = layers_of(config, "ClassTokenPositionEmbedding")[0]
        layer["build_config"] = {"input_shape": [None, 50_000_000, 16]}

    return rewrite(_vit(folder), long_sequence)


def _wide_heads(good, folder):
    def wide_heads(config):  # 16 heads of 100,000 dimensions over 16-value tokens: 1.6 GB of kernels.
        layers_of(config, "MultiHeadAttention")[0]["config"].update(num_heads=16, key_dim=100_000, value_dim=100_000)

    return rewrite(_vit(folder), wide_heads)


def _zip_bomb(good, folder):
    source = zipfile.ZipFile(io.BytesIO(good))
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
    return data


def _forged_bomb(good, folder):
    # A bomb declaring 4 GB (sizes forged in both headers): refused from the numbers alone.
    forged = bytearray(rewrite(good))
    archive = zipfile.ZipFile(io.BytesIO(bytes(forged)))
    weights = archive.getinfo("model.weights.h5")
    central = forged.rindex(b"PK\x01\x02", 0, len(forged))
    while forged[central + 46 : central + 46 + len(b"model.weights.h5")] != b"model.weights.h5":
        central = forged.rindex(b"PK\x01\x02", 0, central)
    forged[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # Uncompressed size: 4 GB.
    forged[weights.header_offset + 22 : weights.header_offset + 26] = (0xFFFFFFF0).to_bytes(4, "little")
    return bytes(forged)


def _config(config_bytes):
    def build(good, folder):
        data = rewrite(good, replace={"config.json": config_bytes}, compression=zipfile.ZIP_DEFLATED)
        assert len(data) < 1_500_000
        return data

    return build


def _twice(good, folder):
    lambda_config = zipfile.ZipFile(io.BytesIO(marker_lambda_model(folder / "lambda.keras"))).read("config.json")
    source = zipfile.ZipFile(io.BytesIO(good))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as target:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name.
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        # A second config.json: a reader taking the first sees a CNN, one taking the last a Lambda.
        target.writestr("config.json", lambda_config)
    return buffer.getvalue()


def _edited(edit):
    return lambda good, folder: rewrite(good, edit)


CASES = (
    # Code in model files.
    Case("hdf5-lambda", lambda good, folder: marker_lambda_model(folder / "evil.h5"), "not a valid zip"),
    Case("keras-lambda", lambda good, folder: marker_lambda_model(folder / "lambda.keras"),
         "'keras.layers.Lambda'.*allow-list"),
    Case("passwd-vocabulary", _passwd_vocabulary, "'keras.layers.StringLookup'.*allow-list"),
    Case("foreign-registration", _foreign_registration, "foreign registration"),
    Case("twice", _twice, "'config.json' appears twice"),
    # Memory bombs: weights, activations, declared sizes.
    Case("dense-bomb", _dense_bomb, "3,600,060,000 parameters", card={"input": {"shape": [4, 4, 1]}},
         memory_kb=MEMORY_GROWTH_LIMIT_KB),
    # Refused from the loaded graph's shapes (a config can lie about them); nothing is computed.
    Case("wide-conv", _wide_conv, "in its layer 'wide' for one image", before_keras=False,
         card={"input": {"shape": [224, 224, 1]}}, memory_kb=MEMORY_GROWTH_LIMIT_KB),
    Case("wide-edit", _wide_edit, "parameters"),
    Case("input-100000x100000x3", _edited(lambda c: layers_of(c, "InputLayer")[0]["config"].update(
        batch_shape=[None, 100_000, 100_000, 3])), "input of 30,000,000,000 values per image"),
    Case("dense-without-build-config", _edited(lambda c: layers_of(c, "Dense")[0].update(build_config=None)),
         "does not record the input shape"),
    Case("build-config-not-a-dict", _edited(lambda c: layers_of(c, "Dense")[0].update(build_config=[1])),
         "does not record the input shape"),
    Case("activation-not-a-name", _edited(lambda c: layers_of(c, "Conv2D")[0]["config"].update(
        activation={"module": "keras.activations", "class_name": "function", "config": [1]})), "activation"),
    Case("long-sequence", _long_sequence, "parameters", card={"architecture": "vit"}),
    Case("wide-heads", _wide_heads, "parameters", card={"architecture": "vit"}),
    # Zip bombs and configs built to break a parser.
    Case("zip-bomb", _zip_bomb, "would unpack to 210 MB.*decompression bomb", memory_kb=100 * 1024),
    Case("forged-bomb", _forged_bomb, "decompression bomb"),
    Case("depth-50mb", _config(b"[" * 25_000_000 + b"]" * 25_000_000), "oversized config"),
    # Under the config size limit, 900,000 levels deep.
    Case("depth-1mb", _config(b"[" * 900_000 + b"]" * 900_000), "nested too deeply"),
    Case("huge-number", _config(b'{"class_name": "Functional", "config": ' + b"9" * 5000 + b"}"), "unreadable config"),
)
CASE_IDS = [case.name for case in CASES]


class HostileFiles:
    """Builds each case's bytes once per test session (a ViT or a 100,000-filter model takes seconds)."""

    def __init__(self, folder):
        self.folder = folder
        self._built = {}
        self._good = None

    def good_folder(self):
        """A registry folder holding only `good`, to copy from."""
        folder = self.folder / "good-model"
        if self._good is None:
            self._good = (save_good_model(folder) / "good.keras").read_bytes()
        return folder

    def good(self):
        """The good model's archive bytes."""
        self.good_folder()
        return self._good

    def bytes(self, case):
        if case.name not in self._built:
            scratch = self.folder / case.name
            scratch.mkdir(parents=True, exist_ok=True)
            self._built[case.name] = case.build(self.good(), scratch)
        return self._built[case.name]


def registry_holding_good(hostile_files, tmp_path, monkeypatch):
    """Points the registry at a fresh folder holding only `good` and arms the marker; returns the folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    for path in hostile_files.good_folder().iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(folder))
    monkeypatch.setenv(MARKER_VARIABLE, str(tmp_path / "marker"))
    return folder


def assert_nothing_ran(tmp_path):
    """After a test: the registry is healthy and no hostile code wrote the marker `registry_holding_good` armed."""
    assert_registry_healthy()
    assert not (tmp_path / "marker").exists(), "a hostile model ran code"


def assert_registry_healthy(good="good"):
    """Keras is still in safe mode, and a good model still loads and predicts."""
    # None is Keras's default (safe); False would mean enable_unsafe_deserialization() ran.
    assert serialization_lib.in_safe_mode() is not False
    with pytest.raises(ValueError, match="[Ll]ambda"):
        keras.layers.Lambda.from_config({"function": {"class_name": "__lambda__", "config": {}}, "name": "probe"})
    classifier = registry.load(good)
    probabilities = classifier.predict_inputs(np.zeros((1, *classifier.input_shape), np.float32))
    assert probabilities.shape == (1, len(classifier.class_names))


def assert_one_sentence(message):
    assert "\n" not in message and "Traceback" not in message, message
    assert message.endswith(".") and len(message) < 320, message
    assert not re.search(r"\.\s+[A-Z]", message), f"more than one sentence: {message}"


@contextlib.contextmanager
def keras_loads():
    """Yields the list of calls to `keras.saving.load_model` made inside the block."""
    calls = []
    original = keras.saving.load_model

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keras.saving, "load_model", spy)
        yield calls


@contextlib.contextmanager
def refused(match, *, before_keras=True, error=registry.UnsafeModelError, memory_kb=None):
    """Expects `error` (one sentence) and, by default, that Keras never deserialised anything.

    Args:
        match: a regular expression the message matches.
        before_keras: the file must be refused before Keras loads it. Defaults to `True`.
        error: the exception type expected. Defaults to `registry.UnsafeModelError`.
        memory_kb: the most the process's peak memory may grow inside the block, or `None`.
    """
    before = resident_kb()
    with keras_loads() as calls, pytest.raises(error, match=match) as caught:
        yield caught
    assert_one_sentence(str(caught.value))
    assert not (before_keras and calls), "Keras deserialised a file the registry should have refused first"
    if memory_kb is not None:
        assert resident_kb() - before < memory_kb
