"""Training: a validated `TrainConfig`, and `train(config, on_progress=...)` returning a `TrainResult`.

- `config`: `TrainConfig`, `ConfigError`, `PRESETS` and `preset`, `OPTIMIZERS`, `LR_SCHEDULES`.
- `augment`: the augmentation pipeline a config asks for, and previews of it.
- `train`: the training loop and its helpers (`build_model`, `compile_model`, `prepare_data`).
"""

import importlib

from imgrec.training.config import LR_SCHEDULES, OPTIMIZERS, PRESETS, ConfigError, TrainConfig, preset

# The rest imports Keras, so it is imported on first use (PEP 562): the web server validates
# configs and lists presets through this package without ever importing TensorFlow.
_LAZY = {
    **{name: "augment" for name in ("augment_preview", "augmentation_grid", "build_augmenter", "make_augmenter")},
    **{name: "train" for name in ("NonFiniteError", "ProgressCallback", "TrainResult", "build_model", "compile_model",
                                  "make_optimizer", "prepare_data", "train")},
}


def __getattr__(name):
    owner = _LAZY.get(name)
    if owner is None:
        raise AttributeError(f"module 'imgrec.training' has no attribute {name!r}")
    module = importlib.import_module(f"imgrec.training.{owner}")
    # Importing `imgrec.training.train` binds the package's `train` to that module: the
    # function takes the name back, with every other name of the module, as an eager import would.
    globals().update({lazy: getattr(module, lazy) for lazy, source in _LAZY.items() if source == owner})
    return globals()[name]


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
