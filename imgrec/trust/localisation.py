"""Localisation of a heatmap against a ground-truth object mask: the pointing game and the relevance mass.

Where the right answer is known (the `shapes` dataset draws each object's mask), a map can
be scored against it. The pointing game (Zhang et al., 2016) asks whether the map's peak lies
on the object; the relevance mass (Arras et al., 2022) is the share of the map's total that
falls inside it. Both are 1 for a perfect map; a map of noise scores about the object's
share of the image.
"""

import numpy as np

from imgrec.explain import explainers

# A mask holds each pixel's coverage by the object (anti-aliased edges): a pixel at least
# half covered counts as the object's.
COVERED = 0.5


def _object(mask):
    return np.asarray(mask, dtype=np.float32) >= COVERED


def pointing_game(heatmap, mask):
    """Returns whether a map's peak lies on the object.

    When several pixels share the maximum (a flat occlusion block), the map points at the
    object when at least half of them lie on it; a map with no positive value points nowhere.

    Args:
        heatmap: `(height, width)` non-negative map.
        mask: `(height, width)` the object's coverage of each pixel, in [0, 1].

    Returns:
        True for a hit.
    """
    heatmap = np.asarray(heatmap, dtype=np.float64)
    inside = _object(mask)
    if heatmap.shape != inside.shape:
        raise ValueError(f"A heatmap of shape {heatmap.shape} cannot be scored against a mask of {inside.shape}.")
    peak = heatmap.max()
    if not peak > 0:
        return False
    return bool(inside[heatmap == peak].mean() >= 0.5)


def relevance_mass(heatmap, mask):
    """Returns the share of a map's total that lies on the object, in [0, 1] (0 for an empty map).

    Args:
        heatmap: `(height, width)` non-negative map.
        mask: `(height, width)` the object's coverage of each pixel, in [0, 1].
    """
    heatmap = np.maximum(np.asarray(heatmap, dtype=np.float64), 0.0)
    inside = _object(mask)
    if heatmap.shape != inside.shape:
        raise ValueError(f"A heatmap of shape {heatmap.shape} cannot be scored against a mask of {inside.shape}.")
    total = heatmap.sum()
    return float(heatmap[inside].sum() / total) if total > 0 else 0.0


def scores(heatmaps, masks):
    """Returns the mean pointing game and relevance mass of maps against their masks.

    Returns:
        `{"n", "pointing_game", "relevance_mass"}`, each mean in [0, 1].
    """
    if len(heatmaps) != len(masks) or not len(masks):
        raise ValueError(f"Need as many masks as maps, at least one; got {len(heatmaps)} maps and {len(masks)} masks.")
    hits = [pointing_game(heatmap, mask) for heatmap, mask in zip(heatmaps, masks, strict=True)]
    masses = [relevance_mass(heatmap, mask) for heatmap, mask in zip(heatmaps, masks, strict=True)]
    return {"n": len(masks), "pointing_game": float(np.mean(hits)), "relevance_mass": float(np.mean(masses))}


def evaluate(model, images, labels, masks, method, **options):
    """Explains each image's labelled class with one explainer and scores the maps against the masks.

    Args:
        model: a `keras.Model` taking the images as they are.
        images: `(n, height, width, channels)` in 0..255.
        labels: `(n,)` the class of each image's object: the class explained.
        masks: `(n, height, width)` each object's coverage of each pixel.
        method: an explainer name (`explain.EXPLAINERS`).
        **options: the explainer's options.

    Returns:
        `{"n", "pointing_game", "relevance_mass"}`.

    Raises:
        ValueError: for an unknown method or option, images the model cannot take, or
            mismatched lengths.
    """
    if not len(images) == len(labels) == len(masks):
        raise ValueError(f"Got {len(images)} images, {len(labels)} labels and {len(masks)} masks; pass one of each.")
    heatmaps = [explainers.explain(model, np.asarray(image, np.float32), method, int(label), **options)
                for image, label in zip(images, labels, strict=True)]
    return scores(heatmaps, masks)
