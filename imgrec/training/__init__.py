"""Training: a validated `TrainConfig`, and `train(config, on_progress=...)` returning a `TrainResult`.

- `config`: `TrainConfig`, `ConfigError`, `PRESETS` and `preset`, `OPTIMIZERS`, `LR_SCHEDULES`.
- `augment`: the augmentation pipeline a config asks for, and previews of it.
- `train`: the training loop and its helpers (`build_model`, `compile_model`, `prepare_data`).
"""

from imgrec.training.augment import augment_preview, augmentation_grid, build_augmenter, make_augmenter
from imgrec.training.config import LR_SCHEDULES, OPTIMIZERS, PRESETS, ConfigError, TrainConfig, preset
from imgrec.training.train import (
    NonFiniteError,
    ProgressCallback,
    TrainResult,
    build_model,
    compile_model,
    make_optimizer,
    prepare_data,
    train,
)

__all__ = [
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PRESETS",
    "ConfigError",
    "NonFiniteError",
    "ProgressCallback",
    "TrainConfig",
    "TrainResult",
    "augment_preview",
    "augmentation_grid",
    "build_augmenter",
    "build_model",
    "compile_model",
    "make_augmenter",
    "make_optimizer",
    "prepare_data",
    "preset",
    "train",
]
