"""Importing a model: real notebook-shaped models in, every hostile file refused, refusals in one sentence, quotas.

The hostile files are tests/support/hostile.py's cases, the same ones tests/test_hostile_models.py
plants in the registry folder; here each is uploaded through the import path, by the library
and by the command line. The page's upload is tests/app/test_import_page.py.
"""

import io
import json
import re
import threading
import zipfile

import keras
import numpy as np
import pytest

from imgrec import cli, export, metrics, registry
from tests.support import hostile, notebook_models
from tests.support.hostile import assert_one_sentence, refused

CLASS_NAMES = list(notebook_models.CLASS_NAMES)


@pytest.fixture
def models(hostile_files, tmp_path, monkeypatch):
    """A registry holding `good` for this test, an armed marker, no quotas in the way; checked healthy after."""
    for variable in ("IMGREC_MAX_IMPORTED_MODELS", "IMGREC_MAX_IMPORTS_PER_SESSION"):
        monkeypatch.delenv(variable, raising=False)
    yield hostile.registry_holding_good(hostile_files, tmp_path, monkeypatch)
    hostile.assert_nothing_ran(tmp_path)


@pytest.fixture(scope="module")
def notebook_files():
    """`.keras` bytes of each notebook model (tests/support/notebook_models.py), saved once."""
    return {kind: notebook_models.keras_file_bytes(build()) for kind, build in notebook_models.BUILDERS.items()}


def files_of(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != ".lock"}


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(code, out, err, match, *, sentence=True):
    """Exit 2, nothing on stdout, one line on stderr matching `match`: one sentence unless it is argparse's."""
    assert code == 2 and out == "", (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    if sentence:
        assert_one_sentence(lines[0])
    assert re.search(match, lines[0]), lines[0]


# ---------------------------------------------------------------------------------------
# Every hostile file, through the library and the command line.


@pytest.mark.parametrize("case", hostile.CASES, ids=hostile.CASE_IDS)
def test_every_hostile_file_is_refused_through_the_import_path(models, hostile_files, case):
    data, before = hostile_files.bytes(case), files_of(models)
    with refused(case.message, before_keras=case.before_keras, memory_kb=case.memory_kb):
        registry.check_import(data, case.name, class_names=[str(digit) for digit in range(10)], file_name="x.keras")
    assert files_of(models) == before


@pytest.mark.parametrize("case", hostile.CASES, ids=hostile.CASE_IDS)
def test_every_hostile_file_is_refused_by_the_import_command(models, hostile_files, case, tmp_path, capsys):
    path = tmp_path / f"{case.name}.keras"
    path.write_bytes(hostile_files.bytes(case))
    before = files_of(models)
    with hostile.keras_loads() as loads:
        code, out, err = run(capsys, "import", str(path), "--name", case.name, "--dataset", "mnist")
    assert_one_error_line(code, out, err, case.message)
    assert not (case.before_keras and loads)
    assert files_of(models) == before


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "http://example.com/m.keras", "a\x00b", "x.h5", "Upper", ""])
def test_bad_names_are_refused_before_the_file_is_read(models, hostile_files, name):
    with refused("Invalid model name", error=registry.RegistryError):
        registry.check_import(hostile_files.good(), name, dataset="mnist")


# ---------------------------------------------------------------------------------------
# Models of shapes imgrec never builds.


def test_a_model_imported_for_a_dataset_is_measured_and_marked_imported(models, notebook_files):
    card = notebook_models.import_bytes(notebook_files["nested"], "my-nested", dataset="mnist",
                                        file_name="/home/teacher/nested.keras")
    assert card.architecture == "imported" and card.title == "my-nested (imported)"
    assert card.imported.file_name == "nested.keras" and card.imported.model_class == "Functional"
    assert card.imported.sha256 == registry.sha256_bytes(notebook_files["nested"]) != card.sha256
    assert card.imported.keras_version == keras.__version__ and card.preprocessing.kind == "mnist-digit"
    classifier = registry.load("my-nested")
    # The card's numbers are the model's own, measured on the whole test split.
    report = metrics.evaluate(classifier, "mnist")
    assert card.metrics.split == "test" and card.metrics.n == report["n"] == 10_000
    assert card.metrics.test_accuracy == pytest.approx(report["accuracy"])
    assert registry.card("my-nested") == card and [c.name for c in registry.imported_models()] == ["my-nested"]


def test_an_imported_model_predicts_like_the_file_it_came_from(models, notebook_files, tmp_path):
    card = notebook_models.import_bytes(notebook_files["transfer"], "my-transfer", class_names=CLASS_NAMES)
    assert card.metrics is None and card.accuracy_text() == "accuracy not measured yet"
    assert card.dataset == "classes named at import" and card.preprocessing.kind == "fit"
    path = tmp_path / "original.keras"
    path.write_bytes(notebook_files["transfer"])
    original = keras.saving.load_model(path, compile=False, safe_mode=True)
    classifier = registry.load("my-transfer")
    batch = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(classifier.predict_inputs(batch), np.asarray(original(batch)), rtol=1e-5, atol=1e-6)
    photo = np.random.default_rng(2).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    top = classifier.top_k(photo, k=2)
    assert len(top) == 2 and {prediction.label for prediction in top} <= set(CLASS_NAMES)
    # Export works as for a trained model: each format is reloaded and must predict the same.
    for fmt in ("keras", "tflite"):
        assert len(export.export_bytes(classifier, fmt)) > 1000


@pytest.mark.parametrize(("kind", "expected"), [("sequential", "imagenet"), ("no-pooling", "mnist-digit")])
def test_the_default_preprocessing_follows_the_dataset_or_the_input(models, notebook_files, kind, expected):
    model = notebook_models.BUILDERS[kind]()
    if kind == "sequential":  # 224 x 224 RGB with no dataset: a photo model.
        model = keras.Sequential([keras.Input((224, 224, 3)), keras.layers.Rescaling(1 / 255),
                                  keras.layers.Conv2D(4, 7, strides=4), keras.layers.GlobalAveragePooling2D(),
                                  keras.layers.Dense(3, activation="softmax")])
        checked = registry.check_import(notebook_models.keras_file_bytes(model), "photo", class_names=CLASS_NAMES)
    else:
        checked = registry.check_import(notebook_files[kind], "digits", dataset="mnist")
    assert checked.preprocessing == expected


# ---------------------------------------------------------------------------------------
# What a user can get wrong: one sentence each, nothing saved.


def config_edited(data, edit):
    """The archive with its config.json or metadata.json edited (a dict -> None function per member)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            member = source.read(info.filename)
            if info.filename in edit:
                values = json.loads(member)
                edit[info.filename](values)
                member = json.dumps(values).encode()
            target.writestr(info.filename, member)
    return buffer.getvalue()


def two_inputs():
    first, second = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    joined = keras.layers.Flatten()(keras.layers.Add()([first, second]))
    return keras.Model([first, second], keras.layers.Dense(10, activation="softmax")(joined))


def any_size():
    inputs = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))


def logits():
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(keras.layers.Flatten()(inputs)))


def nan_weights():
    model = logits()
    dense = model.get_layer("logits")
    dense.set_weights([np.full(dense.kernel.shape, np.nan, np.float32), np.zeros(10, np.float32)])
    return model


@pytest.mark.parametrize(
    ("make", "arguments", "message"),
    [
        pytest.param(lambda files: config_edited(files["no-pooling"], {"metadata.json": lambda m: m.update(
            keras_version="2.15.0")}), {"dataset": "mnist"}, "saved by Keras 2.15.0, not Keras 3", id="keras-2"),
        pytest.param(lambda files: config_edited(files["no-pooling"], {"metadata.json": lambda m: m.clear()}),
                     {"dataset": "mnist"}, "saved by an unknown Keras, not Keras 3", id="no-version"),
        pytest.param(lambda files: b"\x89HDF\r\n\x1a\n" + bytes(64), {"dataset": "mnist"}, "HDF5 file", id="hdf5"),
        pytest.param(lambda files: b"", {"dataset": "mnist"}, "empty file", id="empty"),
        pytest.param(lambda files: notebook_models.keras_file_bytes(two_inputs()), {"dataset": "digits"},
                     "2 inputs and 1 outputs", id="two-inputs"),
        pytest.param(lambda files: notebook_models.keras_file_bytes(any_size()), {"class_names": CLASS_NAMES},
                     "one fixed-size image", id="any-size"),
        pytest.param(lambda files: notebook_models.keras_file_bytes(logits()), {"dataset": "digits"},
                     "does not output class probabilities", id="logits"),
        pytest.param(lambda files: notebook_models.keras_file_bytes(nan_weights()), {"dataset": "digits"},
                     "non-finite weights", id="nan-weights"),
        pytest.param(lambda files: files["no-pooling"], {"dataset": "cifar10"},
                     r"takes images of \(28, 28, 1\) but cifar10 images are \(32, 32, 3\)", id="wrong-shape"),
        pytest.param(lambda files: files["no-pooling"], {"dataset": "mnist-3-vs-8"}, "10 outputs but mnist-3-vs-8 has 2",
                     id="wrong-class-count"),
        pytest.param(lambda files: files["no-pooling"], {"dataset": "imagenet"}, "Unknown dataset", id="no-dataset"),
        pytest.param(lambda files: files["sequential"], {"class_names": ["a", "b"]}, "3 outputs but 2 class names",
                     id="too-few-names"),
        pytest.param(lambda files: files["sequential"], {"class_names": ["a", "b", "a"]}, "'a' is given twice",
                     id="twice-named"),
        pytest.param(lambda files: files["sequential"], {"class_names": ["a", "b\nc", "d"]}, "printable", id="newline"),
        pytest.param(lambda files: files["sequential"], {"class_names": "a,b,c"}, "must be a list", id="names-a-string"),
        pytest.param(lambda files: files["sequential"], {"class_names": CLASS_NAMES, "dataset": "mnist"},
                     "one of the two", id="both"),
        pytest.param(lambda files: files["sequential"], {}, "one of the two", id="neither"),
        pytest.param(lambda files: files["sequential"], {"class_names": CLASS_NAMES, "preprocessing": "imagenet"},
                     "makes 224x224 RGB images", id="imagenet-too-small"),
        pytest.param(lambda files: files["sequential"], {"class_names": CLASS_NAMES, "preprocessing": "sharpen"},
                     "Unknown preprocessing", id="unknown-preprocessing"),
    ],
)
def test_what_a_user_gets_wrong_is_refused_in_one_sentence(models, notebook_files, make, arguments, message):
    before = files_of(models)
    with pytest.raises(registry.RegistryError, match=message) as caught:
        registry.check_import(make(notebook_files), "mine", **arguments)
    assert_one_sentence(str(caught.value))
    assert files_of(models) == before


def test_a_square_preprocessing_is_refused_for_a_wide_input(models):
    inputs = keras.Input((16, 32, 1))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs)))
    with pytest.raises(registry.RegistryError, match="makes square images but model 'wide' takes 16x32"):
        registry.check_import(notebook_models.keras_file_bytes(model), "wide", class_names=["a", "b"],
                              preprocessing="mnist-digit")


def test_an_oversized_upload_and_a_taken_name_are_refused_before_keras_reads_anything(models, notebook_files,
                                                                                      monkeypatch):
    with refused("already exists; choose another name", error=registry.RegistryError):
        registry.check_import(notebook_files["no-pooling"], "good", dataset="mnist")
    monkeypatch.setattr(registry.imports, "MAX_IMPORT_BYTES", 1000)
    with refused(r"over the 0 MiB limit for imported models", error=registry.RegistryError):
        registry.check_import(notebook_files["no-pooling"], "big", dataset="mnist")


def test_a_compiled_model_imports_and_its_optimizer_is_not_kept(models, notebook_files):
    # The notebook's transfer model was compiled with Adam: Keras drops that on load, and so does the import.
    assert "Adam" in zipfile.ZipFile(io.BytesIO(notebook_files["transfer"])).read("config.json").decode()
    card = notebook_models.import_bytes(notebook_files["transfer"], "compiled", class_names=CLASS_NAMES)
    stored = zipfile.ZipFile(io.BytesIO(registry.model_file("compiled")[1])).read("config.json").decode()
    assert "Adam" not in stored and card.parameters == registry.load("compiled").model.count_params()


# ---------------------------------------------------------------------------------------
# Quotas.


def test_the_total_quota_refuses_with_a_sentence_and_deleting_frees_a_place(models, notebook_files, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_IMPORTED_MODELS", "1")
    notebook_models.import_bytes(notebook_files["sequential"], "first", class_names=CLASS_NAMES)
    with refused(r"holds 1 imported models, its limit \(IMGREC_MAX_IMPORTED_MODELS is 1\)", error=registry.RegistryError):
        registry.check_import(notebook_files["sequential"], "second", class_names=CLASS_NAMES)
    registry.delete("first")
    notebook_models.import_bytes(notebook_files["sequential"], "second", class_names=CLASS_NAMES)
    assert [card.name for card in registry.imported_models()] == ["second"]


def test_the_session_quota_counts_the_sessions_imports(models, notebook_files, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_IMPORTS_PER_SESSION", "2")
    with refused("This session has imported 2 models, the most one visitor may", error=registry.RegistryError):
        registry.check_import(notebook_files["sequential"], "third", class_names=CLASS_NAMES, session_imports=2)
    card = notebook_models.import_bytes(notebook_files["sequential"], "second", class_names=CLASS_NAMES,
                                        session_imports=1)
    assert card.name == "second"
    monkeypatch.setenv("IMGREC_MAX_IMPORTS_PER_SESSION", "many")
    with pytest.raises(registry.RegistryError, match="IMGREC_MAX_IMPORTS_PER_SESSION must be a whole number"):
        registry.check_import(notebook_files["sequential"], "fourth", class_names=CLASS_NAMES, session_imports=0)


def test_two_imports_checked_at_once_cannot_both_take_the_last_place(models, notebook_files, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_IMPORTED_MODELS", "1")
    checked = [registry.check_import(notebook_files["sequential"], name, class_names=CLASS_NAMES)
               for name in ("one", "two")]
    outcomes = []

    def save(item):
        try:
            outcomes.append(registry.save_import(item).name)
        except registry.RegistryError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=save, args=(item,)) for item in checked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome in ("one", "two") for outcome in outcomes) == [False, True], outcomes
    assert len(registry.imported_models()) == 1


# ---------------------------------------------------------------------------------------
# The command line.


def test_import_and_delete_through_the_command_line(models, notebook_files, tmp_path, capsys):
    path = tmp_path / "strided.keras"
    path.write_bytes(notebook_files["no-pooling"])
    code, out, _ = run(capsys, "import", str(path), "--name", "cli-digits", "--dataset", "mnist", "--json")
    card = json.loads(out)
    assert code == 0 and card["name"] == "cli-digits" and card["imported"]["file_name"] == "strided.keras"
    assert card["metrics"]["split"] == "test" and card["metrics"]["n"] == 10_000
    path.write_bytes(notebook_files["sequential"])
    code, out, _ = run(capsys, "import", str(path), "--name", "cli-shapes", "--classes", " circle,square , triangle")
    assert code == 0 and out.strip() == "imported cli-shapes: accuracy not measured yet"
    assert registry.card("cli-shapes").class_names == tuple(CLASS_NAMES)
    code, out, _ = run(capsys, "delete", "cli-shapes")
    assert code == 0 and out.strip() == "deleted cli-shapes"
    assert "cli-shapes" not in {card.name for card in registry.list_models()}


@pytest.mark.parametrize(
    ("argv", "message", "sentence"),
    [
        (["import", "missing.keras", "--name", "x", "--dataset", "mnist"], "missing.keras: no such file", True),
        (["import", "FILE", "--name", "x"], "one of the arguments --dataset --classes is required", False),
        (["import", "FILE", "--name", "x", "--dataset", "mnist", "--classes", "a,b"], "not allowed with argument", False),
        (["import", "FILE", "--name", "x", "--classes", "a,b", "--preprocessing", "sharpen"], "invalid choice", False),
        (["import", "FILE", "--name", "../x", "--dataset", "mnist"], "Invalid model name", True),
        (["import", "FILE", "--name", "x", "--classes", "a,,c"], "printable characters", True),
        (["delete", "good-shipped"], "is a shipped model and cannot be deleted", True),
        (["delete", "no-such-model"], "There is no model named 'no-such-model'", True),
        (["delete", "imagenet-efficientnet-lite0"], "shipped model and cannot be deleted", True),
    ],
)
def test_import_and_delete_user_errors_exit_2_with_one_line(models, notebook_files, tmp_path, capsys, argv, message,
                                                            sentence):
    registry.save(keras.models.clone_model(registry.load("good").model), "good-shipped",
                  registry.ModelCard.from_json(hostile.good_card("good-shipped")), protected=True)
    path = tmp_path / "model.keras"
    path.write_bytes(notebook_files["sequential"])
    code, out, err = run(capsys, *[str(path) if arg == "FILE" else arg for arg in argv])
    assert_one_error_line(code, out, err, re.escape(message), sentence=sentence)
