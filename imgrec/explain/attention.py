"""A vision transformer's attention as arrays: the weights of every head, the patch grid, how far heads look.

Pure arrays out, no plotting: `figures.attention_heads_grid` and `figures.mean_distance_scatter`
draw them. Attention rollout, the explainer built on these weights, is `rollout.py`.
"""

import numpy as np

from imgrec.explain import checks, layers, taps


def _attention_layers(model):
    """The MultiHeadAttention layers whose scores are in the graph, in model order."""
    found = []
    for layer, _, _ in layers.walk(model):
        if "MultiHeadAttention" in layers.type_names(layer):
            try:
                outputs = layers.output_tensors(layer)
            except (AttributeError, ValueError):
                continue
            if len(outputs) == 2 and len(outputs[1].shape) == 4:
                found.append(layer)
    return found


def has_attention(model):
    """Returns True when the model has attention layers whose scores can be read (a ViT)."""
    return bool(_attention_layers(model))


def _require_attention(model):
    found = _attention_layers(model)
    if not found:
        raise ValueError(
            f"Model {model.name!r} has no attention layers returning their scores, so there is no "
            "attention to show; attention maps and rollout apply to the ViT."
        )
    return found


def attention_maps(model, image):
    """Returns every attention layer's scores for one image.

    Args:
        model: a `keras.Model` with attention layers (`has_attention`).
        image: float32 `(height, width, channels)` in 0..255.

    Returns:
        float32 `(layers, heads, tokens, tokens)`; row i is where token i looks, and sums
        to 1. For our ViT, token 0 is the class token, then the patches row by row.

    Raises:
        ValueError: for a model without attention or a bad image.
    """
    tapped = tuple((layer, "scores") for layer in _require_attention(model))
    scores = taps.read(model, checks.as_batch(model, image), tapped)
    return np.stack([layer_scores[0] for layer_scores in scores]).astype(np.float32)


def patch_grid(model):
    """Returns `(rows, cols, patch_size)` of a ViT's patches.

    Read from the patch-embedding convolution (strides equal to its kernel), else from the
    attention size when it is a square grid plus a class token.

    Raises:
        ValueError: for a model without attention.
    """
    found = _require_attention(model)
    for layer, _, _ in layers.walk(model):
        if "Conv2D" in layers.type_names(layer) and tuple(layer.strides) == tuple(layer.kernel_size) and layer.strides[0] > 1:
            shape = layers.output_tensors(layer)[0].shape
            return int(shape[1]), int(shape[2]), int(layer.kernel_size[0])
    tokens = int(layers.output_tensors(found[0])[1].shape[-1])
    side = int(round(np.sqrt(tokens - 1)))
    if side * side != tokens - 1 or model.input_shape[1] % side:
        raise ValueError(f"Cannot tell the patch grid of {model.name!r} from {tokens} tokens.")
    return side, side, int(model.input_shape[1]) // side


def extra_tokens(model):
    """Returns how many tokens come before the patches in a ViT's attention: 1 for a class token, else 0.

    Raises:
        ValueError: for a model without attention.
    """
    tokens = int(layers.output_tensors(_require_attention(model)[0])[1].shape[-1])
    rows, cols, _ = patch_grid(model)
    return tokens - rows * cols


def query_attention(attention, grid, query=None, *, head_mean=False):
    """Returns where one token looks: each layer's and head's attention from it, laid over the patch grid.

    Args:
        attention: `(layers, heads, tokens, tokens)`, as `attention_maps` returns; the
            tokens before the patches (a class token) come first.
        grid: `(rows, cols)` or `(rows, cols, patch_size)`, as `patch_grid` returns.
        query: `(row, col)` of the patch that looks, or None for the first token (the class
            token). Defaults to `None`.
        head_mean: append the mean over the heads as one more head. Defaults to `False`.

    Returns:
        float32 `(layers, heads, rows, cols)` (`heads + 1` with `head_mean`): the query's
        weights on the patches; its weights on the class tokens are left out.

    Raises:
        ValueError: for a query outside the grid, a class-token query without a class
            token, or attention that does not fit the grid.

    Example:

    >>> weights = np.zeros((1, 1, 5, 5)); weights[0, 0, 0, 4] = 1.0
    >>> query_attention(weights, (2, 2))[0, 0].tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    attention = np.asarray(attention, dtype=np.float32)
    rows, cols = int(grid[0]), int(grid[1])
    extra = attention.shape[-1] - rows * cols if attention.ndim == 4 else -1
    if extra < 0:
        raise ValueError(f"attention must be (layers, heads, tokens, tokens) with at least {rows * cols} tokens.")
    if query is None:
        if not extra:
            raise ValueError("This attention has no class token; choose a patch (row, col) as the query.")
        token = 0
    else:
        row, col = (int(value) for value in query)
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"The query patch ({row}, {col}) is outside the {rows} x {cols} grid.")
        token = extra + row * cols + col
    maps = attention[:, :, token, extra:]
    if head_mean:
        maps = np.concatenate([maps, maps.mean(axis=1, keepdims=True)], axis=1)
    return maps.reshape(*maps.shape[:2], rows, cols)


def token_heatmap(values_over_patches, grid):
    """Lays one value per patch (row-major) out as the `(rows, cols)` patch grid.

    Args:
        values_over_patches: `rows * cols` values (no class token).
        grid: `(rows, cols)` or `(rows, cols, patch_size)`, as `patch_grid` returns.

    Returns:
        float32 `(rows, cols)`.

    Example:

    >>> token_heatmap(np.arange(6), (2, 3)).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    rows, cols = int(grid[0]), int(grid[1])
    values = np.asarray(values_over_patches, dtype=np.float32).reshape(-1)
    if values.size != rows * cols:
        raise ValueError(f"Expected {rows * cols} patch values for a {rows}x{cols} grid, got {values.size}.")
    return values.reshape(rows, cols)


def mean_attention_distance(attention, grid):
    """Returns how far each head looks, in pixels, as keras.io's probing_vits example computes it.

    For each query patch: the distance to every key patch (between patch centres, in pixels)
    weighted by the attention, summed; then averaged over query patches. Class tokens are
    dropped from both axes, and rows are not renormalised after that, as in the example.

    Args:
        attention: `(layers, heads, tokens, tokens)` or `(heads, tokens, tokens)`.
        grid: `(rows, cols, patch_size)`, as `patch_grid` returns.

    Returns:
        float `(layers, heads)` (or `(heads,)` for one layer).
    """
    attention = np.asarray(attention, dtype=np.float64)
    rows, cols, patch_size = int(grid[0]), int(grid[1]), int(grid[2])
    patches = rows * cols
    extra = attention.shape[-1] - patches
    if attention.ndim not in (3, 4) or extra < 0:
        raise ValueError(f"attention must be (..., heads, tokens, tokens) with at least {patches} tokens.")
    attention = attention[..., extra:, extra:]
    positions = np.stack(np.divmod(np.arange(patches), cols), axis=-1)
    distances = patch_size * np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    return (attention * distances).sum(axis=-1).mean(axis=-1)
