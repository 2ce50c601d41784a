"""The model registry: list, load (validated, integrity-checked, safe mode) and save (atomic, with its card).

A model is `models/NAME.keras` plus its card `models/NAME.json`. Model files are untrusted
input: `load` checks the name, the path, the sha256, the archive's members and every class
named in its `config.json` against an allow-list, and estimates the parameter count, all
before Keras deserialises anything; then Keras loads in safe mode.
"""

import contextlib
import datetime
import fcntl
import hashlib
import io
import json
import os
import pathlib
import re
import tempfile
import zipfile

import numpy as np

from imgrec import atomic

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_MODEL_BYTES = 64 * 1024 * 1024  # EfficientNet-Lite0 is ~19 MB; nothing we ship comes close to 64.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_CARD_BYTES = 2 * 1024 * 1024
MAX_PARAMETERS = 20_000_000  # Caps what a config may make Keras allocate (a 60,000-unit Dense bomb).
# What an archive's members may declare they unpack to: Keras stores them uncompressed, so a
# real archive unpacks to its own size, while a zip bomb is a few MB that inflate to gigabytes.
MAX_UNPACKED_BYTES = 2 * MAX_MODEL_BYTES
MAX_INPUT_VALUES = 4096 * 4096 * 4  # One image's values; a huge declared input is its own kind of bomb.
# One layer's output (or attention scores) for one image; EfficientNet-Lite0's largest is 1.2 M.
MAX_ACTIVATION_VALUES = 2**24
ARCHIVE_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}
BUILT_MODELS = ("imagenet-efficientnet-lite0",)

# Every class a saved model's config may name: (module, class_name). Anything else is refused
# before deserialisation, so a Lambda, an arbitrary function or a custom class never runs.
_KERAS_LAYERS = {
    "InputLayer", "Rescaling", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization",
    "Activation", "ReLU", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalAveragePooling1D", "GlobalMaxPooling2D", "Flatten", "Dropout", "Dense", "Reshape", "Permute",
    "SimpleRNN", "GRU", "LSTM", "Bidirectional", "LayerNormalization", "MultiHeadAttention", "Add",
    "Multiply", "Concatenate", "ZeroPadding2D", "EinsumDense",
}
_ALLOWED_CLASSES = {
    **{("keras.layers", name): "layer" for name in _KERAS_LAYERS},
    ("keras.src.models.functional", "Functional"): "model",
    ("keras", "Functional"): "model",
    ("keras", "Sequential"): "model",
    ("keras.src.models.sequential", "Sequential"): "model",
    ("keras", "DTypePolicy"): "policy",
    ("keras", "FloatDTypePolicy"): "policy",
    ("imgrec.architectures", "ClassTokenPositionEmbedding"): "layer",
    ("imgrec.architectures", "ClassTokenSlice"): "layer",
}
_ALLOWED_MODULE_PREFIXES = ("keras.initializers", "keras.regularizers", "keras.constraints")
_ALLOWED_SPECIAL = {"__keras_tensor__", "__tuple__"}
_ALLOWED_ACTIVATIONS = {
    "linear", "relu", "relu6", "sigmoid", "softmax", "tanh", "gelu", "elu", "selu", "swish", "silu",
    "softplus", "softsign", "hard_sigmoid", "leaky_relu", "exponential",
}


class RegistryError(ValueError):
    """A model cannot be listed, loaded or saved; `str(e)` is one sentence saying why."""


class ModelNotFound(RegistryError):
    """No model of that name in the registry."""


class UnsafeModelError(RegistryError):
    """A model file that fails a safety or integrity check; it was not deserialised."""


def models_dir():
    """Returns the registry folder: `IMGREC_MODELS_DIR` if set, else `<repo>/models`."""
    return pathlib.Path(os.environ.get("IMGREC_MODELS_DIR") or REPO_ROOT / "models")


def cache_dir():
    """Returns the folder for models built on first use: `IMGREC_CACHE_DIR` or `<repo>/.cache`."""
    return pathlib.Path(os.environ.get("IMGREC_CACHE_DIR") or REPO_ROOT / ".cache")


def validate_name(name):
    """Checks a model name against `^[a-z0-9][a-z0-9_-]{0,63}$`.

    Raises:
        RegistryError: for anything else (paths, URLs, dots, NUL bytes, upper case).
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = repr(name)[:80]
        raise RegistryError(
            f"Invalid model name {shown}: use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit."
        )
    return name


def _folder_for(name):
    return cache_dir() if name in BUILT_MODELS else models_dir()


def _paths(name):
    validate_name(name)
    folder = _folder_for(name).resolve()
    card_path, model_path = folder / f"{name}.json", folder / f"{name}.keras"
    for path in (card_path, model_path):
        # A symlink could point anywhere on the server; only plain files inside the folder count.
        if path.is_symlink() or path.resolve().parent != folder:
            raise UnsafeModelError(f"Model {name!r} is a link out of the models folder and was refused.")
    return card_path, model_path


def _read_card(card_path, name):
    try:
        with open(card_path, "rb") as handle:
            raw = handle.read(MAX_CARD_BYTES + 1)
    except FileNotFoundError:
        raise ModelNotFound(f"There is no model named {name!r}; see `python -m imgrec models` for the list.") from None
    if len(raw) > MAX_CARD_BYTES:
        raise UnsafeModelError(f"The card of model {name!r} is too large to be a model card.")
    try:
        card = json.loads(raw)
    except RecursionError:  # A prank card nested thousands deep must not take the model list down.
        raise UnsafeModelError(f"The card of model {name!r} is nested too deeply to be a model card.") from None
    except (UnicodeDecodeError, ValueError):  # ValueError: JSONDecodeError, and integers too long to read.
        raise UnsafeModelError(f"The card of model {name!r} is not valid JSON.") from None
    required = ("name", "architecture", "dataset", "input", "preprocessing", "class_names", "sha256")
    if not isinstance(card, dict) or any(key not in card for key in required):
        raise UnsafeModelError(f"The card of model {name!r} lacks required fields ({', '.join(required)}).")
    if card["name"] != name:
        raise UnsafeModelError(f"The card of model {name!r} names another model ({str(card['name'])[:80]!r}).")
    shape = card["input"].get("shape") if isinstance(card["input"], dict) else None
    if (not isinstance(shape, list) or not all(isinstance(size, int) for size in shape)
            or not isinstance(card["class_names"], list) or not isinstance(card["preprocessing"], dict)):
        raise UnsafeModelError(
            f"The card of model {name!r} is malformed (input.shape, class_names or preprocessing has the wrong type)."
        )
    return card


def list_models():
    """Returns the cards of every model, sorted by name; unreadable cards are skipped.

    Models built on first use (the ImageNet classifier) are listed even before they are built,
    with `"built": False` in their card.
    """
    cards = {}
    folder = models_dir()
    if folder.is_dir():
        for card_path in sorted(folder.glob("*.json")):
            name = card_path.stem
            try:
                cards[name] = _read_card(_paths(name)[0], name)
            except RegistryError:
                continue
    for name in BUILT_MODELS:
        try:
            cards[name] = _read_card(_paths(name)[0], name)
        except RegistryError:
            cards[name] = _built_model_card(name)
    return [cards[name] for name in sorted(cards)]


def _built_model_card(name, model=None):
    """The card of the ImageNet classifier; measured on foolbox's 20 samples when `model` is given."""
    from imgrec import pretrained

    if model is None:
        measured = None
        meta = {"architecture": "EfficientNet-Lite0", "dataset": "ImageNet-1k (ILSVRC 2012)"}
    else:
        meta = pretrained.card_metadata(model)
        measured = meta["sample_accuracy"]
    size = pretrained.INPUT_SIZE
    policy = "crop"
    metrics = {"test_accuracy": None, "split": "not built yet"}
    if measured is not None:
        samples = measured[policy]
        metrics = {
            "split": "foolbox ImageNet samples",
            "dataset": "20 labelled ImageNet validation photos shipped by pip foolbox 3.3.4",
            "n": samples["n"],
            "test_accuracy": samples["top1"] / samples["n"],
            "top5_accuracy": samples["top5"] / samples["n"],
            "by_resize_policy": measured,
        }
    return {
        **meta,
        "name": name,
        "title": "ImageNet classifier (EfficientNet-Lite0)",
        "summary": "Names 1,000 everyday objects and animals; rebuilt offline from the weights a pip package ships.",
        "architecture": "EfficientNet-Lite0",
        "dataset": "ImageNet-1k (ILSVRC 2012)",
        "input": {"shape": [size, size, 3], "dtype": "float32", "range": [0, 255], "color_mode": "rgb"},
        "preprocessing": {
            "kind": "imagenet",
            "resize": policy,
            "normalisation": "in-model Rescaling: (x - 127) / 128",
            "why": "crop and squash both score 17/20 top-1 and 20/20 top-5 on the (square) samples; "
                   "crop keeps the aspect ratio of non-square photos, so it is the default",
        },
        "class_names": list(pretrained.class_names()),
        "last_conv_layer": pretrained.LAST_CONV_LAYER,
        "metrics": metrics,
        "built": measured is not None,
    }


def card(name):
    """Returns the card of one model.

    Raises:
        ModelNotFound: when there is no such model.
    """
    validate_name(name)
    if name in BUILT_MODELS:
        try:
            return _read_card(_paths(name)[0], name)
        except ModelNotFound:
            return _built_model_card(name)
    return _read_card(_paths(name)[0], name)


def sha256_bytes(data):
    """Returns the hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def inspect_archive(data, name="model"):
    """Checks a `.keras` archive's bytes without deserialising anything.

    Verifies it is a zip with exactly the members Keras writes, reads `config.json` (size-capped),
    checks every class it names against the allow-list and estimates the parameter count.

    Args:
        data: the archive's bytes.
        name: the model name, for messages.

    Returns:
        The parsed `config.json` dict.

    Raises:
        UnsafeModelError: naming the first problem found.
    """
    if not data:
        raise UnsafeModelError(f"Model {name!r} is an empty file.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsafeModelError(f"Model {name!r} is not a Keras archive (not a valid zip file).") from None
    members = set(names)
    if len(members) != len(names):
        # Two entries of one name: which one a reader gets depends on the reader.
        duplicate = next(member for member in names if names.count(member) > 1)
        raise UnsafeModelError(f"Model {name!r} is not a plain Keras archive (member {duplicate!r} appears twice).")
    if members != ARCHIVE_MEMBERS:
        extra = sorted(members - ARCHIVE_MEMBERS)
        missing = sorted(ARCHIVE_MEMBERS - members)
        detail = f"unexpected member {extra[0]!r}" if extra else f"missing {missing[0]!r}"
        raise UnsafeModelError(f"Model {name!r} is not a plain Keras archive ({detail}).")
    # zipfile never inflates a member past the size the archive declares for it, so checking the
    # declared sizes bounds what Keras (or anything else) can unpack.
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnsafeModelError(
            f"Model {name!r} would unpack to {unpacked / 1e6:,.0f} MB, over the {MAX_UNPACKED_BYTES // 2**20} MiB "
            f"limit (a decompression bomb)."
        )
    info = archive.getinfo("config.json")
    if info.file_size > MAX_CONFIG_BYTES:
        raise UnsafeModelError(f"Model {name!r} has an oversized config ({info.file_size} bytes).")
    too_deep = f"Model {name!r} has a config.json nested too deeply to be a Keras model."
    try:
        with archive.open("config.json") as handle:
            config = json.loads(handle.read(MAX_CONFIG_BYTES + 1))
    except RecursionError:
        raise UnsafeModelError(too_deep) from None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, EOFError):
        # ValueError: JSONDecodeError, and integers too long to convert.
        raise UnsafeModelError(f"Model {name!r} has an unreadable config.json.") from None
    try:
        check_config_classes(config, name)
        parameters = _count_parameters(config)
    except _Oversized as error:
        raise UnsafeModelError(f"Model {name!r} {error}.") from None
    except RecursionError:
        raise UnsafeModelError(too_deep) from None
    if parameters > MAX_PARAMETERS:
        raise UnsafeModelError(
            f"Model {name!r} would allocate about {parameters:,} parameters, over the limit of {MAX_PARAMETERS:,}."
        )
    return config


def _config_dicts(config):
    """Yields every dict inside a parsed JSON config, iteratively (a deep config cannot overflow the stack)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(value for value in node.values() if isinstance(value, dict | list))
            yield node


def check_config_classes(config, name="model"):
    """Walks a Keras config and refuses any class, function or module outside the allow-list.

    Raises:
        UnsafeModelError: naming the refused class.
    """
    for node in _config_dicts(config):
        if "class_name" not in node:
            continue
        class_name, module = node.get("class_name"), node.get("module")
        if not isinstance(class_name, str) or (module is not None and not isinstance(module, str)):
            raise UnsafeModelError(f"Model {name!r} has a malformed class entry in its config.")
        if class_name in _ALLOWED_SPECIAL:
            continue
        if module == "keras.activations" and class_name == "function":
            activation = node.get("config")
            if not isinstance(activation, str) or activation not in _ALLOWED_ACTIVATIONS:
                raise UnsafeModelError(f"Model {name!r} uses the activation {str(activation)[:80]!r}, which is not allowed.")
            continue
        allowed = (module, class_name) in _ALLOWED_CLASSES or (
            module and module.startswith(_ALLOWED_MODULE_PREFIXES) and class_name[:1].isupper())
        if allowed:
            # Keras looks a class up by its registered name before its module and class name, so a
            # foreign registered name would swap in another class than the one checked here.
            expected = (f"imgrec>{class_name}",) if module.startswith("imgrec.") else (None, class_name)
            if node.get("registered_name") not in expected:
                raise UnsafeModelError(f"Model {name!r} names {class_name!r} with a foreign registration.")
            continue
        where = f"{module}.{class_name}" if module else class_name
        raise UnsafeModelError(f"Model {name!r} uses {where!r}, which imgrec does not load (not on the allow-list).")


class _Oversized(Exception):
    """A config that would make Keras allocate too much; `str(e)` ends the sentence "Model 'x' ..."."""


# Layers whose weights Keras sizes from their input shape. One whose build_config does not record
# that shape is built from the real graph instead, whatever its config claims, so it is refused.
_WEIGHTED_LAYERS = {
    "Dense", "EinsumDense", "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "SimpleRNN", "GRU", "LSTM",
    "MultiHeadAttention", "BatchNormalization", "LayerNormalization", "ClassTokenPositionEmbedding",
}


def estimate_parameters(config):
    """Estimates the weights a Keras config will allocate, from layer configs and build shapes.

    Counts Dense, convolution, recurrent, attention and embedding-like kernels, which dominate
    memory; a config that hides its input size, or declares a huge input, counts as unbounded
    (`MAX_PARAMETERS + 1`).
    """
    try:
        return _count_parameters(config)
    except _Oversized:
        return MAX_PARAMETERS + 1


def _count_parameters(config):
    """Like `estimate_parameters`, but raises `_Oversized` (saying why) where the size is unbounded."""
    total = 0
    for node in _config_dicts(config):
        class_name = node.get("class_name")
        layer_config = node.get("config") if isinstance(node.get("config"), dict) else {}
        if class_name not in _KERAS_LAYERS | {"ClassTokenPositionEmbedding"}:
            continue
        layer_name = str(layer_config.get("name") or node.get("name") or class_name)[:80]
        total += _layer_parameters(class_name, layer_config, _input_shape(node), layer_name)
    return total


def _input_shape(node):
    """The input shape a layer's build_config records (the widest one, for attention), or None."""
    build = node.get("build_config")
    if not isinstance(build, dict):
        return None
    shapes = [build.get("input_shape")]
    if isinstance(build.get("shapes_dict"), dict):  # MultiHeadAttention: query, value and key shapes.
        shapes = list(build["shapes_dict"].values())
    valid = []
    for shape in shapes:
        if isinstance(shape, list) and shape and isinstance(shape[0], list):
            shape = shape[0]
        if isinstance(shape, list) and shape and isinstance(shape[-1], int) and not isinstance(shape[-1], bool):
            valid.append(shape)
    return max(valid, key=lambda shape: shape[-1]) if valid else None


def _positive_int(value, default=1):
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, list):
        product = 1
        for item in value:
            product *= _positive_int(item)
        return product
    return default


def _layer_parameters(class_name, config, shape, layer_name):
    if class_name == "InputLayer":
        dims = config.get("batch_shape") or config.get("batch_input_shape") or []
        values = _positive_int([dim for dim in dims if dim is not None]) if isinstance(dims, list) else 0
        if values > MAX_INPUT_VALUES:
            raise _Oversized(f"declares an input of {values:,} values per image, over the limit of {MAX_INPUT_VALUES:,}")
        return 0
    if class_name not in _WEIGHTED_LAYERS:
        return 0
    if shape is None:
        raise _Oversized(f"does not record the input shape of its layer {layer_name!r}, so the size of its "
                         f"weights cannot be checked before loading")
    in_dim = max(shape[-1], 0)
    if class_name in ("Dense", "EinsumDense"):
        units = _positive_int(config.get("units", 0), 0)
        if class_name == "EinsumDense":
            units = _positive_int(config.get("output_shape", 1))
        return units * in_dim + units
    if class_name in ("Conv2D", "SeparableConv2D"):
        filters = _positive_int(config.get("filters", 0), 0)
        return _positive_int(config.get("kernel_size", 1)) * in_dim * filters + filters
    if class_name == "DepthwiseConv2D":
        return _positive_int(config.get("kernel_size", 1)) * in_dim * _positive_int(config.get("depth_multiplier", 1))
    if class_name in ("SimpleRNN", "GRU", "LSTM"):
        units = _positive_int(config.get("units", 0), 0)
        gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[class_name]
        return gates * units * (units + in_dim + 2)
    if class_name == "MultiHeadAttention":
        heads = _positive_int(config.get("num_heads", 1))
        key_dim = _positive_int(config.get("key_dim", 1))
        return 4 * heads * key_dim * in_dim + 4 * in_dim
    if class_name == "ClassTokenPositionEmbedding":  # A class token and one position embedding per token.
        return (_positive_int(shape[1:-1]) + 2) * in_dim
    return 4 * in_dim  # BatchNormalization, LayerNormalization.


def _read_model_bytes(model_path, name):
    try:
        size = model_path.stat().st_size
    except FileNotFoundError:
        raise ModelNotFound(f"The file of model {name!r} is missing; it may have been deleted.") from None
    if size > MAX_MODEL_BYTES:
        raise UnsafeModelError(f"Model {name!r} is {size / 1e6:.0f} MB, over the {MAX_MODEL_BYTES // 2**20} MiB limit.")
    with open(model_path, "rb") as handle:
        return handle.read(MAX_MODEL_BYTES + 1)


@contextlib.contextmanager
def _locked(folder, exclusive):
    """Holds a lock on the registry folder so a card and its file change and are read together."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_keras_bytes(data, name="model"):
    """Inspects and deserialises `.keras` bytes in safe mode, without touching the disk.

    Raises:
        UnsafeModelError: when the archive fails a check or Keras cannot build it.
    """
    import keras

    import imgrec.architectures  # noqa: F401  (registers the ViT layers by name)

    inspect_archive(data, name)
    # Keras reads from a path: load a private copy of the verified bytes, so the file Keras
    # reads is exactly the one that was checked, whatever happens to the registry meanwhile.
    handle, temp_name = tempfile.mkstemp(prefix="imgrec-load-", suffix=".keras")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        model = keras.saving.load_model(temp_name, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a broken archive; all mean "refused".
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise UnsafeModelError(f"Model {name!r} could not be loaded: {reason}") from None
    finally:
        pathlib.Path(temp_name).unlink(missing_ok=True)
    if not hasattr(model, "input_shape") or not hasattr(model, "output_shape"):
        raise UnsafeModelError(f"Model {name!r} is not a classifier with one input and one output.")
    check_activation_sizes(model, name)
    return model


def check_activation_sizes(model, name="model"):
    """Refuses a model whose layers would produce huge outputs for a single image.

    Weights are bounded before loading, but a few weights can still make giant outputs (a
    100,000-filter convolution, a padding of millions of pixels), and a config can lie about
    the shapes a layer sees; the shapes of the loaded graph cannot lie, and reading them
    computes nothing.

    Raises:
        UnsafeModelError: naming the first layer over `MAX_ACTIVATION_VALUES`.
    """
    import keras

    layers = list(model.layers)
    while layers:
        layer = layers.pop()
        if isinstance(layer, keras.Model):
            layers.extend(layer.layers)
        try:
            tensors = keras.tree.flatten(layer.output)
            inputs = keras.tree.flatten(layer.input)
        except (AttributeError, ValueError, RuntimeError):  # A layer never called in the graph.
            continue
        sizes = [int(np.prod([dim for dim in tensor.shape if dim is not None], dtype=object)) for tensor in tensors]
        values = max(sizes, default=0)
        if isinstance(layer, keras.layers.MultiHeadAttention) and tensors and len(tensors[0].shape) == 3:
            # The attention scores it holds: heads x query length x key length.
            keys = [tensor.shape[1] or 0 for tensor in inputs if len(tensor.shape) == 3]
            values = max(values, layer.num_heads * (tensors[0].shape[1] or 0) * max(keys, default=0))
        if values > MAX_ACTIVATION_VALUES:
            raise UnsafeModelError(
                f"Model {name!r} would compute {values:,} values in its layer {layer.name[:80]!r} for one image, "
                f"over the limit of {MAX_ACTIVATION_VALUES:,}."
            )


def load(name):
    """Loads a model by name and returns a `Classifier`.

    The ImageNet classifier is built into the cache folder on first use.

    Raises:
        RegistryError: a bad name (`RegistryError`), an unknown model (`ModelNotFound`), or a
            file that fails a check (`UnsafeModelError`).
    """
    validate_name(name)
    if name in BUILT_MODELS:
        ensure_built(name)
    model_card, data = model_file(name)
    model = load_keras_bytes(data, name)
    expected = tuple(model_card["input"]["shape"])
    if tuple(model.input_shape[1:]) != expected:
        raise UnsafeModelError(f"Model {name!r} takes {tuple(model.input_shape[1:])} but its card says {expected}.")
    outputs = model.output_shape[-1]
    if max(outputs, 2) != len(model_card["class_names"]):
        raise UnsafeModelError(f"Model {name!r} has {outputs} outputs but its card names {len(model_card['class_names'])} classes.")
    return Classifier(name, model_card, model)


def model_file(name):
    """Returns `(card, bytes)` of a model's `.keras` file exactly as stored, hash-checked.

    Card and file are read together under the registry's lock, so they always belong together.

    Raises:
        RegistryError: a bad name, an unknown model, or a file that does not match its card.
    """
    card_path, model_path = _paths(name)
    with _locked(card_path.parent, exclusive=False):
        model_card = _read_card(card_path, name)
        data = _read_model_bytes(model_path, name)
    if sha256_bytes(data) != model_card.get("sha256"):
        raise UnsafeModelError(f"Model {name!r} does not match the sha256 in its card; the file was changed or damaged.")
    return model_card, data


def ensure_built(name):
    """Builds a model that is made on first use (the ImageNet classifier) into the cache folder."""
    from imgrec import pretrained

    card_path, model_path = _paths(name)
    folder = card_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    if card_path.exists() and model_path.exists():
        return card_path
    with open(folder / f".{name}.build-lock", "a+") as handle:
        # Two first visitors at once: one builds, the other waits and then finds the result.
        fcntl.flock(handle, fcntl.LOCK_EX)
        if card_path.exists() and model_path.exists():
            return card_path
        model = pretrained.build_model()
        save(model, name, _built_model_card(name, model), overwrite=True, protected=True)
    return card_path


def clear_unbuilt_cache(name):
    """Removes a built model from the cache so the next load rebuilds it."""
    card_path, model_path = _paths(name)
    with _locked(card_path.parent, exclusive=True):
        for path in (card_path, model_path):
            path.unlink(missing_ok=True)


def model_bytes(model):
    """Serialises a Keras model to `.keras` bytes, without optimizer state or compile config.

    A registry model is for inference: an uncompiled clone keeps optimizer classes out of the
    archive (so the allow-list stays small) and the file about a third smaller.
    """
    import keras

    if getattr(model, "optimizer", None) is not None:
        # clone_model keeps the compile state in Keras 3; from_config does not.
        clean = keras.Model.from_config(model.get_config())
        clean.set_weights(model.get_weights())
        model = clean
    temp_dir = tempfile.mkdtemp(prefix="imgrec-save-")
    path = pathlib.Path(temp_dir) / "model.keras"
    try:
        model.save(path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(temp_dir)


def save(model, name, model_card, *, overwrite=False, protected=False):
    """Saves a model and its card atomically.

    The `.keras` file is written to a temporary file in the same folder, flushed, fsynced and
    renamed over the old one with `os.replace`; the card is written the same way last, both
    under an exclusive lock, so a reader never sees a card that does not match its file.

    Args:
        model: a `keras.Model`.
        name: the registry name (validated).
        model_card: dict with at least `architecture`, `dataset`, `input`, `preprocessing`,
            `class_names`; `sha256`, `keras_version`, `created`, `parameters` and `file_size`
            are filled in here.
        overwrite: replace an existing model of that name. Defaults to `False`.
        protected: mark the model as shipped, so `delete` refuses it. Defaults to `False`.

    Returns:
        The card as written.

    Raises:
        RegistryError: for a bad name, an existing name without `overwrite`, a protected
            model, or a model with non-finite weights.
    """
    import keras

    from imgrec import architectures

    validate_name(name)
    card_path, model_path = _paths(name)
    if not architectures.weights_are_finite(model):
        raise RegistryError(f"Model {name!r} has non-finite weights and was not saved.")
    data = model_bytes(model)
    inspect_archive(data, name)
    full_card = dict(model_card)
    full_card.update(
        {
            "name": name,
            "file": model_path.name,
            "sha256": sha256_bytes(data),
            "file_size": len(data),
            "parameters": int(model.count_params()),
            "keras_version": keras.__version__,
            "created": full_card.get("created") or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "protected": bool(protected or full_card.get("protected", False)),
        }
    )
    full_card.setdefault("input", {"shape": list(model.input_shape[1:])})
    folder = card_path.parent
    with _locked(folder, exclusive=True):
        if card_path.exists() and not overwrite:
            raise RegistryError(f"A model named {name!r} already exists; choose another name.")
        if card_path.exists() and _read_card(card_path, name).get("protected") and not protected:
            raise RegistryError(f"Model {name!r} is a shipped model and cannot be replaced.")
        model_temp = atomic.write_temp(folder, f".{name}.", ".keras.tmp", data)
        card_temp = atomic.write_temp(folder, f".{name}.", ".json.tmp", (json.dumps(full_card, indent=2) + "\n").encode())
        os.replace(model_temp, model_path)
        os.replace(card_temp, card_path)
        atomic.fsync_folder(folder)
    return full_card


def delete(name):
    """Deletes a saved model and its card.

    Raises:
        RegistryError: for shipped (protected) models; ModelNotFound when absent.
    """
    card_path, model_path = _paths(name)
    with _locked(card_path.parent, exclusive=True):
        model_card = _read_card(card_path, name)
        if model_card.get("protected"):
            raise RegistryError(f"Model {name!r} is a shipped model and cannot be deleted.")
        card_path.unlink()
        model_path.unlink(missing_ok=True)


def clean_temporary_files(folder=None):
    """Removes temporary files left by a save that was killed midway; returns how many."""
    folder = pathlib.Path(folder or models_dir())
    removed = 0
    if folder.is_dir():
        with _locked(folder, exclusive=True):
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


class Prediction(tuple):
    """One ranked class: `(label, index, probability)`, also as attributes."""

    __slots__ = ()

    def __new__(cls, label, index, probability):
        return super().__new__(cls, (label, index, probability))

    label = property(lambda self: self[0])
    index = property(lambda self: self[1])
    probability = property(lambda self: self[2])

    def to_dict(self):
        return {"label": self.label, "index": self.index, "probability": self.probability}


class Classifier:
    """A loaded model plus its card: knows its input, its classes and how to prepare any image."""

    def __init__(self, name, model_card, model):
        self.name = name
        self.card = model_card
        self.model = model
        self.class_names = tuple(model_card["class_names"])
        self.input_shape = tuple(int(size) for size in model.input_shape[1:])
        self.preprocessing = dict(model_card.get("preprocessing") or {"kind": "fit"})

    def __repr__(self):
        return f"Classifier({self.name!r}, input={self.input_shape}, classes={len(self.class_names)})"

    def preprocess(self, rgb):
        """Returns what the model sees: float32 `input_shape` in 0..255."""
        from imgrec import preprocess

        return preprocess.prepare(rgb, self.input_shape, self.preprocessing)

    def predict_proba(self, rgb_images):
        """Returns `(N, num_classes)` probabilities for a list of decoded RGB images."""
        batch = np.stack([self.preprocess(rgb) for rgb in rgb_images]).astype(np.float32)
        return self.predict_inputs(batch)

    def predict_inputs(self, batch):
        """Returns probabilities for a batch already in model-input form."""
        from imgrec import inference

        return inference.predict_probabilities(self.model, batch)

    def top_k(self, rgb, k=5):
        """Returns the k most probable classes of one decoded RGB image as `Prediction`s."""
        probabilities = self.predict_proba([rgb])[0]
        return self.rank(probabilities, k)

    def rank(self, probabilities, k=5):
        """Returns the k most probable classes of a probability vector."""
        k = max(1, min(int(k), len(self.class_names)))
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [Prediction(self.class_names[i], int(i), float(probabilities[i])) for i in order]

    def predict_bytes(self, data, k=5):
        """Decodes untrusted image bytes and returns the top k (raises `images.ImageError`)."""
        from imgrec import images

        return self.top_k(images.decode_image(data), k)


def preprocessing_for_dataset(dataset_name):
    """Returns the preprocessing spec a model trained on a dataset needs for arbitrary photos."""
    base = dataset_name.split(":", 1)[0]
    if base in ("mnist", "mnist-5k", "digits"):
        return {"kind": "mnist-digit", "invert": "auto", "normalisation": "in-model Rescaling(1/255)"}
    if base == "fashion-mnist":
        return {"kind": "fit", "invert": "auto", "normalisation": "in-model Rescaling(1/255)"}
    return {"kind": "fit", "invert": False, "normalisation": "in-model Rescaling(1/255)"}


def card_for_training(result, report, *, title=None, summary=None):
    """Builds a model card from a `training.TrainResult` and a `metrics.evaluate` report."""
    import platform

    import tensorflow as tf

    from imgrec import architectures

    config = result.config
    return {
        "title": title or f"{config.architecture} on {config.dataset}",
        "summary": summary or architectures.DESCRIPTIONS.get(config.architecture, config.architecture),
        "architecture": config.architecture,
        "dataset": config.dataset,
        "input": {"shape": list(result.input_shape), "dtype": "float32", "range": [0, 255],
                  "color_mode": "grayscale" if result.input_shape[-1] == 1 else "rgb"},
        "preprocessing": preprocessing_for_dataset(config.dataset),
        "class_names": list(result.class_names),
        "training": {
            "config": config.to_dict(),
            "seconds": round(result.seconds, 1),
            "samples_per_second": round(result.samples_per_second, 1),
            "train_samples": result.train_samples,
            "validation_samples": result.validation_samples,
            "dataset_source": result.dataset_source,
            "history": result.history,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}",
            "cancelled": result.cancelled,
        },
        "metrics": {
            "split": report["split"],
            "dataset": report["dataset"],
            "n": report["n"],
            "test_accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "roc_auc": report["roc_auc"],
            "per_class_f1": {row["class"]: row["f1"] for row in report["per_class"]},
        },
    }
