"""The networks imgrec trains: what there is (no Keras needed) and the builders (Keras, imported on first use).

- `catalog`: `ARCHITECTURES`, `DESCRIPTIONS`, `RECURRENT_CELLS`, `default_patch_size`.
- `builders`: `build(architecture, input_shape, num_classes, ...)`, `is_binary`,
  `weights_are_finite`, and the ViT's own layers (`ClassTokenPositionEmbedding`, `ClassTokenSlice`).

The builders are imported when one of their names is first asked for (`architectures.build`),
so a process that only validates configs or lists architectures (the web server's training
page, `runs submit`, a search driver) never starts TensorFlow.
"""

import importlib

from imgrec.architectures.catalog import ARCHITECTURES, DESCRIPTIONS, RECURRENT_CELLS, default_patch_size

_BUILDER_NAMES = ("build", "is_binary", "weights_are_finite", "ClassTokenPositionEmbedding", "ClassTokenSlice")

__all__ = ["ARCHITECTURES", "DESCRIPTIONS", "RECURRENT_CELLS", "default_patch_size", *_BUILDER_NAMES]


def __getattr__(name):
    # PEP 562: the first use of a builder imports Keras; the name is then bound here for good.
    if name in _BUILDER_NAMES:
        value = getattr(importlib.import_module("imgrec.architectures.builders"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imgrec.architectures' has no attribute {name!r}")
