"""Arrays in, Plotly figures out: predictions, images, feature maps, kernels, attention and training charts.

Every function is pure (no Streamlit, no model): it takes numpy arrays or plain lists and
dicts and returns a `plotly.graph_objects.Figure` sized to read at a glance in a 1280x800
window; only the architecture graph is Graphviz DOT text, which the browser draws. Titles
and axis labels say what the reader is looking at.

The modules: `common` (the look, layout, words), `images` (top classes, one image),
`mosaic` (many small maps as one trace), `grids` (feature maps, kernels, numbers, attention),
`training` (curves, confusion matrix, per-class scores, ROC, runs compared), `learned` (filter
pictures, the data map, reconstructions, the latent walk), `architecture` (the layers as a
graph) and `trust` (deletion and insertion curves against random maps).
"""

from imgrec.figures.architecture import KIND_FILLS, architecture_dot
from imgrec.figures.common import (
    ACCENT,
    BASE_COLOUR,
    DIVERGING,
    FONT_SIZE,
    SEQUENTIAL,
    TEMPLATE,
    article,
    number_text,
    ordinal,
    plural,
)
from imgrec.figures.grids import (
    ATTENTION_MAP_PIXELS,
    HEADS_WIDTH,
    QUERY_COLOUR,
    SCALES,
    attention_heads_grid,
    attention_map,
    heatmap_grid,
    kernel_grid,
    mean_distance_scatter,
    number_grid,
)
from imgrec.figures.images import image_figure, topk_bar
from imgrec.figures.learned import embedding_map, filter_grid, image_pairs, latent_walk
from imgrec.figures.mosaic import LABEL_FONT_SIZE, LABEL_PIXELS, MAX_TILE, MOSAIC_MARGIN, MOSAIC_WIDTH
from imgrec.figures.training import (
    MAX_BATCH_POINTS,
    TRAIN_COLOUR,
    VALIDATION_COLOUR,
    confusion_matrix,
    evenly_spaced,
    per_class_bars,
    roc_curves,
    runs_overlay,
    smooth,
    training_curves,
)
from imgrec.figures.trust import trust_curves

__all__ = [
    "ACCENT",
    "ATTENTION_MAP_PIXELS",
    "BASE_COLOUR",
    "DIVERGING",
    "FONT_SIZE",
    "HEADS_WIDTH",
    "KIND_FILLS",
    "LABEL_FONT_SIZE",
    "LABEL_PIXELS",
    "MAX_BATCH_POINTS",
    "MAX_TILE",
    "MOSAIC_MARGIN",
    "MOSAIC_WIDTH",
    "QUERY_COLOUR",
    "SCALES",
    "SEQUENTIAL",
    "TEMPLATE",
    "TRAIN_COLOUR",
    "VALIDATION_COLOUR",
    "architecture_dot",
    "article",
    "attention_heads_grid",
    "attention_map",
    "confusion_matrix",
    "embedding_map",
    "evenly_spaced",
    "filter_grid",
    "heatmap_grid",
    "image_figure",
    "image_pairs",
    "kernel_grid",
    "latent_walk",
    "mean_distance_scatter",
    "number_grid",
    "number_text",
    "ordinal",
    "per_class_bars",
    "plural",
    "roc_curves",
    "runs_overlay",
    "smooth",
    "topk_bar",
    "training_curves",
    "trust_curves",
]
