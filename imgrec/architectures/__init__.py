"""The networks imgrec trains: what there is (no Keras needed) and the builders (Keras, imported on first use).

- `catalog`: `ARCHITECTURES` (the classifiers), `AUTOENCODER`, `ALL_ARCHITECTURES`, `TASKS`,
  `task_of`, `LATENT_LAYER`, `DESCRIPTIONS`, `RECURRENT_CELLS`, `default_patch_size`.
- `builders`: `build(architecture, input_shape, num_classes, ...)`, `is_binary`,
  `weights_are_finite`, and the ViT's own layers (`ClassTokenPositionEmbedding`, `ClassTokenSlice`).
- `autoencoder`: `build_autoencoder(input_shape, latent_dim, ...)`, `is_autoencoder`.

The builders are imported when one of their names is first asked for (`architectures.build`),
so a process that only validates configs or lists architectures (the web server's training
page, `runs submit`, a search driver) never starts TensorFlow.
"""

import importlib

from imgrec.architectures.catalog import (
    ALL_ARCHITECTURES,
    ARCHITECTURES,
    AUTOENCODER,
    DESCRIPTIONS,
    LATENT_LAYER,
    RECURRENT_CELLS,
    TASKS,
    default_patch_size,
    task_of,
)

# The names each Keras module defines, imported on first use.
_LAZY_NAMES = {
    "imgrec.architectures.builders": ("build", "is_binary", "weights_are_finite", "ClassTokenPositionEmbedding",
                                      "ClassTokenSlice"),
    "imgrec.architectures.autoencoder": ("build_autoencoder", "is_autoencoder"),
}

__all__ = ["ALL_ARCHITECTURES", "ARCHITECTURES", "AUTOENCODER", "DESCRIPTIONS", "LATENT_LAYER", "RECURRENT_CELLS",
           "TASKS", "default_patch_size", "task_of", *(name for names in _LAZY_NAMES.values() for name in names)]


def __getattr__(name):
    # PEP 562: the first use of a builder imports Keras; the name is then bound here for good.
    for module, names in _LAZY_NAMES.items():
        if name in names:
            value = getattr(importlib.import_module(module), name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'imgrec.architectures' has no attribute {name!r}")
