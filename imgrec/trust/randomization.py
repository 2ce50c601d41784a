"""The cascading model-randomisation check (Adebayo et al., 2018): does the map change when the weights are scrambled?

Layers are re-initialised from the output down, one group at a time, and the map is computed
again after each group; the Spearman rank correlation with the original map says how much of
it survived. A map that stays the same when the model has forgotten everything it learned
explains the image (its edges), not the model: Adebayo et al. found Guided Backprop so,
while gradients and Grad-CAM decorrelate.

The served model is never touched: each model gets one clone, built once and cached, whose
weights are set group by group and put back after every check. Cloning EfficientNet-Lite0
takes 0.3 s, but tracing the clone's explainer graphs makes a model's first check the slow
one (measured on 2 busy cores: 7.0 s, then 1.5-2.6 s). A lock per clone keeps two sessions
from scrambling it at once.
"""

import dataclasses
import re
import threading
import weakref

import numpy as np

from imgrec.explain import layers

# Normalisation layers belong to the layer they normalise (conv -> batch norm is one group).
_NORMALISATIONS = ("BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization")
# EfficientNet-Lite0 has 10 natural groups (predictions, head, block7 ... block1, stem); more
# than this are merged, so a check costs at most this many maps.
MAX_GROUPS = 10
# The variable names whose initializer a layer keeps under another attribute name.
_INITIALIZER_ATTRIBUTES = {
    "kernel": ("kernel_initializer", "depthwise_initializer"),
    "recurrent_kernel": ("recurrent_initializer",),
}


@dataclasses.dataclass(frozen=True)
class Group:
    """Layers re-initialised together, named for a reader."""

    name: str  # e.g. "predictions", "block7" or "conv3".
    layer_names: tuple  # The weighted layers in it, input side first.


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the cascade: every group up to this one is random."""

    layer: str  # The group re-initialised at this step (`Group.name`).
    spearman: float  # The rank correlation of the map with the original map, in [-1, 1].
    heatmap: np.ndarray  # (height, width) the map with these groups random.

    def to_dict(self, with_heatmap=False):
        """Returns `{"layer", "spearman"}` (and the map as nested lists when asked)."""
        values = {"layer": self.layer, "spearman": self.spearman}
        if with_heatmap:
            values["heatmap"] = self.heatmap.tolist()
        return values


def spearman(first, second):
    """Returns the Spearman rank correlation of two maps, ties ranked by their average; 0 when either is constant.

    A constant map (a Grad-CAM that died with its weights) has no ranking to agree with, so it
    counts as uncorrelated rather than as undefined.
    """
    from scipy import stats

    first, second = np.ravel(first).astype(np.float64), np.ravel(second).astype(np.float64)
    if first.shape != second.shape:
        raise ValueError(f"Maps of {first.size} and {second.size} values cannot be compared.")
    if np.ptp(first) == 0 or np.ptp(second) == 0:
        return 0.0
    return float(stats.spearmanr(first, second).statistic)


def _weighted_leaves(model):
    """Every layer with weights, nested models opened, in the order the model runs them."""
    return [layer for layer, _, _ in layers.walk(model) if layer.weights and not layers.is_model(layer)]


def _stage(name):
    """The stage a layer's name places it in: "block7a_dwconv" -> "block7", "conv3" -> "conv3"."""
    match = re.match(r"[A-Za-z]+\d+", name)
    return match.group(0) if match else name


def _grouped_leaves(model, max_groups):
    """`(name, leaf indices)` per group, output side first; the indices are into `_weighted_leaves(model)`."""
    leaves = _weighted_leaves(model)
    units = []
    for index, layer in enumerate(leaves):
        if units and layers.type_names(layer) & set(_NORMALISATIONS):
            units[-1].append(index)
        else:
            units.append([index])
    stages = []
    for unit in units:
        stage = _stage(leaves[unit[0]].name)
        if stages and stage != leaves[unit[0]].name and _stage(leaves[stages[-1][0][0]].name) == stage:
            stages[-1].append(unit)
        else:
            stages.append([unit])
    groups = [(_stage(leaves[stage[0][0]].name) if len(stage) > 1 else leaves[stage[0][0]].name,
               [index for unit in stage for index in unit]) for stage in stages]
    if len(groups) > max_groups:
        head, rest = groups[-1], groups[:-1]
        runs = np.array_split(np.arange(len(rest)), max_groups - 1)
        groups = [(rest[run[0]][0] if len(run) == 1 else f"{rest[run[0]][0]} to {rest[run[-1]][0]}",
                   [index for position in run for index in rest[position][1]]) for run in runs] + [head]
    return groups[::-1]


def layer_groups(model, max_groups=MAX_GROUPS):
    """Returns the groups of weighted layers that the cascade re-initialises, from the output down.

    A normalisation layer joins the layer before it; consecutive layers of one stage ("block7a",
    "block7b") form one group; beyond `max_groups` groups, all but the output layer's are
    merged into runs of about equal length.

    Args:
        model: a `keras.Model`.
        max_groups: the most groups, at least 2. Defaults to `MAX_GROUPS`.

    Returns:
        A list of `Group`s, the output layer's first.
    """
    leaves = _weighted_leaves(model)
    return [Group(name, tuple(leaves[index].name for index in indices))
            for name, indices in _grouped_leaves(model, max_groups)]


def _fresh_value(layer, variable, rng):
    """A re-initialised value for one variable: the layer's own initializer, freshly seeded; else its values shuffled."""
    name = variable.name.split("/")[-1]
    for attribute in _INITIALIZER_ATTRIBUTES.get(name, (f"{name}_initializer",)):
        initializer = getattr(layer, attribute, None)
        if initializer is not None and callable(initializer):
            config = initializer.get_config()
            if "seed" in config:
                initializer = type(initializer).from_config({**config, "seed": int(rng.integers(2**31 - 1))})
            return np.asarray(initializer(tuple(variable.shape), dtype=variable.dtype))
    # A weight without a named initializer (a class token, position embeddings): shuffling its
    # values keeps their scale and forgets what each one learned.
    return rng.permutation(np.asarray(variable).ravel()).reshape(variable.shape)


class _Scratch:
    """A clone of a model, the clone's original weights and the re-initialised values of each group."""

    def __init__(self, model, seed):
        import keras

        grouped = _grouped_leaves(model, MAX_GROUPS)
        self.names = [name for name, _ in grouped]
        self.clone = keras.models.clone_model(model)
        self.clone.set_weights(model.get_weights())
        # The clone's variables in the order of the model's, which clone_model keeps.
        self.variables = list(self.clone.weights)
        self.originals = [np.asarray(variable) for variable in self.variables]
        self.lock = threading.Lock()
        index_of = {id(variable): index for index, variable in enumerate(model.weights)}
        leaves = _weighted_leaves(model)
        rng = np.random.default_rng(seed)
        self.fresh = []  # Per group: [(index into self.variables, value)].
        for _, indices in grouped:
            self.fresh.append([(index_of[id(variable)], _fresh_value(leaves[leaf], variable, rng))
                               for leaf in indices for variable in leaves[leaf].weights])

    def restore(self):
        for variable, value in zip(self.variables, self.originals, strict=True):
            variable.assign(value)


# One scratch clone per live model, held weakly by the model: dropping the model frees its clone.
_SCRATCH = weakref.WeakKeyDictionary()
_SCRATCH_LOCK = threading.Lock()


def _scratch(model, seed):
    with _SCRATCH_LOCK:
        by_seed = _SCRATCH.setdefault(model, {})
        if seed not in by_seed:
            by_seed[seed] = _Scratch(model, seed)
        return by_seed[seed]


def cascade(model, heatmap_of, original, seed=0):
    """Re-initialises the model's layer groups from the output down and recomputes the map after each.

    Args:
        model: a `keras.Model` (never changed: a cached clone is).
        heatmap_of: a function `(model) -> (height, width) map`, e.g. a lambda around
            `explain.explain(model, image, method, class_index)`.
        original: the map of the trained model, `heatmap_of(model)`.
        seed: the seed of the random weights. Defaults to `0`.

    Returns:
        A list of `Step`s, one per group, the output layer's first; step k has groups 1..k random.
    """
    scratch = _scratch(model, seed)
    steps = []
    with scratch.lock:
        try:
            for name, values in zip(scratch.names, scratch.fresh, strict=True):
                for index, value in values:
                    scratch.variables[index].assign(value)
                heatmap = np.asarray(heatmap_of(scratch.clone), dtype=np.float32)
                steps.append(Step(name, spearman(original, heatmap), heatmap))
        finally:
            scratch.restore()
    return steps
