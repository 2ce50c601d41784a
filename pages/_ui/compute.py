"""Every computation that needs a Keras model, cached: the one place the app asks for model work.

Each function takes a model's registry name and key (its name and file hash, `models.model_key`)
and plain values (numpy arrays, numbers, strings, tuples), and returns plain values that pickle
(arrays, dicts, lists, strings, small frozen dataclasses of plain values). No page ever holds a
Keras object, and the web server never imports TensorFlow: the work runs in the inference
worker processes of `imgrec.serving` (`serving.shared_pool()`), which load each model once.
A server holding TensorFlow paid ~0.2-0.4 s of garbage collection and `clear_session` per
script run; with the work in workers a click costs it tens of milliseconds (README, "Serving
a class"). What needs no model (preparing an image, reading attention maps) runs here.

Computations are `st.cache_data`, keyed on the model key, the image (hashed by value) and the
parameters, so what one visitor asked for is served from memory to the next (a class of 30
opening the same sample costs one request). Entry limits keep the worst case in memory to a
few hundred MB on a shared server: a feature map of EfficientNet's early blocks is up to 5 MB,
an input 0.6 MB, an explanation 0.2 MB.
"""

import numpy as np
import streamlit as st

from imgrec import datasets, explain, jobs, preprocess, registry, serving
from pages._ui import i18n
from pages._ui.choices import ExplainerChoice, LayerChoice, PatchGrid
from pages._ui.spinners import spoken

LATENCY_REPEATS = 20  # Single-image forward passes timed per model; the median is shown.


# ---------------------------------------------------------------------------------------
# Asking the workers.


def _ask(operation, reference, *args, **kwargs):
    """Runs an operation in an inference worker; a worker that crashed or hung stops the page with a sentence."""
    try:
        return serving.shared_pool().call(operation, reference, *args, **kwargs)
    except serving.ServingError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        st.stop()


def _model(operation, name, key, *args, **kwargs):
    return _ask(operation, serving.registry_model(name, key), *args, **kwargs)


@spoken("compute.loading")
@st.cache_data(max_entries=32, show_spinner=False)
def ensure_loaded(name, key):
    """Loads a model once per key, so later calls are quick; raises `registry.RegistryError` when it cannot."""
    # `key` (name plus file hash) makes a replaced model load afresh instead of serving the old weights.
    _model("load", name, key)


@st.cache_data(max_entries=32, show_spinner=False)
def _preparation(name, key):
    # The card's input shape is the model's (`registry.load` refuses a model whose shapes differ).
    card = registry.card(name)
    return tuple(card.input.shape), card.preprocessing.to_json()


# ---------------------------------------------------------------------------------------
# Predictions and explanations.


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def model_input(name, key, rgb):
    """What the model sees: its preprocessed float32 input (prepared here: numpy work, no model)."""
    shape, spec = _preparation(name, key)
    return preprocess.prepare(rgb, shape, spec)


@st.cache_data(max_entries=512, show_spinner=False)
def probabilities(name, key, inputs):
    """Class probabilities for a batch of model inputs, shape (N, classes)."""
    return _model("predict", name, key, np.asarray(inputs, dtype=np.float32))


@st.cache_data(max_entries=32, show_spinner=False)
def explainers(name, key):
    """The explanation techniques that apply to a model, in display order, as `ExplainerChoice`s."""
    choices = []
    for method, layers, default in _model("explainers", name, key):
        record = explain.EXPLAINERS[method]
        option = record.option("layer")
        layer = None if layers is None else LayerChoice(option.title, option.help, tuple(layers), default)
        choices.append(ExplainerChoice(record.name, record.title, record.description, record.class_specific, layer))
    return tuple(choices)


@spoken("compute.explaining")
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def explanation(name, key, image, method, class_index, **options):
    """One explanation heatmap (2-D, 0..1) of a class for a model input; the options are part of the cache key."""
    return _model("explanation", name, key, image, method, class_index, **options)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _random_reference(name, key, image, class_index):
    # The same for every explainer: a student switching methods pays for the random maps once.
    return _model("random_reference", name, key, image, class_index)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def trust_report(name, key, image, method, class_index, **options):
    """The trust checks of one explanation (`trust.check`): curves, the randomisation row and the verdict."""
    heatmap = explanation(name, key, image, method, class_index, **options)
    return _model("trust_report", name, key, image, method, class_index, heatmap,
                  _random_reference(name, key, image, class_index), **options)


@st.cache_data(max_entries=8, show_spinner=False)
def localisation_scores(name, key, methods, samples):
    """`{method: {"n", "pointing_game", "relevance_mass"}}` on the first `samples` shapes test images."""
    return _model("localisation_scores", name, key, tuple(methods), samples)


# ---------------------------------------------------------------------------------------
# Layers, feature maps, kernels and arithmetic.


@st.cache_data(max_entries=32, show_spinner=False)
def layer_table(name, key):
    """The model's layers as rows (`explain.layer_table`), nested models expanded."""
    return _model("layer_table", name, key)


@st.cache_data(max_entries=32, show_spinner=False)
def layer_edges(name, key):
    """The connections between the model's own layers, as (from, to) names (`explain.layer_edges`)."""
    return _model("layer_edges", name, key)


@st.cache_data(max_entries=32, show_spinner=False)
def spatial_layers(name, key):
    """The names of the layers with an image-shaped output, in order."""
    return _model("spatial_layers", name, key)


@spoken("compute.one_layer")
@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def feature_maps(name, key, image, layer_name):
    """A layer's activations for one input, shape (height, width, channels)."""
    return _model("feature_maps", name, key, image, layer_name)


@spoken("compute.every_layer")
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def activation_ranges(name, key, image):
    """`{layer: (min, max)}` of every spatial layer's activations for one input, from one forward pass."""
    return _model("activation_ranges", name, key, image)


@st.cache_data(max_entries=64, show_spinner=False)
def conv_kernels(name, key, layer_name):
    """A convolution's kernel (kh, kw, in, out) and bias (out,) or None."""
    return _model("conv_kernels", name, key, layer_name)


@st.cache_data(max_entries=512, show_spinner=False)
def conv_arithmetic(name, key, image, layer_name, channel, row, col):
    """The sums behind one output number of a convolution or pooling layer."""
    return _model("conv_arithmetic", name, key, image, layer_name, channel, row, col)


# ---------------------------------------------------------------------------------------
# Attention.


@st.cache_data(max_entries=64, show_spinner=False)
def _attention_layout(name, key):
    return _model("attention", name, key)


def has_attention(name, key):
    """Whether the model has attention layers whose weights can be read (`explain.has_attention`)."""
    return _attention_layout(name, key) is not None


def patch_grid(name, key):
    """How a vision transformer cuts its input into patches, as a `PatchGrid` (raises ValueError without attention)."""
    layout = _attention_layout(name, key)
    if layout is None:
        raise ValueError(f"Model {name!r} has no attention layers, so it has no patch grid.")
    rows, cols, patch_size, extra = layout
    return PatchGrid(rows, cols, patch_size, extra > 0)


@spoken("compute.attention")
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _attention_maps(name, key, image):
    return _model("attention_maps", name, key, image)


@st.cache_data(max_entries=256, show_spinner=False)
def query_attention(name, key, image, query):
    """Where one token looks, per layer and head, plus the heads' mean: (layers, heads + 1, rows, cols).

    `query` is a patch's (row, col), or None for the class token.
    """
    grid = patch_grid(name, key)
    return explain.query_attention(_attention_maps(name, key, image), (grid.rows, grid.cols), query, head_mean=True)


@st.cache_data(max_entries=64, show_spinner=False)
def attention_distances(name, key, image):
    """How far each head looks, in pixels: (layers, heads)."""
    grid = patch_grid(name, key)
    return explain.mean_attention_distance(_attention_maps(name, key, image), (grid.rows, grid.cols, grid.patch_size))


@st.cache_data(max_entries=256, show_spinner=False)
def rollout(name, key, image, head_fusion, discard_ratio):
    """The class token's attention rollout over the input, (height, width) in 0..1."""
    return _model("rollout", name, key, image, head_fusion, discard_ratio)


# ---------------------------------------------------------------------------------------
# Measuring and exporting a model, a run's mistakes and saving, training previews.


@st.cache_data(max_entries=32, show_spinner=False)
def evaluation(name, key, dataset, samples):
    """Accuracy and per-class metrics on the first `samples` test images, and the latency of one image (ms)."""
    return _model("evaluation", name, key, dataset, samples, LATENCY_REPEATS)


@spoken("compute.exporting")
@st.cache_data(max_entries=8, show_spinner=False)
def exported_bytes(name, key, fmt):
    """The model exported to a format and checked by reloading it; returns the file's (or the zip's) bytes."""
    return _model("exported_bytes", name, key, fmt)


@spoken("compute.mistakes")
@st.cache_data(max_entries=8, show_spinner=False)
def run_mistakes(run_id, sha256, dataset, indices):
    """A finished run's mistakes at these test-split indices, as `mistakes.Case`s with heatmaps."""
    # The sha256 is part of the key: a run id never changes its model, but a deleted and re-made run could.
    return _ask("mistakes", serving.run_model(run_id, sha256), dataset, indices)


def import_model(data, file_name, name, dataset, class_names, preprocessing, session_imports):
    """Imports an uploaded `.keras` file: checked, measured on its dataset's test split if one is named, saved.

    Not cached: it writes. Takes plain values (bytes, strings, a tuple of class names or None,
    a count) and returns the saved `registry.ModelCard`.

    Raises:
        registry.RegistryError: one sentence saying why the model was refused.
    """
    return _ask("import_model", None, data, file_name, name, dataset, class_names, preprocessing, session_imports)


def save_run_as_model(run_id, name):
    """Saves a finished run's model in the registry (it loads the model to check it); returns the saved card.

    Not cached: it writes. Here because it loads a Keras model, as everything in this module does.
    """
    return _ask("save_run_as_model", None, run_id, name)


@spoken("compute.augmenting")
@st.cache_data(max_entries=32, show_spinner=False)
def augmentation_preview(dataset, settings, images, copies, seed):
    """Training images (first row) and augmented versions of them, as one uint8 grid image.

    `settings` are the augmentation's `TrainConfig` fields as sorted `(name, value)` pairs.
    """
    return _ask("augmentation_preview", None, dataset, dict(settings), images, copies, seed)


# ---------------------------------------------------------------------------------------
# Reports to download.


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def prediction_report(name, key, rgb, file_name, method, class_index, alpha, checked, language, colormap, **options):
    """The report of one image as /predict shows it (`report.prediction_report`), with its trust checks if `checked`."""
    model_view = model_input(name, key, rgb)  # The checks come from the cache when the page showed them.
    checks = {method: trust_report(name, key, model_view, method, class_index, **options)} if checked else None
    return _model("prediction_report", name, key, rgb, file_name, method, class_index, alpha, checks,
                  language=language, colormap=colormap, **options)


@st.cache_data(max_entries=8, ttl=600, show_spinner=False)
def run_report(run_id, sha256, dataset, indices, language):
    """The report of a finished run (`report.run_report`), its mistakes explained as the results page shows them."""
    try:
        cases = run_mistakes(run_id, sha256, dataset, indices) if indices else []
    except (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable):
        cases = None  # The report tries once more (in a worker: it loads the model) and says why they are missing.
    return _ask("run_report", None, run_id, cases, language=language)
