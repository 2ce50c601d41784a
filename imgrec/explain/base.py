"""The explainer contract: one `Explainer` record per technique, with `Option` records for what it takes.

A technique is a module that defines its heatmap function and registers it as an
`Explainer`: pages, the CLI and tests pick it by name through `explain.explain(...)` and
list what applies through `explain.applicable(model)`, so a new technique is one new module
plus one line in `explainers.py`.
"""

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from imgrec.explain import layers

OPTION_KINDS = ("integer", "number", "choice", "layer")


@dataclasses.dataclass(frozen=True)
class Option:
    """One keyword option of an explainer, described well enough to build a widget or a CLI flag."""

    name: str  # The keyword the heatmap function takes, e.g. "samples".
    title: str  # A label for a widget, e.g. "Noisy copies".
    kind: str  # "integer", "number", "choice", or "layer": one of the model's spatial layers.
    default: object  # The value when the option is not given; for a "layer", None: the model's last conv.
    help: str  # One sentence: what the option changes.
    minimum: float | None = None  # The smallest allowed "integer" or "number" (inclusive).
    maximum: float | None = None  # The largest allowed "integer" or "number" (inclusive).
    choices: tuple = ()  # The allowed values of a "choice".

    def __post_init__(self):
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"Option {self.name!r} has kind {self.kind!r}; choose one of {', '.join(OPTION_KINDS)}.")
        if self.kind in ("integer", "number") and (self.minimum is None or self.maximum is None):
            raise ValueError(f"Option {self.name!r} is a {self.kind} and needs a minimum and a maximum.")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"Option {self.name!r} is a choice and needs its choices.")

    def choices_for(self, model):
        """Returns the values this option allows for a model: its spatial layers for a "layer"."""
        return tuple(layers.spatial_layers(model)) if self.kind == "layer" else self.choices

    def default_for(self, model):
        """Returns the value used for a model when the option is not given."""
        return layers.last_conv_layer_name(model) if self.kind == "layer" else self.default

    def check(self, value):
        """Returns `value` (an int for "integer", a float for "number") after checking its kind and bounds.

        A "layer" is only checked to be a name (or None for the default): the explainer
        itself says which layers have a feature map.

        Raises:
            ValueError: for a value of the wrong kind, outside the bounds or not among the choices.
        """
        if self.kind == "layer":
            if value is None or (isinstance(value, str) and value):
                return value
            raise ValueError(f"{self.name} must be a layer name, got {value!r}.")
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, got {value!r}.")
        if self.kind == "integer":
            valid = isinstance(value, int | np.integer) and not isinstance(value, bool)
            number, what = (int(value) if valid else None), "an integer"
        else:
            valid = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
            number, what = (float(value) if valid else None), "a number"
            valid = valid and math.isfinite(number)
        if not valid or not self.minimum <= number <= self.maximum:
            raise ValueError(f"{self.name} must be {what} from {self.minimum:g} to {self.maximum:g}, got {value!r}.")
        return number


@dataclasses.dataclass(frozen=True)
class Explainer:
    """One explanation technique: what it is called, what it shows, and how to run it."""

    name: str  # The key callers pick it by, e.g. "gradcam".
    title: str  # What a reader calls it, e.g. "Grad-CAM".
    description: str  # One sentence: what the heatmap shows.
    heatmap: Callable  # (model, image, class_index, **options) -> float32 (H, W) in [0, 1] at the input size.
    applies_to: Callable  # model -> bool: whether `heatmap` can explain this model.
    options: tuple = ()  # The `Option`s that `heatmap` takes, in the order a form shows them.
    class_specific: bool = True  # False when the map is the same whatever the class (attention rollout).

    def option(self, name):
        """Returns the `Option` named `name`, or None when this explainer takes no such option."""
        return next((option for option in self.options if option.name == name), None)


def any_model(model):
    """`applies_to` for techniques that need only gradients: every model here is differentiable."""
    return True
