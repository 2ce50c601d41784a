"""What compute.py tells the pages about a model's explainers and patches: small frozen records of plain values."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class LayerChoice:
    """The layer option of an explainer (which feature map Grad-CAM weights), for one model."""

    title: str  # The widget's label, e.g. "Feature maps to weight".
    help: str  # One sentence: what the option changes.
    layers: tuple  # The layers the model offers, in order.
    default: str  # The layer used when none is chosen (the last convolutional map).


@dataclasses.dataclass(frozen=True)
class ExplainerChoice:
    """An explanation technique that applies to a model, described for the page."""

    name: str  # What `explanation` takes, e.g. "gradcam".
    title: str  # What a reader calls it, e.g. "Grad-CAM".
    description: str  # One sentence: what the heatmap shows.
    class_specific: bool  # False when the map is the same whatever the class (attention rollout).
    layer: LayerChoice | None  # Its layer option, or None when it takes none.


@dataclasses.dataclass(frozen=True)
class PatchGrid:
    """How a vision transformer cuts its input into patches."""

    rows: int
    cols: int
    patch_size: int  # Pixels on a side of one patch, at the model's input size.
    class_token: bool  # Whether a class token comes before the patches.
