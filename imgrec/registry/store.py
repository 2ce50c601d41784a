"""The registry folder: where a model's file and card live, and reading, building, saving and deleting them.

A model is `models/NAME.keras` plus its card `models/NAME.json`; the ImageNet classifier is
built into the cache folder on first use. A card and its file change together under the
folder's lock, so a reader never sees a card that does not match its file; every file is
checked (`safety`) before Keras deserialises it.
"""

import dataclasses
import datetime
import json
import os
import pathlib
import tempfile

from imgrec import atomic, paths, texts
from imgrec.registry import cards, classifier, safety
from imgrec.registry.errors import ModelNotFound, RegistryError, UnsafeModelError

BUILT_MODELS = ("imagenet-efficientnet-lite0",)
MAX_CARD_BYTES = 2 * 1024 * 1024


def _folder_for(name):
    return paths.cache_dir() if name in BUILT_MODELS else paths.models_dir()


def _paths(name):
    safety.validate_name(name)
    folder = _folder_for(name).resolve()
    card_path, model_path = folder / f"{name}.json", folder / f"{name}.keras"
    for path in (card_path, model_path):
        # A symlink could point anywhere on the server; only plain files inside the folder count.
        if path.is_symlink() or path.resolve().parent != folder:
            raise texts.said(UnsafeModelError, "errors_registry.link_refused", name=name)
    return card_path, model_path


def _locked(folder, exclusive=True):
    """Holds the folder's lock, so a card and its file change, and are read, together."""
    return atomic.locked(folder / ".lock", exclusive=exclusive)


def locked_registry():
    """Holds the registry folder's exclusive lock (re-entrant), so a check and the save it allows are one step."""
    return _locked(paths.models_dir().resolve())


def _read_card(card_path, name):
    """Returns the `ModelCard` stored at `card_path` for model `name`; refuses a malformed one in one sentence."""
    try:
        with open(card_path, "rb") as handle:
            raw = handle.read(MAX_CARD_BYTES + 1)
    except FileNotFoundError:
        raise texts.said(ModelNotFound, "errors_registry.no_model", name=name) from None
    if len(raw) > MAX_CARD_BYTES:
        raise texts.said(UnsafeModelError, "errors_registry.card_too_large", name=name)
    try:
        values = json.loads(raw)
    except RecursionError:  # A prank card nested thousands deep must not take the model list down.
        raise texts.said(UnsafeModelError, "errors_registry.card_nested", name=name) from None
    except (UnicodeDecodeError, ValueError):  # ValueError: JSONDecodeError, and integers too long to read.
        raise texts.said(UnsafeModelError, "errors_registry.card_not_json", name=name) from None
    return cards.ModelCard.from_json(values, saved_as=name)


def _read_model_bytes(model_path, name):
    try:
        size = model_path.stat().st_size
    except FileNotFoundError:
        raise texts.said(ModelNotFound, "errors_registry.file_missing", name=name) from None
    if size > safety.MAX_MODEL_BYTES:
        raise texts.said(UnsafeModelError, "errors_registry.model_too_large", name=name, megabytes=size / 1e6,
                         limit=safety.MAX_MODEL_BYTES // 2**20)
    with open(model_path, "rb") as handle:
        return handle.read(safety.MAX_MODEL_BYTES + 1)


def list_models():
    """Returns the cards of every model, sorted by name; unreadable cards are skipped.

    Models built on first use (the ImageNet classifier) are listed even before they are built,
    with `built=False` in their card.

    Returns:
        A list of `ModelCard`s.
    """
    found = {}
    folder = paths.models_dir()
    if folder.is_dir():
        for card_path in sorted(folder.glob("*.json")):
            name = card_path.stem
            try:
                found[name] = _read_card(_paths(name)[0], name)
            except RegistryError:
                continue
    for name in BUILT_MODELS:
        try:
            found[name] = _read_card(_paths(name)[0], name)
        except RegistryError:
            found[name] = cards.built_model_card(name)
    return [found[name] for name in sorted(found)]


def card(name):
    """Returns the `ModelCard` of one model.

    Raises:
        ModelNotFound: when there is no such model.
    """
    safety.validate_name(name)
    if name in BUILT_MODELS:
        try:
            return _read_card(_paths(name)[0], name)
        except ModelNotFound:
            return cards.built_model_card(name)
    return _read_card(_paths(name)[0], name)


def is_protected(card_or_name):
    """Returns whether a model is a shipped one, which cannot be deleted or replaced.

    True for a card saved with `protected=True` and for the models built on first use
    (`BUILT_MODELS`).

    Args:
        card_or_name: a model's `ModelCard`, or its name.

    Raises:
        ModelNotFound: for a name no model has.
        ValueError: for anything but a `ModelCard` or a name (str).
    """
    if isinstance(card_or_name, str):
        if card_or_name in BUILT_MODELS:
            return True
        card_or_name = card(card_or_name)
    if not isinstance(card_or_name, cards.ModelCard):
        raise ValueError(f"is_protected takes a model card or a model name, not a {type(card_or_name).__name__}.")
    return card_or_name.protected or card_or_name.name in BUILT_MODELS


def load(name):
    """Loads a model by name and returns a `Classifier`.

    The ImageNet classifier is built into the cache folder on first use.

    Raises:
        RegistryError: a bad name (`RegistryError`), an unknown model (`ModelNotFound`), or a
            file that fails a check (`UnsafeModelError`).
    """
    safety.validate_name(name)
    if name in BUILT_MODELS:
        ensure_built(name)
    model_card, data = model_file(name)
    model = safety.load_keras_bytes(data, name)
    _check_card_fits(model, model_card, name, UnsafeModelError)
    return classifier.Classifier(name, model_card, model)


def _check_card_fits(model, model_card, name, error_type):
    """Raises `error_type` when a card's input shape, task or class count is not the model's."""
    expected = tuple(model_card.input.shape)
    if tuple(model.input_shape[1:]) != expected:
        raise error_type(f"Model {name!r} takes {tuple(model.input_shape[1:])} but its card says {expected}.")
    if not model_card.is_classifier:
        if tuple(model.output_shape[1:]) != expected:
            raise error_type(f"Model {name!r} returns {tuple(model.output_shape[1:])}, not the image its card says "
                             f"it reconstructs {expected}.")
        return
    outputs = model.output_shape[-1]
    # One sigmoid output serves a two-class task.
    if max(outputs, 2) != len(model_card.class_names):
        raise error_type(f"Model {name!r} has {outputs} outputs but its card names {len(model_card.class_names)} classes.")


def model_file(name):
    """Returns `(ModelCard, bytes)` of a model's `.keras` file exactly as stored, hash-checked.

    Card and file are read together under the registry's lock, so they always belong together.

    Raises:
        RegistryError: a bad name, an unknown model, or a file that does not match its card.
    """
    card_path, model_path = _paths(name)
    with _locked(card_path.parent, exclusive=False):
        model_card = _read_card(card_path, name)
        data = _read_model_bytes(model_path, name)
    if safety.sha256_bytes(data) != model_card.sha256:
        raise texts.said(UnsafeModelError, "errors_registry.file_changed", name=name)
    return model_card, data


def ensure_built(name):
    """Builds a model that is made on first use (the ImageNet classifier) into the cache folder."""
    from imgrec import pretrained

    card_path, model_path = _paths(name)
    folder = card_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    if card_path.exists() and model_path.exists():
        return card_path
    # Two first visitors at once: one builds, the other waits and then finds the result.
    with atomic.locked(folder / f".{name}.build-lock"):
        if card_path.exists() and model_path.exists():
            return card_path
        model = pretrained.build_model()
        save(model, name, cards.built_model_card(name, pretrained.card_metadata(model)), overwrite=True, protected=True)
    return card_path


def model_bytes(model):
    """Serialises a Keras model to `.keras` bytes, without optimizer state or compile config.

    A registry model is for inference: an uncompiled clone keeps optimizer classes out of the
    archive (so the allow-list stays small) and the file about a third smaller.
    """
    import keras

    if getattr(model, "optimizer", None) is not None:
        # clone_model keeps the compile state in Keras 3; from_config does not.
        clean = keras.Model.from_config(model.get_config())
        clean.set_weights(model.get_weights())
        model = clean
    temp_dir = tempfile.mkdtemp(prefix="imgrec-save-")
    path = pathlib.Path(temp_dir) / "model.keras"
    try:
        model.save(path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(temp_dir)


def save(model, name, model_card, *, overwrite=False, protected=False):
    """Saves a model and its card atomically.

    The `.keras` file is written to a temporary file in the same folder, flushed, fsynced and
    renamed over the old one with `os.replace`; the card is written the same way last, both
    under an exclusive lock, so a reader never sees a card that does not match its file.

    Args:
        model: a `keras.Model`.
        name: the registry name (validated).
        model_card: a `ModelCard` (see `cards.card_for_training`); its `name`, `file`,
            `sha256`, `file_size`, `parameters` and `keras_version` are filled in here, and
            `created` when it has none.
        overwrite: replace an existing model of that name. Defaults to `False`.
        protected: mark the model as shipped, so `delete` refuses it. Defaults to `False`.

    Returns:
        The `ModelCard` as written.

    Raises:
        RegistryError: for a bad name, an existing name without `overwrite`, a protected
            model, a card whose input shape or classes are not the model's, or a model with
            non-finite weights.
        ValueError: for a card that is not a `ModelCard`.
    """
    import keras

    from imgrec import architectures

    safety.validate_name(name)
    if not isinstance(model_card, cards.ModelCard):
        raise ValueError(f"save takes a registry.ModelCard, not a {type(model_card).__name__}.")
    card_path, model_path = _paths(name)
    _check_card_fits(model, model_card, name, RegistryError)
    if not architectures.weights_are_finite(model):
        raise texts.said(RegistryError, "errors_registry.not_saved", name=name)
    data = model_bytes(model)
    safety.inspect_archive(data, name)
    full_card = dataclasses.replace(
        model_card,
        name=name,
        file=model_path.name,
        sha256=safety.sha256_bytes(data),
        file_size=len(data),
        parameters=int(model.count_params()),
        keras_version=keras.__version__,
        created=model_card.created or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        protected=bool(protected or model_card.protected),
    )
    folder = card_path.parent
    with _locked(folder):
        # Under the lock no other save is midway, so any temporary file is a killed save's leftover.
        clean_temporary_files(folder)
        if card_path.exists() and not overwrite:
            raise texts.said(RegistryError, "errors_registry.name_taken", name=name)
        if card_path.exists() and is_protected(_read_card(card_path, name)) and not protected:
            raise texts.said(RegistryError, "errors_registry.shipped_replace", name=name)
        model_temp = atomic.write_temp(folder, f".{name}.", ".keras.tmp", data)
        card_temp = atomic.write_temp(folder, f".{name}.", ".json.tmp", (json.dumps(full_card.to_json(), indent=2) + "\n").encode())
        os.replace(model_temp, model_path)
        os.replace(card_temp, card_path)
        atomic.fsync_folder(folder)
    return full_card


def delete(name):
    """Deletes a saved model and its card.

    Raises:
        RegistryError: for shipped (protected) models; ModelNotFound when absent.
    """
    card_path, model_path = _paths(name)
    if name in BUILT_MODELS:  # Protected whether or not it is built yet.
        raise texts.said(RegistryError, "errors_registry.shipped_delete", name=name)
    with _locked(card_path.parent):
        model_card = _read_card(card_path, name)
        if is_protected(model_card):
            raise texts.said(RegistryError, "errors_registry.shipped_delete", name=name)
        card_path.unlink()
        model_path.unlink(missing_ok=True)


def clean_temporary_files(folder=None):
    """Removes temporary files left by a save that was killed midway; returns how many.

    Every `save` does this first, under the folder's lock.

    Args:
        folder: the registry folder. Defaults to `paths.models_dir()`.
    """
    folder = pathlib.Path(folder or paths.models_dir())
    removed = 0
    if folder.is_dir():
        with _locked(folder):
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
