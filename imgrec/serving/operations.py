"""The operations an inference worker performs: an allow-list of named functions over a loaded model.

A request names an operation, a model reference and plain arguments (numpy arrays, numbers,
strings); the worker looks the operation up here, loads the model once (bounded LRU, in
`worker.py`) and returns a plain, picklable value. Nothing else can be asked of a worker:
an unknown name is refused before anything runs.

A model reference is a plain tuple, built by `registry_model` or `run_model`; its key (the
file's sha256) makes a replaced model load afresh instead of serving the old weights.

Every function takes the loaded model first: a `registry.Classifier` for a registry model,
a bare `keras.Model` for a run's model (`model_of` gives the Keras model of either).
"""

import numpy as np

REGISTRY, RUN = "registry", "run"


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


def load(reference):
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


def predict(loaded, inputs):
    """Class probabilities `(N, classes)` for a batch of model inputs."""
    from imgrec import inference

    return inference.predict_probabilities(model_of(loaded), np.asarray(inputs, dtype=np.float32))


def explain(loaded, image, method, class_index, **options):
    """One explanation heatmap, `explain.explain`'s."""
    from imgrec import explain as explainers

    return np.asarray(explainers.explain(model_of(loaded), image, method, class_index, **options))


def explainers(loaded):
    """The explainers that apply to a model, in order, with each layer option's choices and default.

    Returns:
        A list of `(name, {option name: (choices tuple, default)})`; the records themselves
        (titles, descriptions) are `explain.EXPLAINERS[name]`, importable without TensorFlow.
    """
    from imgrec import explain as explainers

    model = model_of(loaded)
    return [(record.name, {option.name: (tuple(option.choices_for(model)), option.default_for(model))
                           for option in record.options})
            for record in explainers.applicable(model)]


def layer_table(loaded):
    from imgrec import explain as explainers

    return explainers.layer_table(model_of(loaded))


def spatial_layers(loaded):
    from imgrec import explain as explainers

    return list(explainers.spatial_layers(model_of(loaded)))


def feature_maps(loaded, image, layer_name):
    from imgrec import explain as explainers

    return np.asarray(explainers.feature_maps(model_of(loaded), image, layer_name))


def activation_ranges(loaded, image, layer_names=None):
    from imgrec import explain as explainers

    return explainers.activation_ranges(model_of(loaded), image, layer_names)


def conv_kernels(loaded, layer_name):
    from imgrec import explain as explainers

    kernel, bias = explainers.conv_kernels(model_of(loaded), layer_name)
    return np.asarray(kernel), None if bias is None else np.asarray(bias)


def conv_arithmetic(loaded, image, layer_name, channel, row, col):
    from imgrec import explain as explainers

    return explainers.conv_arithmetic(model_of(loaded), image, layer_name, channel, row, col)


def attention(loaded):
    """Whether a model has attention layers, and its patch grid when it does (`(None, None)` otherwise)."""
    from imgrec import explain as explainers

    model = model_of(loaded)
    return (True, explainers.patch_grid(model)) if explainers.has_attention(model) else (False, None)


def attention_maps(loaded, image):
    from imgrec import explain as explainers

    return np.asarray(explainers.attention_maps(model_of(loaded), image))


def rollout(loaded, image, head_fusion, discard_ratio):
    from imgrec import explain as explainers

    return np.asarray(explainers.rollout_heatmap(model_of(loaded), image, head_fusion, discard_ratio))


# The allow-list: the only names a worker answers to.
OPERATIONS = {function.__name__: function for function in (
    predict, explain, explainers, layer_table, spatial_layers, feature_maps, activation_ranges, conv_kernels,
    conv_arithmetic,
    attention, attention_maps, rollout,
)}


def check_operation(name):
    """Returns the function of an allowed operation (raises ValueError for any other name)."""
    function = OPERATIONS.get(name) if isinstance(name, str) else None
    if function is None:
        raise ValueError(f"Unknown inference operation {name!r}; choose one of {', '.join(sorted(OPERATIONS))}.")
    return function
