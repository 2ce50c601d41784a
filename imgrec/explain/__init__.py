"""What a model sees and why it decides: layers, feature maps, kernels, convolution arithmetic, explainers, attention.

Every function takes a Keras model and ONE preprocessed image (`Classifier.preprocess`
output: float32 `(height, width, channels)` in 0..255) and returns numpy arrays; colouring
is `overlays.py`'s job and drawing `figures/`'s. Heatmaps are `(height, width)` at the
model's input size, in [0, 1].

Each explanation technique is one module registered as an `Explainer` record (`base.py`):
`gradcam`, `gradcam_plus_plus`, `saliency`, `smoothgrad`, `integrated_gradients`, `occlusion`,
`rollout`. Callers pick one by name through `explain(model, image, method, class_index,
**options)` and list what applies with `applicable(model)`. The machinery they share is in
its own modules: `layers` (finding layers, also in nested models), `graph` (how they connect),
`taps` (sub-models that return inner tensors), `gradients` (class scores and their
gradients), `cache` (compiled functions per model), `checks` (arguments) and `baselines`
(the neutral images Integrated Gradients starts from and occlusion paints with).

Written here rather than taken from tf-keras-vis: its 0.8.7 runs on Keras 3.15 / TF 2.21
for flat models but fails on nested ones ("Output with path `1` is not connected to
`inputs`"), rebuilds an eager graph per call (~80 ms on the CNN, ~520 ms Grad-CAM on
EfficientNet-Lite0 on 2 cores) and has no attention rollout.
"""

from imgrec.explain.arithmetic import conv_arithmetic
from imgrec.explain.attention import (
    attention_maps,
    extra_tokens,
    has_attention,
    mean_attention_distance,
    patch_grid,
    query_attention,
    token_heatmap,
)
from imgrec.explain.base import Explainer, Option
from imgrec.explain.cache import clear_cache
from imgrec.explain.checks import num_classes
from imgrec.explain.explainers import EXPLAINERS, applicable, explain
from imgrec.explain.features import activation_ranges, conv_kernels, feature_maps
from imgrec.explain.gradients import class_scores, input_gradients
from imgrec.explain.graph import layer_edges
from imgrec.explain.layers import find_layer, last_conv_layer_name, layer_table, spatial_layers
from imgrec.explain.rollout import attention_rollout, rollout_heatmap

__all__ = [
    "EXPLAINERS",
    "Explainer",
    "Option",
    "activation_ranges",
    "applicable",
    "attention_maps",
    "attention_rollout",
    "class_scores",
    "clear_cache",
    "conv_arithmetic",
    "conv_kernels",
    "explain",
    "extra_tokens",
    "feature_maps",
    "find_layer",
    "has_attention",
    "input_gradients",
    "last_conv_layer_name",
    "layer_edges",
    "layer_table",
    "mean_attention_distance",
    "num_classes",
    "patch_grid",
    "query_attention",
    "rollout_heatmap",
    "spatial_layers",
    "token_heatmap",
]
