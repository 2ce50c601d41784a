"""Importing a model a user uploaded: the checks its bytes pass before anything is kept, and the import quotas.

An import faces files anyone wrote, through the browser. `check_import` runs every check the
registry makes on a stored file (`safety`: the archive, the allow-list, the parameter and
activation caps, safe mode) on the uploaded bytes, then checks that the model is an image
classifier that fits what the user says it classifies; it writes nothing. `save_import` then
saves it with its card, within the quotas. Measuring the model on a dataset's test split is
`metrics.evaluate`'s work, between the two (the registry sits below `metrics`):

    checked = registry.check_import(data, "my-cnn", dataset="mnist", file_name="my_cnn.keras")
    report = metrics.evaluate(checked.model, "mnist")
    card = registry.save_import(checked, report)
"""

import dataclasses
import io
import json
import os
import zipfile

import numpy as np

from imgrec import datasets, preprocess, texts
from imgrec.registry import cards, safety, store
from imgrec.registry.errors import ModelNotFound, RegistryError, UnsafeModelError

# An upload lives in the server's memory while it is checked: 32 MiB covers MobileNet-sized
# models (EfficientNet-Lite0 is 19 MB) and keeps a class uploading at once under a gigabyte.
MAX_IMPORT_BYTES = 32 * 2**20
DEFAULT_MAX_IMPORTED_MODELS = 30  # IMGREC_MAX_IMPORTED_MODELS: one per student of a class, under 1 GB of files.
DEFAULT_MAX_IMPORTS_PER_SESSION = 3  # IMGREC_MAX_IMPORTS_PER_SESSION: a few tries each, so one visitor cannot take all.
MAX_METADATA_BYTES = 64 * 1024  # Keras writes about 60 bytes of metadata.json.
MAX_CLASS_NAMES = 1000  # ImageNet's 1,000 classes, the most any model here has.
MAX_CLASS_NAME_LENGTH = 100
# How far outputs may stray from a probability distribution (float32 softmax sums are within 1e-6).
PROBABILITY_TOLERANCE = 1e-3
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclasses.dataclass(frozen=True)
class CheckedImport:
    """An uploaded model that passed every check, and what its card will say; nothing of it is saved yet."""

    name: str  # The registry name it will be saved as.
    model: object  # The keras.Model, deserialised in safe mode from the checked bytes.
    class_names: tuple  # The label of each output.
    dataset: str | None  # The imgrec dataset it classifies (measure it on its test split), or None.
    preprocessing: str  # One of preprocess.KINDS.
    upload: cards.ImportRecord  # The uploaded file's facts, for the card.
    session_imports: int | None  # Imports this visitor's session made before this one; None outside the app.


def max_imported_models():
    """Returns how many imported models the registry may hold in total: `IMGREC_MAX_IMPORTED_MODELS`, else 30.

    Raises:
        RegistryError: when the variable is not a whole number of at least 0.
    """
    return _env_count("IMGREC_MAX_IMPORTED_MODELS", DEFAULT_MAX_IMPORTED_MODELS)


def max_imports_per_session():
    """Returns how many models one app session may import: `IMGREC_MAX_IMPORTS_PER_SESSION`, else 3.

    Raises:
        RegistryError: when the variable is not a whole number of at least 0.
    """
    return _env_count("IMGREC_MAX_IMPORTS_PER_SESSION", DEFAULT_MAX_IMPORTS_PER_SESSION)


def _env_count(variable, default):
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise texts.said(RegistryError, "errors_registry.env_count", variable=variable, text=text[:40])
    return int(text)


def imported_models():
    """Returns the cards of the imported models in the registry."""
    return [card for card in store.list_models() if card.imported is not None]


def check_quotas(session_imports=None):
    """Refuses one more import when this session or the whole registry has imported its most.

    Args:
        session_imports: how many models this visitor's session imported already; `None`
            for the command line, which has no sessions. Defaults to `None`.

    Raises:
        RegistryError: one sentence saying which limit was reached and what to do.
    """
    if session_imports is not None and session_imports >= max_imports_per_session():
        raise texts.said(RegistryError, "errors_registry.session_imports", count=session_imports)
    count, limit = len(imported_models()), max_imported_models()
    if count >= limit:
        raise texts.said(RegistryError, "errors_registry.server_imports", count=count, limit=limit)


def check_import(data, name, *, dataset=None, class_names=None, preprocessing=None, file_name=None,
                 session_imports=None):
    """Checks an uploaded `.keras` file and what it is said to classify; writes nothing.

    In order: the name and the quotas; the size; that the file is a Keras 3 archive; every
    check the registry makes before and while Keras loads a file (`safety.load_keras_bytes`:
    archive members, allow-list, parameter and activation caps, safe mode); that the model
    takes one fixed-size grayscale or RGB image and outputs class probabilities with finite
    weights; and that it fits the dataset or the class names and the preprocessing.

    Args:
        data: the uploaded bytes.
        name: the registry name to import it as (see `validate_name`).
        dataset: the imgrec dataset it classifies (a `datasets.names()` entry); its test
            split measures it. Give this or `class_names`.
        class_names: the label of each output, in output order. Give this or `dataset`.
        preprocessing: how any image becomes its input, one of `preprocess.KINDS`. Defaults
            to the dataset's, else "imagenet" for a 224x224 RGB input and "fit" for others.
        file_name: the uploaded file's name, for the card. Defaults to `None`.
        session_imports: imports this visitor's session made already, for its quota;
            `None` outside the app. Defaults to `None`.

    Returns:
        A `CheckedImport` for `save_import`.

    Raises:
        UnsafeModelError: a file that fails a safety check; it was not deserialised, or Keras
            refused it in safe mode.
        RegistryError: every other refusal, in one sentence: a bad or taken name, a quota
            reached, an oversized upload, a model that does not fit.
    """
    safety.validate_name(name)
    check_quotas(session_imports)
    _check_name_is_free(name)
    if (dataset is None) == (class_names is None):
        raise texts.said(RegistryError, "errors_registry.what_it_classifies")
    names = _dataset_classes(dataset) if dataset is not None else _checked_class_names(class_names)
    if preprocessing is not None and preprocessing not in preprocess.KINDS:
        raise texts.said(RegistryError, "errors_registry.unknown_preprocessing", preprocessing=str(preprocessing)[:40],
                         choices=", ".join(preprocess.KINDS))
    if not isinstance(data, bytes | bytearray):
        raise ValueError(f"check_import takes the uploaded bytes, not a {type(data).__name__}.")
    data = bytes(data)
    if len(data) > MAX_IMPORT_BYTES:
        raise texts.said(RegistryError, "errors_registry.import_too_large", size=len(data) / 2**20,
                         limit=MAX_IMPORT_BYTES // 2**20)
    from imgrec import architectures  # Imports Keras: only an import that gets this far pays for it.

    keras_version, checked_bytes = _keras_3_archive(data, name)
    model = safety.load_keras_bytes(checked_bytes, name)
    shape = _image_classifier_shape(model, name)
    if not architectures.weights_are_finite(model):
        raise texts.said(RegistryError, "errors_registry.non_finite_weights", name=name)
    _check_probabilities(model, shape, name)
    outputs = max(int(model.output_shape[-1]), 2)  # One sigmoid unit serves two classes.
    if dataset is not None:
        _check_fits_dataset(name, shape, outputs, dataset, names)
    elif outputs != len(names):
        raise texts.said(RegistryError, "errors_registry.outputs_and_names", name=name, outputs=outputs, count=len(names))
    kind = preprocessing or _default_preprocessing(dataset, shape)
    _check_preprocessing_fits(name, shape, kind)
    upload = cards.ImportRecord(file_name=_display_file_name(file_name), sha256=safety.sha256_bytes(data),
                                file_size=len(data), keras_version=keras_version,
                                model_class=type(model).__name__)
    return CheckedImport(name, model, tuple(names), dataset, kind, upload, session_imports)


def save_import(checked, report=None):
    """Saves a checked import with its card, marked imported, within the quotas.

    The quotas are checked again under the registry's lock, so two visitors importing at the
    same moment cannot both take the last place.

    Args:
        checked: the `CheckedImport` from `check_import`.
        report: `metrics.evaluate` of the model on its dataset's test split (required when
            it was imported for a dataset; `None` for one imported with class names).

    Returns:
        The saved `ModelCard`.

    Raises:
        RegistryError: a quota reached or the name taken since the check.
        ValueError: for a missing or extra report.
    """
    if (checked.dataset is None) != (report is None):
        raise ValueError("save_import takes the report of metrics.evaluate on the dataset's test split, exactly "
                         "when the model was imported for a dataset.")
    card = cards.card_for_import(checked.name, checked.model.input_shape[1:], checked.class_names, checked.upload,
                                 dataset=checked.dataset, preprocessing=checked.preprocessing, report=report)
    with store.locked_registry():
        check_quotas(checked.session_imports)
        return store.save(checked.model, checked.name, card)


def _check_name_is_free(name):
    try:
        store.card(name)
    except ModelNotFound:
        return
    except UnsafeModelError:
        pass  # A damaged card still holds the name.
    raise texts.said(RegistryError, "errors_registry.name_taken", name=name)


def _dataset_classes(dataset):
    try:
        return datasets.class_names(dataset)
    except ValueError as error:
        raise texts.carried(RegistryError, error) from None


def _checked_class_names(class_names):
    if isinstance(class_names, str) or not isinstance(class_names, list | tuple):
        raise texts.said(RegistryError, "errors_registry.class_names_list")
    names = [name.strip() if isinstance(name, str) else name for name in class_names[: MAX_CLASS_NAMES + 1]]
    if not 2 <= len(names) <= MAX_CLASS_NAMES:
        raise texts.said(RegistryError, "errors_registry.class_names_count", limit=MAX_CLASS_NAMES)
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_CLASS_NAME_LENGTH or not name.isprintable():
            raise texts.said(RegistryError, "errors_registry.class_name_bad", limit=MAX_CLASS_NAME_LENGTH,
                             name=str(name)[:40])
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise texts.said(RegistryError, "errors_registry.class_name_twice", name=duplicate)
    return names


def _display_file_name(file_name):
    if not isinstance(file_name, str):
        return None
    shown = "".join(character for character in os.path.basename(file_name) if character.isprintable())
    return shown[:120] or None


def _keras_3_archive(data, name):
    """Returns `(keras_version, bytes for Keras)`: the upload, with its training settings dropped.

    Raises:
        UnsafeModelError: for a file that is not a Keras 3 archive, or one whose members fail
            `safety`'s checks (read size- and depth-capped here, and all checked again on load).
    """
    if data and not zipfile.is_zipfile(io.BytesIO(data)):
        key = "errors_registry.hdf5" if data.startswith(HDF5_SIGNATURE) else "errors_registry.not_zip_keras"
        raise texts.said(UnsafeModelError, key, name=name)
    archive = safety.open_archive(data, name)
    metadata = safety.read_archive_json(archive, "metadata.json", MAX_METADATA_BYTES, name)
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    if not isinstance(version, str) or not version.startswith("3."):
        if isinstance(version, str):
            raise texts.said(UnsafeModelError, "errors_registry.keras_version", name=name, version=version[:20])
        raise texts.said(UnsafeModelError, "errors_registry.keras_unknown", name=name)
    config = safety.read_archive_json(archive, "config.json", safety.MAX_CONFIG_BYTES, name)
    if not isinstance(config, dict) or config.get("compile_config") is None:
        return version, data
    # A model saved after model.compile() names its optimizer, loss and metrics. Keras drops
    # them unread when it loads with compile=False, as the registry does, so dropping them
    # here changes nothing Keras builds and spares them the allow-list (an optimizer is no
    # layer). The rewritten archive is what every check and Keras see.
    config["compile_config"] = None
    buffer = io.BytesIO()
    try:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as rewritten:
            for info in archive.infolist():
                member = json.dumps(config).encode() if info.filename == "config.json" else archive.read(info)
                rewritten.writestr(info.filename, member)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise texts.said(UnsafeModelError, "errors_registry.unreadable_member", name=name) from None
    return version, buffer.getvalue()


def _image_classifier_shape(model, name):
    """Returns the `(height, width, channels)` of a model's one image input; refuses any other kind of model."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise texts.said(RegistryError, "errors_registry.inputs_and_outputs", name=name, inputs=len(model.inputs),
                         outputs=len(model.outputs))
    shape, output = tuple(model.input_shape), tuple(model.output_shape)
    if len(shape) != 4 or not all(isinstance(size, int) for size in shape[1:]) or shape[-1] not in (1, 3):
        raise texts.said(RegistryError, "errors_registry.input_shape", name=name, shape=shape)
    if len(output) != 2 or not isinstance(output[1], int) or output[1] < 1:
        raise texts.said(RegistryError, "errors_registry.output_shape", name=name, shape=output)
    return shape[1:]


def _check_probabilities(model, shape, name):
    """Refuses a model whose outputs on test images are not class probabilities (logits, say)."""
    probes = np.random.default_rng(0).uniform(0, 255, (3, *shape)).astype(np.float32)
    probes[0] = 0.0
    outputs = np.asarray(model(probes, training=False), dtype=np.float64)
    if not np.isfinite(outputs).all():
        problem = "errors_registry.outputs_not_finite"
    elif outputs.min() < -PROBABILITY_TOLERANCE or outputs.max() > 1 + PROBABILITY_TOLERANCE:
        problem = "errors_registry.outputs_outside"
    elif outputs.shape[-1] > 1 and not np.allclose(outputs.sum(axis=-1), 1.0, atol=PROBABILITY_TOLERANCE):
        problem = "errors_registry.outputs_sum"
    else:
        return
    raise texts.said(RegistryError, problem, name=name)


def _check_fits_dataset(name, shape, outputs, dataset, names):
    expected = datasets.input_shape(dataset)
    if tuple(shape) != tuple(expected):
        raise texts.said(RegistryError, "errors_registry.dataset_shape", name=name, shape=tuple(shape), dataset=dataset,
                         expected=tuple(expected))
    if outputs != len(names):
        raise texts.said(RegistryError, "errors_registry.dataset_outputs", name=name, outputs=outputs, dataset=dataset,
                         count=len(names))
    try:
        datasets.load(dataset)
    except datasets.DatasetUnavailable:
        raise texts.said(RegistryError, "errors_registry.dataset_missing", dataset=dataset) from None


def _default_preprocessing(dataset, shape):
    if dataset is not None:
        return cards.preprocessing_for_dataset(dataset).kind
    return "imagenet" if tuple(shape) == (preprocess.IMAGENET_SIZE, preprocess.IMAGENET_SIZE, 3) else "fit"


def _check_preprocessing_fits(name, shape, kind):
    height, width, channels = shape
    if kind == "imagenet" and tuple(shape) != (preprocess.IMAGENET_SIZE, preprocess.IMAGENET_SIZE, 3):
        raise texts.said(RegistryError, "errors_registry.imagenet_size", name=name, height=height, width=width,
                         channels=channels)
    if kind == "mnist-digit" and height != width:
        raise texts.said(RegistryError, "errors_registry.mnist_square", name=name, height=height, width=width)
