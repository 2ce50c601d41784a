"""The model registry: list, load (validated, integrity-checked, safe mode) and save (atomic, with its card).

A model is `models/NAME.keras` plus its card `models/NAME.json`. Model files are untrusted
input: `load` checks the name, the path, the sha256, the archive's members and every class
named in its `config.json` against an allow-list, and estimates the parameter count, all
before Keras deserialises anything; then Keras loads in safe mode.

The parts: `store` (the folder), `safety` (the checks before Keras sees a file), `cards` (the
typed `ModelCard` and the one place cards are built), `records` (reading and writing the
typed JSON records cards are made of), `classifier` (a loaded model plus its card) and `errors`.
"""

from imgrec.registry.cards import (
    REQUIRED_FIELDS,
    FieldError,
    InputSpec,
    Metrics,
    ModelCard,
    Preprocessing,
    Source,
    TrainingRecord,
    built_model_card,
    card_for_model,
    card_for_training,
    preprocessing_for_dataset,
)
from imgrec.registry.classifier import Classifier, Prediction
from imgrec.registry.errors import ModelNotFound, RegistryError, UnsafeModelError
from imgrec.registry.safety import (
    ARCHIVE_MEMBERS,
    MAX_ACTIVATION_VALUES,
    MAX_CONFIG_BYTES,
    MAX_INPUT_VALUES,
    MAX_MODEL_BYTES,
    MAX_PARAMETERS,
    MAX_UNPACKED_BYTES,
    NAME_PATTERN,
    check_activation_sizes,
    check_config_classes,
    inspect_archive,
    load_keras_bytes,
    sha256_bytes,
    validate_name,
)
from imgrec.registry.store import (
    BUILT_MODELS,
    MAX_CARD_BYTES,
    card,
    clean_temporary_files,
    delete,
    ensure_built,
    is_protected,
    list_models,
    load,
    model_bytes,
    model_file,
    save,
)

__all__ = [
    "ARCHIVE_MEMBERS", "BUILT_MODELS", "MAX_ACTIVATION_VALUES", "MAX_CARD_BYTES", "MAX_CONFIG_BYTES",
    "MAX_INPUT_VALUES", "MAX_MODEL_BYTES", "MAX_PARAMETERS", "MAX_UNPACKED_BYTES", "NAME_PATTERN",
    "REQUIRED_FIELDS", "Classifier", "FieldError", "InputSpec", "Metrics", "ModelCard", "ModelNotFound",
    "Prediction", "Preprocessing", "RegistryError", "Source", "TrainingRecord", "UnsafeModelError",
    "built_model_card", "card", "card_for_model", "card_for_training", "check_activation_sizes",
    "check_config_classes", "clean_temporary_files", "delete", "ensure_built", "inspect_archive", "is_protected",
    "list_models", "load", "load_keras_bytes", "model_bytes", "model_file", "preprocessing_for_dataset", "save",
    "sha256_bytes", "validate_name",
]
