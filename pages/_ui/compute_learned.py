"""The computations of what a model learned (test-set outputs, the data map, filter pictures, an autoencoder's views).

The same contract as `compute`: each function takes a model's source (a registry name, or
`run_source(run_id)` for a finished run's model) and key plus plain values, returns plain
values that pickle, cached with `st.cache_data`, and asks the inference workers
(`imgrec.serving`) for the model work, so the web server never imports TensorFlow. Kept
apart from `compute` only for size (pages/ files stay under 300 lines).

A cache's own spinner text is fixed when the module loads, in one language: each cached
function here has none, and `spinners.spoken` shows one in the session's language instead
(after half a second, as the cache's would: a cached answer never shows it).
"""

import streamlit as st

from imgrec import serving
from pages._ui.compute import _ask  # The one way to the workers, shared with `compute`.
from pages._ui.spinners import spoken


def run_source(run_id):
    """Names a finished run's model where a `source` is taken (its key: its sha256); no registry name holds "/"."""
    return f"run/{run_id}"


def _reference(source, key):
    return serving.run_model(source[4:], key) if source.startswith("run/") else serving.registry_model(source, key)


@spoken("compute_learned.cases")
@st.cache_data(max_entries=16, show_spinner=False)
def cases(source, key, dataset, indices):
    """Test images at these indices as `mistakes.Case`s: top-3 classes and a heatmap of the class chosen."""
    return _ask("mistakes", _reference(source, key), dataset, tuple(indices))


@spoken("compute_learned.test_outputs")
@st.cache_data(max_entries=16, show_spinner=False)
def test_outputs(source, key, dataset):
    """The test split's labels and the model's class probabilities for every test image."""
    return _ask("test_outputs", _reference(source, key), dataset)


@spoken("compute_learned.data_map")
@st.cache_data(max_entries=16, show_spinner=False)
def data_map(source, key, dataset, samples, method):
    """A stratified sample of test images on a 2-D map of the model's vectors (`embedding.Embedding`)."""
    return _ask("data_map", _reference(source, key), dataset, samples, method)


@spoken("compute_learned.filter_pictures")
@st.cache_data(max_entries=16, show_spinner=False)
def filter_pictures(name, key, layer, channels, dataset=None, samples=2000):
    """Each channel's picture (uint8), its activation, the seconds taken, and its strongest of `samples` test images."""
    return _ask("filter_pictures", serving.registry_model(name, key), layer, channels, dataset, samples)


@st.cache_data(max_entries=32, show_spinner=False)
def filter_layers(name, key):
    """`{layer: channels}` of the layers whose filters can be pictured, and the default (the first convolution's)."""
    return _ask("filter_layers", serving.registry_model(name, key))


@spoken("compute_learned.autoencoder_views")
@st.cache_data(max_entries=16, show_spinner=False)
def autoencoder_views(source, key, dataset, indices, walk=True, samples=2000):
    """An autoencoder's reconstructions of the test images at `indices`, and its `LatentWalk` over `samples` codes."""
    return _ask("autoencoder_views", _reference(source, key), dataset, tuple(indices), walk, samples)
