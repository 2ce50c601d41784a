"""Every computation that needs a Keras model, cached: the one place the app loads a model and runs it.

Each function takes a model's registry name and key (its name and file hash, `models.model_key`)
and plain values (numpy arrays, numbers, strings, tuples), and returns plain values that pickle
(arrays, dicts, lists, strings, small frozen dataclasses of plain values). Each loads its
classifier itself, through the cached `registry.load`. So no page ever holds a Keras object,
and moving this work out of the web server (into worker processes) changes only this module.

The classifier is `st.cache_resource` (one copy per model key, shared by every session, never
mutated); computations are `st.cache_data`, keyed on the model key, the image (hashed by
value) and the parameters, so what one visitor asked for is served from memory to the next (a
class of 30 opening the same sample costs one run). Entry limits keep the worst case in
memory to a few hundred MB on a shared server: a feature map of EfficientNet's early blocks
is up to 5 MB, an input 0.6 MB, an explanation 0.2 MB.
"""

import dataclasses

import numpy as np
import streamlit as st

from imgrec import datasets, explain, export, inference, jobs, metrics, mistakes, registry, report, trust
from imgrec.datasets import shapes
from imgrec.trust import localisation

LATENCY_REPEATS = 20  # Single-image forward passes timed per model; the median is shown.


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


# ---------------------------------------------------------------------------------------
# Loading.


@st.cache_resource(max_entries=8, show_spinner="Loading the model (the ImageNet model is built once, about 10 s)...")
def _classifier(name, key):
    # `key` (name plus file hash) makes a replaced model load afresh instead of serving the old weights.
    return registry.load(name)


def ensure_loaded(name, key):
    """Loads a model once per key, so later calls are quick; raises `registry.RegistryError` when it cannot."""
    _classifier(name, key)


@st.cache_resource(max_entries=4, show_spinner="Loading the run's model...")
def _run_model(run_id, sha256):
    # The sha256 keys the cache: a run id never changes its model, but a deleted and re-made run could.
    return jobs.load_run_model(run_id)


# ---------------------------------------------------------------------------------------
# Predictions and explanations.


@st.cache_data(max_entries=128, ttl=3600, show_spinner=False)
def model_input(name, key, rgb):
    """What the model sees: its preprocessed float32 input."""
    return _classifier(name, key).preprocess(rgb)


@st.cache_data(max_entries=512, show_spinner=False)
def probabilities(name, key, inputs):
    """Class probabilities for a batch of model inputs, shape (N, classes)."""
    return _classifier(name, key).predict_inputs(np.asarray(inputs, dtype=np.float32))


@st.cache_data(max_entries=32, show_spinner=False)
def explainers(name, key):
    """The explanation techniques that apply to a model, in display order, as `ExplainerChoice`s."""
    model = _classifier(name, key).model
    choices = []
    for record in explain.applicable(model):
        option = record.option("layer")
        layer = None if option is None else LayerChoice(
            option.title, option.help, tuple(option.choices_for(model)), option.default_for(model))
        choices.append(ExplainerChoice(record.name, record.title, record.description, record.class_specific, layer))
    return tuple(choices)


@st.cache_data(max_entries=256, ttl=3600, show_spinner="Computing the explanation...")
def explanation(name, key, image, method, class_index, **options):
    """One explanation heatmap (2-D, 0..1) of a class for a model input; the options are part of the cache key."""
    return explain.explain(_classifier(name, key).model, image, method, class_index, **options)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _random_reference(name, key, image, class_index):
    # The same for every explainer: a student switching methods pays for the random maps once.
    return trust.random_reference(_classifier(name, key).model, image, class_index)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def trust_report(name, key, image, method, class_index, **options):
    """The trust checks of one explanation (`trust.check`): curves, the randomisation row and the verdict."""
    heatmap = explanation(name, key, image, method, class_index, **options)
    return trust.check(_classifier(name, key).model, image, method, class_index, heatmap=heatmap,
                       reference=_random_reference(name, key, image, class_index), **options)


@st.cache_data(max_entries=8, show_spinner=False)
def localisation_scores(name, key, methods, samples):
    """`{method: {"n", "pointing_game", "relevance_mass"}}` on the first `samples` shapes test images."""
    classifier = _classifier(name, key)
    images, labels, masks = shapes.test_with_masks(classifier.card.dataset, max_samples=samples)
    return {method: localisation.evaluate(classifier.model, images, labels, masks, method) for method in methods}


# ---------------------------------------------------------------------------------------
# Layers, feature maps, kernels and arithmetic.


@st.cache_data(max_entries=32, show_spinner=False)
def layer_table(name, key):
    """The model's layers as rows (`explain.layer_table`), nested models expanded."""
    return explain.layer_table(_classifier(name, key).model)


@st.cache_data(max_entries=32, show_spinner=False)
def layer_edges(name, key):
    """The connections between the model's own layers, as (from, to) names (`explain.layer_edges`)."""
    return explain.layer_edges(_classifier(name, key).model)


@st.cache_data(max_entries=32, show_spinner=False)
def spatial_layers(name, key):
    """The names of the layers with an image-shaped output, in order."""
    return tuple(explain.spatial_layers(_classifier(name, key).model))


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Running the image through the layer...")
def feature_maps(name, key, image, layer_name):
    """A layer's activations for one input, shape (height, width, channels)."""
    return np.asarray(explain.feature_maps(_classifier(name, key).model, image, layer_name))


@st.cache_data(max_entries=64, ttl=3600, show_spinner="Running the image through every layer...")
def activation_ranges(name, key, image):
    """`{layer: (min, max)}` of every spatial layer's activations for one input, from one forward pass."""
    return explain.activation_ranges(_classifier(name, key).model, image)


@st.cache_data(max_entries=64, show_spinner=False)
def conv_kernels(name, key, layer_name):
    """A convolution's kernel (kh, kw, in, out) and bias (out,) or None."""
    return explain.conv_kernels(_classifier(name, key).model, layer_name)


@st.cache_data(max_entries=512, show_spinner=False)
def conv_arithmetic(name, key, image, layer_name, channel, row, col):
    """The sums behind one output number of a convolution or pooling layer."""
    return explain.conv_arithmetic(_classifier(name, key).model, image, layer_name, channel, row, col)


# ---------------------------------------------------------------------------------------
# Attention.


@st.cache_data(max_entries=64, show_spinner=False)
def has_attention(name, key):
    """Whether the model has attention layers whose weights can be read (`explain.has_attention`)."""
    return explain.has_attention(_classifier(name, key).model)


@st.cache_data(max_entries=32, show_spinner=False)
def patch_grid(name, key):
    """How a vision transformer cuts its input into patches, as a `PatchGrid`."""
    model = _classifier(name, key).model
    rows, cols, patch_size = explain.patch_grid(model)
    return PatchGrid(rows, cols, patch_size, explain.extra_tokens(model) > 0)


@st.cache_data(max_entries=64, ttl=3600, show_spinner="Reading the attention weights...")
def _attention_maps(name, key, image):
    return np.asarray(explain.attention_maps(_classifier(name, key).model, image))


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
    return np.asarray(explain.rollout_heatmap(_classifier(name, key).model, image, head_fusion, discard_ratio))


# ---------------------------------------------------------------------------------------
# Measuring and exporting a model, and a run's mistakes and saving.


@st.cache_data(max_entries=32, show_spinner=False)
def evaluation(name, key, dataset, samples):
    """Accuracy and per-class metrics on the first `samples` test images, and the latency of one image (ms)."""
    classifier = _classifier(name, key)
    report = metrics.evaluate(classifier, dataset, "test", max_samples=samples)
    report["latency_ms"] = inference.median_latency_ms(classifier.model, LATENCY_REPEATS)
    return report


@st.cache_data(max_entries=8, show_spinner="Exporting and checking the export (a few seconds)...")
def exported_bytes(name, key, fmt):
    """The model exported to a format and checked by reloading it; returns the file's (or the zip's) bytes."""
    return export.export_bytes(_classifier(name, key), fmt)


@st.cache_data(max_entries=8, show_spinner="Explaining the mistakes...")
def run_mistakes(run_id, sha256, dataset, indices):
    """A finished run's mistakes at these test-split indices, as `mistakes.Case`s with heatmaps."""
    data = datasets.load(dataset)
    return mistakes.explain_cases(_run_model(run_id, sha256), data.x_test, data.y_test, indices, data.class_names)


def import_model(data, file_name, name, dataset, class_names, preprocessing, session_imports):
    """Imports an uploaded `.keras` file: checked, measured on its dataset's test split if one is named, saved.

    Not cached: it writes. Takes plain values (bytes, strings, a tuple of class names or None,
    a count) and returns the saved `registry.ModelCard`.

    Raises:
        registry.RegistryError: one sentence saying why the model was refused.
    """
    checked = registry.check_import(data, name, dataset=dataset, class_names=class_names, preprocessing=preprocessing,
                                    file_name=file_name, session_imports=session_imports)
    report = metrics.evaluate(checked.model, dataset) if dataset is not None else None
    return registry.save_import(checked, report)


def save_run_as_model(run_id, name):
    """Saves a finished run's model in the registry (it loads the model to check it); returns the saved card.

    Not cached: it writes. Here because it loads a Keras model, as everything in this module does.
    """
    return jobs.save_run_as_model(run_id, name)


# ---------------------------------------------------------------------------------------
# Reports to download.


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def prediction_report(name, key, rgb, file_name, method, class_index, alpha, checked, **options):
    """The report of one image as /predict shows it (`report.prediction_report`), with its trust checks if `checked`."""
    model_view = model_input(name, key, rgb)  # The checks come from the cache when the page showed them.
    checks = {method: trust_report(name, key, model_view, method, class_index, **options)} if checked else None
    return report.prediction_report(_classifier(name, key), rgb, file_name=file_name, methods=(method,),
                                    class_index=class_index, options=options, alpha=alpha, trust=checks)


@st.cache_data(max_entries=8, ttl=600, show_spinner=False)
def run_report(run_id, sha256, dataset, indices):
    """The report of a finished run (`report.run_report`), its mistakes explained as the results page shows them."""
    try:
        cases = run_mistakes(run_id, sha256, dataset, indices) if indices else []
    except (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable):
        cases = None  # The report tries once more and says why the mistakes are missing.
    return report.run_report(run_id, cases=cases)
