"""ImageNet EfficientNet-Lite0, rebuilt in Keras from the weight file a pip package ships.

- `torch_pickle`: the restricted reader of the legacy PyTorch weight file (numpy alone).
- `efficientnet_lite0`: the Keras network with named layers, and the weights copied in.
- `imagenet`: the 1000 class names, accuracy on the labelled samples, the card's metadata.

The registry asks this package to build the model; this package never imports the registry.
The ImageNet crop the model's input needs is `preprocess.imagenet_crop`.
"""

from imgrec.preprocess import RESIZE_POLICIES
from imgrec.pretrained.efficientnet_lite0 import (
    INPUT_SIZE,
    LAST_CONV_LAYER,
    build_efficientnet_lite0,
    build_model,
    load_torch_weights,
)
from imgrec.pretrained.imagenet import (
    ARCHITECTURE,
    DATASET,
    MODEL_NAME,
    RESIZE_POLICY,
    SOURCE_LICENSE,
    card_metadata,
    class_names,
    evaluate_samples,
    labelled_samples,
)
from imgrec.pretrained.torch_pickle import (
    SOURCE_PACKAGE,
    WEIGHTS_FILE_NAME,
    UnsafePickleError,
    read_state_dict,
    weights_path,
    weights_sha256,
)

__all__ = [
    "ARCHITECTURE",
    "DATASET",
    "INPUT_SIZE",
    "LAST_CONV_LAYER",
    "MODEL_NAME",
    "RESIZE_POLICIES",
    "RESIZE_POLICY",
    "SOURCE_LICENSE",
    "SOURCE_PACKAGE",
    "WEIGHTS_FILE_NAME",
    "UnsafePickleError",
    "build_efficientnet_lite0",
    "build_model",
    "card_metadata",
    "class_names",
    "evaluate_samples",
    "labelled_samples",
    "load_torch_weights",
    "read_state_dict",
    "weights_path",
    "weights_sha256",
]
