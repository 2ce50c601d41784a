"""Training: a validated `TrainConfig`, and `train(config, on_progress=...)` returning a `TrainResult`.

- `config`: `TrainConfig`, `ConfigError`, `PRESETS` and `preset`, `OPTIMIZERS`, `LR_SCHEDULES`.
- `augment`: the augmentation pipeline a config asks for, and previews of it.
- `loop`: the training loop and its helpers (`train`, `build_model`, `compile_model`, `prepare_data`).

`config` needs no Keras; `augment` and `loop` are imported when one of their names is first
asked for (`training.train`), so validating and queueing runs never starts TensorFlow.
"""

import importlib

from imgrec.training.config import LR_SCHEDULES, OPTIMIZERS, PRESETS, ConfigError, TrainConfig, preset

_LAZY = {
    **dict.fromkeys(("augment_preview", "augmentation_grid", "build_augmenter", "make_augmenter"), "augment"),
    **dict.fromkeys(("NonFiniteError", "ProgressCallback", "TrainResult", "build_model", "compile_model",
                     "make_optimizer", "prepare_data", "train"), "loop"),
}

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "PRESETS", "ConfigError", "TrainConfig", "preset", *_LAZY]


def __getattr__(name):
    # PEP 562: the first use of a Keras-backed name imports its module; the name is then bound here.
    if name in _LAZY:
        value = getattr(importlib.import_module(f"imgrec.training.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imgrec.training' has no attribute {name!r}")
