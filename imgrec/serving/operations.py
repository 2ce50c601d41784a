"""The operations an inference worker performs: an allow-list of named functions over a loaded model.

A request names an operation, a model reference and plain arguments (numpy arrays, numbers,
strings); the worker looks the operation up here, loads the model once (bounded LRU, in
`worker.py`) and returns a plain, picklable value. Nothing else can be asked of a worker:
an unknown name is refused before anything runs.

A model reference is a plain tuple, built by `registry_model` or `run_model`; its key (the
file's sha256) makes a replaced model load afresh instead of serving the old weights. An
operation that needs no model (saving a run, an augmentation preview) takes None.

Every function takes the loaded model first: a `registry.Classifier` for a registry model,
a bare `keras.Model` for a run's model (`model_of` gives the Keras model of either).
"""

import numpy as np

REGISTRY, RUN = "registry", "run"
# What a worker must see as the server sees it at request time (tests and admins change them):
# the folders, which also key the loaded models (the same name in another registry is another
# model), and the limits an operation enforces (the import quotas, offline mode).
FOLDER_VARIABLES = ("IMGREC_MODELS_DIR", "IMGREC_CACHE_DIR", "IMGREC_RUNS_DIR", "IMGREC_DATA_DIR")
REQUEST_VARIABLES = (*FOLDER_VARIABLES, "IMGREC_MAX_IMPORTED_MODELS", "IMGREC_MAX_IMPORTS_PER_SESSION",
                     "IMGREC_OFFLINE")


def registry_model(name, key):
    """A reference to a registry model: its name and key (name plus file hash, as the app's caches use)."""
    return (REGISTRY, str(name), str(key))


def run_model(run_id, sha256):
    """A reference to a finished run's model: its id and the sha256 of its `model.keras`."""
    return (RUN, str(run_id), str(sha256))


def check_reference(reference):
    """Returns a model reference after checking its form (raises ValueError)."""
    if (not isinstance(reference, tuple) or len(reference) != 3 or reference[0] not in (REGISTRY, RUN)
            or not all(isinstance(part, str) for part in reference)):
        raise ValueError(f"A model reference is made by registry_model() or run_model(), got {reference!r}.")
    return reference


def load_reference(reference):
    """Loads the model a reference names: a `Classifier` for a registry model, a `keras.Model` for a run's."""
    source, name, _ = check_reference(reference)
    if source == REGISTRY:
        from imgrec import registry

        return registry.load(name)
    from imgrec import jobs

    return jobs.load_run_model(name)


def model_of(loaded):
    """The Keras model of a loaded reference (a Classifier's `.model`, or the model itself)."""
    return getattr(loaded, "model", loaded)


# ---------------------------------------------------------------------------------------
# The operations, each named as the request names it.


def load(loaded):
    """Nothing but loading: a model that cannot load raises its `RegistryError` here."""
    return None


def predict(loaded, inputs):
    """Class probabilities `(N, classes)` for a batch of model inputs."""
    from imgrec import inference

    return inference.predict_probabilities(model_of(loaded), np.asarray(inputs, dtype=np.float32))


def explainers(loaded):
    """The explainers that apply to a model, in order: `(name, layer choices or None, default layer or None)`.

    The records themselves (titles, descriptions, options' words) are `explain.EXPLAINERS[name]`,
    which the server reads without TensorFlow.
    """
    from imgrec import explain

    model = model_of(loaded)
    found = []
    for record in explain.applicable(model):
        option = record.option("layer")
        found.append((record.name, None, None) if option is None else
                     (record.name, tuple(option.choices_for(model)), option.default_for(model)))
    return found


def explanation(loaded, image, method, class_index, **options):
    """One explanation heatmap, `explain.explain`'s."""
    from imgrec import explain

    return np.asarray(explain.explain(model_of(loaded), image, method, class_index, **options))


def random_reference(loaded, image, class_index):
    """The random maps' mean deletion and insertion curves for an image and class (`trust.random_reference`)."""
    from imgrec import trust

    return trust.random_reference(model_of(loaded), image, class_index)


def trust_report(loaded, image, method, class_index, heatmap, reference, **options):
    """The trust checks of one explanation (`trust.check`), given its heatmap and the random maps' reference."""
    from imgrec import trust

    return trust.check(model_of(loaded), image, method, class_index, heatmap=heatmap, reference=reference, **options)


def localisation_scores(loaded, methods, samples):
    """`{method: {"n", "pointing_game", "relevance_mass"}}` on the first `samples` test images of the model's shapes set."""
    from imgrec.datasets import shapes
    from imgrec.trust import localisation

    images, labels, masks = shapes.test_with_masks(loaded.card.dataset, max_samples=samples)
    return {method: localisation.evaluate(model_of(loaded), images, labels, masks, method) for method in methods}


def layer_table(loaded):
    from imgrec import explain

    return explain.layer_table(model_of(loaded))


def layer_edges(loaded):
    from imgrec import explain

    return explain.layer_edges(model_of(loaded))


def spatial_layers(loaded):
    from imgrec import explain

    return tuple(explain.spatial_layers(model_of(loaded)))


def feature_maps(loaded, image, layer_name):
    from imgrec import explain

    return np.asarray(explain.feature_maps(model_of(loaded), image, layer_name))


def activation_ranges(loaded, image):
    from imgrec import explain

    return explain.activation_ranges(model_of(loaded), image)


def conv_kernels(loaded, layer_name):
    from imgrec import explain

    return explain.conv_kernels(model_of(loaded), layer_name)


def conv_arithmetic(loaded, image, layer_name, channel, row, col):
    from imgrec import explain

    return explain.conv_arithmetic(model_of(loaded), image, layer_name, channel, row, col)


def attention(loaded):
    """A model's attention layout: `(rows, cols, patch_size, extra_tokens)`, or None for a model without attention."""
    from imgrec import explain

    model = model_of(loaded)
    if not explain.has_attention(model):
        return None
    return (*explain.patch_grid(model), explain.extra_tokens(model))


def attention_maps(loaded, image):
    from imgrec import explain

    return np.asarray(explain.attention_maps(model_of(loaded), image))


def rollout(loaded, image, head_fusion, discard_ratio):
    from imgrec import explain

    return np.asarray(explain.rollout_heatmap(model_of(loaded), image, head_fusion, discard_ratio))


def evaluation(loaded, dataset, samples, latency_repeats):
    """`metrics.evaluate` on the first `samples` test images, with the median latency of one image (ms)."""
    from imgrec import inference, metrics

    report = metrics.evaluate(loaded, dataset, "test", max_samples=samples)
    report["latency_ms"] = inference.median_latency_ms(model_of(loaded), latency_repeats)
    return report


def exported_bytes(loaded, fmt):
    from imgrec import export

    return export.export_bytes(loaded, fmt)


def mistakes(loaded, dataset, indices):
    """A model's mistakes at these test-split indices, as `mistakes.Case`s with heatmaps."""
    from imgrec import datasets
    from imgrec import mistakes as cases

    data = datasets.load(dataset)
    return cases.explain_cases(model_of(loaded), data.x_test, data.y_test, indices, data.class_names)


def import_model(_, data, file_name, name, dataset, class_names, preprocessing, session_imports):
    """Imports an uploaded `.keras` file: checked, measured on its dataset's test split if one is named, saved.

    Returns the saved `registry.ModelCard`; raises `registry.RegistryError` with the reason it was refused.
    """
    from imgrec import metrics, registry

    checked = registry.check_import(data, name, dataset=dataset, class_names=class_names, preprocessing=preprocessing,
                                    file_name=file_name, session_imports=session_imports)
    report = metrics.evaluate(checked.model, dataset) if dataset is not None else None
    return registry.save_import(checked, report)


def prediction_report(loaded, rgb, file_name, method, class_index, alpha, checks, *, language="en", colormap="jet",
                      **options):
    """The HTML report of one image as /predict shows it (`report.prediction_report`), with the checks it showed.

    `language` ("en" or "zh-CN") and `colormap` (the heatmap's colours) are the report's; every other
    keyword is an explainer option.
    """
    from imgrec import report

    return report.prediction_report(loaded, rgb, file_name=file_name, methods=(method,), class_index=class_index,
                                    options=options, alpha=alpha, colormap=colormap, trust=checks, language=language)


def run_report(_, run_id, cases, language="en"):
    """The HTML report of a finished run (`report.run_report`), a classifier's or an autoencoder's, in `language`.

    With `cases` None it makes the pictures that need the run's model itself (a classifier's
    mistakes, an autoencoder's test images beside what it rebuilds).
    """
    from imgrec import report

    return report.run_report(run_id, cases=cases, language=language)


def test_outputs(loaded, dataset):
    """The test split's labels and the model's class probabilities for every test image."""
    from imgrec import datasets, inference

    data = datasets.load(dataset)
    return data.y_test, inference.predict_probabilities(model_of(loaded), data.x_test)


def data_map(loaded, dataset, samples, method):
    """A stratified sample of test images on a 2-D map of the model's vectors (`embedding.embed`)."""
    from imgrec import datasets, embedding

    data = datasets.load(dataset)
    return embedding.embed(model_of(loaded), data.x_test, data.y_test, samples=samples, method=method)


def filter_pictures(loaded, layer, channels, dataset, samples):
    """Each channel's picture (uint8), its activation, the seconds taken, and its strongest of `samples` test images."""
    import time

    from imgrec import datasets
    from imgrec.explain import maximisation

    model, started = model_of(loaded), time.perf_counter()
    images, activations = maximisation.filter_images(model, layer, channels)
    seconds, test_images = time.perf_counter() - started, None if dataset is None else datasets.load(dataset).x_test
    strongest = None if dataset is None else maximisation.strongest_images(model, layer, test_images[:samples],
                                                                          channels)[0]
    return maximisation.pictures(images), activations, seconds, strongest


def filter_layers(loaded):
    """`{layer: channels}` of the layers whose filters can be pictured, and the default (the first convolution's)."""
    from imgrec import explain
    from imgrec.explain import maximisation

    model = model_of(loaded)
    counts = {layer: maximisation.channel_count(model, layer) for layer in explain.spatial_layers(model)}
    return counts, (maximisation.resolve_layer(model, "first") if explain.layers.convolutions_of(model) else None)


def autoencoder_views(loaded, dataset, indices, walk, samples):
    """An autoencoder's reconstructions of the test images at `indices`, and its `LatentWalk` over `samples` codes."""
    from imgrec import datasets, reconstruction

    model, data = model_of(loaded), datasets.load(dataset)
    walked = reconstruction.latent_walk(model, reconstruction.encode(model, data.x_test[:samples])) if walk else None
    return reconstruction.reconstruct(model, data.x_test[list(indices)]), walked


def save_run_as_model(_, run_id, name):
    """Saves a finished run's model in the registry (it loads the model to check it); returns the card."""
    from imgrec import jobs

    return jobs.save_run_as_model(run_id, name)


def augmentation_preview(_, dataset, settings, images, copies, seed):
    """Training images and augmented copies of them as one uint8 grid (`training.augmentation_grid`).

    Args:
        dataset: the dataset's name.
        settings: the `TrainConfig` fields of the augmentation, e.g. `{"augment_rotate": 15.0}`.
        images: how many training images. copies: augmented versions of each. seed: the draw.
    """
    from imgrec import datasets, training

    data = datasets.load(dataset, max_train=images, seed=seed)
    config = training.TrainConfig(dataset=dataset, seed=seed, **settings)
    augmented = training.augment_preview(data.x_train, training.make_augmenter(config), copies=copies, seed=seed)
    return training.augmentation_grid(data.x_train, augmented)


# The allow-list: the only names a worker answers to.
OPERATIONS = {function.__name__: function for function in (
    load, predict, explainers, explanation, random_reference, trust_report, localisation_scores, layer_table,
    layer_edges, spatial_layers, feature_maps, activation_ranges, conv_kernels, conv_arithmetic, attention,
    attention_maps, rollout, evaluation, exported_bytes, mistakes, import_model, prediction_report, run_report,
    test_outputs, data_map, filter_pictures, filter_layers, autoencoder_views, save_run_as_model,
    augmentation_preview,
)}


def check_operation(name):
    """Returns the function of an allowed operation (raises ValueError for any other name)."""
    function = OPERATIONS.get(name) if isinstance(name, str) else None
    if function is None:
        raise ValueError(f"Unknown inference operation {name!r}; choose one of {', '.join(sorted(OPERATIONS))}.")
    return function
