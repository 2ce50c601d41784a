"""The model registry: list, load (validated, integrity-checked, safe mode) and save (atomic, with its card).

A model is `models/NAME.keras` plus its card `models/NAME.json`. Model files are untrusted
input: `load` checks the name, the path, the sha256, the archive's members and every class
named in its `config.json` against an allow-list, and estimates the parameter count, all
before Keras deserialises anything; then Keras loads in safe mode.

The parts: `store` (the folder), `safety` (the checks before Keras sees a file), `cards` (the
typed `ModelCard` and the one place cards are built) over `records` (typed JSON records),
`imports` (a user's uploaded model: its checks and quotas), `classifier` (a loaded model plus
its card) and `errors`.
"""

from imgrec.registry.cards import (
    REQUIRED_FIELDS,
    ImportRecord,
    InputSpec,
    Metrics,
    ModelCard,
    Preprocessing,
    Source,
    TrainingRecord,
    built_model_card,
    card_for_import,
    card_for_model,
    card_for_training,
    metrics_from_report,
    preprocessing_for_dataset,
)
from imgrec.registry.classifier import Classifier, Prediction
from imgrec.registry.errors import ModelNotFound, RegistryError, UnsafeModelError
from imgrec.registry.imports import (
    MAX_IMPORT_BYTES,
    CheckedImport,
    check_import,
    check_quotas,
    imported_models,
    max_imported_models,
    max_imports_per_session,
    save_import,
)
from imgrec.registry.records import FieldError
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
    check_config,
    check_config_classes,
    inspect_archive,
    load_keras_bytes,
    open_archive,
    read_archive_json,
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
    locked_registry,
    model_bytes,
    model_file,
    save,
)

__all__ = [
    "ARCHIVE_MEMBERS", "BUILT_MODELS", "MAX_ACTIVATION_VALUES", "MAX_CARD_BYTES", "MAX_CONFIG_BYTES",
    "MAX_IMPORT_BYTES", "MAX_INPUT_VALUES", "MAX_MODEL_BYTES", "MAX_PARAMETERS", "MAX_UNPACKED_BYTES",
    "NAME_PATTERN", "REQUIRED_FIELDS", "CheckedImport", "Classifier", "FieldError", "ImportRecord",
    "InputSpec", "Metrics", "ModelCard", "ModelNotFound", "Prediction", "Preprocessing", "RegistryError",
    "Source", "TrainingRecord", "UnsafeModelError", "built_model_card", "card", "card_for_import",
    "card_for_model", "card_for_training", "check_activation_sizes", "check_config", "check_config_classes",
    "check_import", "check_quotas", "clean_temporary_files", "delete", "ensure_built", "imported_models",
    "inspect_archive", "is_protected", "list_models", "load", "load_keras_bytes", "locked_registry",
    "max_imported_models", "max_imports_per_session", "metrics_from_report", "model_bytes", "model_file",
    "open_archive", "preprocessing_for_dataset", "read_archive_json", "save", "save_import", "sha256_bytes",
    "validate_name",
]
