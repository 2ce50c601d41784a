"""Can we trust the explanation? Faithfulness curves, the randomisation sanity check, localisation, a verdict.

Every heatmap tool shows a picture; these checks ask whether the picture is faithful to the
model. Written here rather than taken from Quantus (it pins `tensorflow<2.16` and does not
run on Keras 3); each metric is a few dozen lines of numpy around batched model calls.

- `curves`: deletion and insertion curves and their areas (Petsiuk et al., 2018).
- `randomization`: the cascading model-randomisation check (Adebayo et al., 2018), Spearman.
- `localisation`: the pointing game and the relevance mass inside a ground-truth mask.
- `verdict`: `judge(...)`, the verdict in one sentence a student can read.
- `report`: `check(model, image, method, class_index, **options)`, all of it in one call.
"""

from imgrec.trust.curves import Curve, deletion_insertion_curves, random_heatmap, random_reference
from imgrec.trust.localisation import pointing_game, relevance_mass
from imgrec.trust.randomization import Group, Step, cascade, layer_groups, spearman
from imgrec.trust.report import TrustReport, check

__all__ = [
    "Curve",
    "Group",
    "Step",
    "TrustReport",
    "cascade",
    "check",
    "deletion_insertion_curves",
    "layer_groups",
    "pointing_game",
    "random_heatmap",
    "random_reference",
    "relevance_mass",
    "spearman",
]
