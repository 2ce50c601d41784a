"""The computations of what a model learned (test-set outputs, the data map, filter pictures, an autoencoder's views).

The same contract as `compute`, whose loaded models they use: each function takes a model's
source (a registry name, or `run_source(run_id)` for a finished run's model) and key
plus plain values, and returns plain values that pickle, cached with `st.cache_data`. Kept
apart from `compute` only for size (pages/ files stay under 300 lines); moving model work out
of the web server moves this module with it.
"""

import time

import streamlit as st

from imgrec import datasets, embedding, explain, inference, mistakes, reconstruction
from imgrec.explain import maximisation
from pages._ui.compute import (  # The one cached copy of each model, shared with `compute`.
    _classifier,
    _run_model,
)


def run_source(run_id):
    """Names a finished run's model where a `source` is taken (its key: its sha256); no registry name holds "/"."""
    return f"run/{run_id}"


def _model(source, key):
    return _run_model(source[4:], key) if source.startswith("run/") else _classifier(source, key).model


@st.cache_data(max_entries=16, show_spinner="Explaining the images...")
def cases(source, key, dataset, indices):
    """Test images at these indices as `mistakes.Case`s: top-3 classes and a heatmap of the class chosen."""
    data = datasets.load(dataset)
    return mistakes.explain_cases(_model(source, key), data.x_test, data.y_test, indices, data.class_names)


@st.cache_data(max_entries=16, show_spinner="Running the model over the test set...")
def test_outputs(source, key, dataset):
    """The test split's labels and the model's class probabilities for every test image."""
    data = datasets.load(dataset)
    return data.y_test, inference.predict_probabilities(_model(source, key), data.x_test)


@st.cache_data(max_entries=16, show_spinner="Placing the test images on the map (t-SNE takes several seconds)...")
def data_map(source, key, dataset, samples, method):
    """A stratified sample of test images on a 2-D map of the model's vectors (`embedding.Embedding`)."""
    data = datasets.load(dataset)
    return embedding.embed(_model(source, key), data.x_test, data.y_test, samples=samples, method=method)


@st.cache_data(max_entries=16, show_spinner="Growing each filter's picture from grey (about a second)...")
def filter_pictures(name, key, layer, channels, dataset=None, samples=2000):
    """Each channel's picture (uint8), its activation, the seconds taken, and its strongest of `samples` test images."""
    model, started = _classifier(name, key).model, time.perf_counter()
    images, activations = maximisation.filter_images(model, layer, channels)
    seconds, test_images = time.perf_counter() - started, None if dataset is None else datasets.load(dataset).x_test
    strongest = None if dataset is None else maximisation.strongest_images(model, layer, test_images[:samples],
                                                                          channels)[0]
    return maximisation.pictures(images), activations, seconds, strongest


@st.cache_data(max_entries=32, show_spinner=False)
def filter_layers(name, key):
    """`{layer: channels}` of the layers whose filters can be pictured, and the default (the first convolution's)."""
    model = _classifier(name, key).model
    counts = {layer: maximisation.channel_count(model, layer) for layer in explain.spatial_layers(model)}
    return counts, (maximisation.resolve_layer(model, "first") if explain.layers.convolutions_of(model) else None)


@st.cache_data(max_entries=16, show_spinner="Rebuilding test images and walking the latent space...")
def autoencoder_views(source, key, dataset, indices, walk=True, samples=2000):
    """An autoencoder's reconstructions of the test images at `indices`, and its `LatentWalk` over `samples` codes."""
    model, data = _model(source, key), datasets.load(dataset)
    walked = reconstruction.latent_walk(model, reconstruction.encode(model, data.x_test[:samples])) if walk else None
    return reconstruction.reconstruct(model, data.x_test[list(indices)]), walked
