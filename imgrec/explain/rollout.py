"""Attention rollout (Abnar & Zuidema, 2020): how attention flows from the input patches to the class token.

Per layer: fuse the heads, optionally zero the weakest links, add the identity for the
residual connection, renormalise rows, then multiply the layers together. The class token's
row of the product, laid out over the patch grid, is the heatmap; it is the same for every
class, since the attention does not depend on which class is asked about.
"""

import numpy as np

from imgrec import overlays
from imgrec.explain import attention, base, checks

_FUSIONS = {"mean": np.mean, "max": np.max, "min": np.min}

HEAD_FUSION = base.Option(
    name="head_fusion", title="Combine the heads by", kind="choice", default="mean", choices=tuple(_FUSIONS),
    help="How each layer's heads become one attention map: their mean, or the strongest or weakest link.",
)
DISCARD_RATIO = base.Option(
    name="discard_ratio", title="Discard the weakest links", kind="number", default=0.0, minimum=0.0, maximum=0.95,
    help="The fraction of the lowest attention weights set to zero in each layer before multiplying, which "
         "removes the faint background and sharpens the map.",
)


def attention_rollout(attention_weights, head_fusion="mean", discard_ratio=0.0):
    """Rolls attention out through all layers.

    Args:
        attention_weights: `(layers, heads, tokens, tokens)` (as `attention_maps` returns).
        head_fusion: "mean", "max" or "min" over heads. Defaults to `"mean"`.
        discard_ratio: fraction of the lowest attention weights per layer set to zero
            (token 0 to token 0 is always kept), in [0, 1). Defaults to `0.0`.

    Returns:
        float `(tokens, tokens)`; row i says how much each input token reaches token i.
        Rows sum to 1.

    Raises:
        ValueError: for weights of another shape, an unknown fusion or a ratio outside [0, 1).
    """
    weights = np.asarray(attention_weights, dtype=np.float64)
    if weights.ndim != 4 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"attention must be (layers, heads, tokens, tokens), got shape {weights.shape}.")
    if head_fusion not in _FUSIONS:
        raise ValueError(f"Unknown head_fusion {head_fusion!r}; choose one of {', '.join(_FUSIONS)}.")
    if not 0.0 <= float(discard_ratio) < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio!r}.")
    tokens = weights.shape[-1]
    identity = np.eye(tokens)
    product = identity.copy()
    for layer_weights in weights:
        fused = _FUSIONS[head_fusion](layer_weights, axis=0)
        if discard_ratio > 0:
            flat = fused.reshape(-1).copy()
            lowest = np.argsort(flat, kind="stable")[: int(flat.size * discard_ratio)]
            # jacobgil's rollout keeps the class token's link to itself.
            flat[lowest[lowest != 0]] = 0.0
            fused = flat.reshape(tokens, tokens)
        # The residual path: half of each token's output is the token itself.
        mixed = 0.5 * fused + 0.5 * identity
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        product = mixed @ product
    return product


def rollout_heatmap(model, image, head_fusion="mean", discard_ratio=0.0):
    """Returns the class token's attention rollout over the patches, at the input size.

    Args:
        model: a `keras.Model` with attention layers (`has_attention`).
        image: float32 `(height, width, channels)` in 0..255.
        head_fusion: see `attention_rollout`. Defaults to `"mean"`.
        discard_ratio: see `attention_rollout`. Defaults to `0.0`.

    Returns:
        float32 `(height, width)` in [0, 1].

    Raises:
        ValueError: for a model without attention, a bad image or bad options.
    """
    grid = attention.patch_grid(model)
    rolled = attention_rollout(attention.attention_maps(model, image), head_fusion, discard_ratio)
    patches = grid[0] * grid[1]
    extra = rolled.shape[0] - patches
    if extra < 0:
        raise ValueError(f"The attention has {rolled.shape[0]} tokens, fewer than {patches} patches.")
    # With a class token, its row is what the classifier reads; without one, average all rows.
    flow = rolled[0, extra:] if extra else rolled.mean(axis=0)
    heatmap = overlays.unit_range(attention.token_heatmap(flow, grid))
    height, width = model.input_shape[1], model.input_shape[2]
    return overlays.unit_range(overlays.upsample(heatmap, height, width))


def rollout(model, image, class_index, head_fusion=HEAD_FUSION.default, discard_ratio=DISCARD_RATIO.default):
    """The explainer's heatmap: `rollout_heatmap`, after checking that the model has the class.

    The class is checked but does not change the map: rollout follows the attention, which is
    the same for every class.
    """
    checks.class_index(model, class_index)
    return rollout_heatmap(model, image, head_fusion, discard_ratio)


EXPLAINER = base.Explainer(
    name="rollout",
    title="Attention rollout",
    description="The class token's attention multiplied through every transformer block, with the residual "
                "path, and mapped back to the patches it reads.",
    heatmap=rollout,
    applies_to=attention.has_attention,
    options=(HEAD_FUSION, DISCARD_RATIO),
    class_specific=False,
)
