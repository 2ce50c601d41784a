"""The checks a model file passes before Keras sees it, and the one safe way to load its bytes.

Model files are untrusted input. A name must match `NAME_PATTERN`; an archive must hold exactly
the members Keras writes, within size limits (zip bombs included); every class its
`config.json` names must be on the allow-list; the weights it would allocate are estimated
from the config; only then does Keras load it, in safe mode, from a private copy of the
checked bytes, and the loaded graph's activation sizes are checked before it computes anything.
"""

import hashlib
import io
import json
import os
import pathlib
import re
import tempfile
import zipfile

import numpy as np

from imgrec import texts
from imgrec.registry.errors import RegistryError, UnsafeModelError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_MODEL_BYTES = 64 * 1024 * 1024  # EfficientNet-Lite0 is ~19 MB; nothing we ship comes close to 64.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_PARAMETERS = 20_000_000  # Caps what a config may make Keras allocate (a 60,000-unit Dense bomb).
# What an archive's members may declare they unpack to: Keras stores them uncompressed, so a
# real archive unpacks to its own size, while a zip bomb is a few MB that inflate to gigabytes.
MAX_UNPACKED_BYTES = 2 * MAX_MODEL_BYTES
MAX_INPUT_VALUES = 4096 * 4096 * 4  # One image's values; a huge declared input is its own kind of bomb.
# One layer's output (or attention scores) for one image; EfficientNet-Lite0's largest is 1.2 M.
MAX_ACTIVATION_VALUES = 2**24
ARCHIVE_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}

# Every class a saved model's config may name: (module, class_name). Anything else is refused
# before deserialisation, so a Lambda, an arbitrary function or a custom class never runs.
_KERAS_LAYERS = {
    "InputLayer", "Rescaling", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization",
    "Activation", "ReLU", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalAveragePooling1D", "GlobalMaxPooling2D", "Flatten", "Dropout", "Dense", "Reshape", "Permute",
    "SimpleRNN", "GRU", "LSTM", "Bidirectional", "LayerNormalization", "MultiHeadAttention", "Add",
    "Multiply", "Concatenate", "ZeroPadding2D", "EinsumDense",
    # The autoencoder's decoder: it repeats pixels and holds no weights; check_activation_sizes bounds its output.
    "UpSampling2D",
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


def validate_name(name):
    """Checks a model name against `^[a-z0-9][a-z0-9_-]{0,63}$`.

    Raises:
        RegistryError: for anything else (paths, URLs, dots, NUL bytes, upper case).
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = repr(name)[:80]
        raise texts.said(RegistryError, "errors_registry.invalid_name", shown=shown)
    return name


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
    config = read_archive_json(open_archive(data, name), "config.json", MAX_CONFIG_BYTES, name)
    check_config(config, name)
    return config


def open_archive(data, name="model"):
    """Opens a `.keras` archive's bytes after checking its members and their declared sizes; reads no member.

    Returns:
        The `zipfile.ZipFile`, holding exactly `ARCHIVE_MEMBERS`, which unpack to at most
        `MAX_UNPACKED_BYTES` together.

    Raises:
        UnsafeModelError: for an empty file, a file that is not a zip, a duplicated, missing
            or unexpected member, or a decompression bomb.
    """
    if not data:
        raise texts.said(UnsafeModelError, "errors_registry.empty_file", name=name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise texts.said(UnsafeModelError, "errors_registry.not_zip", name=name) from None
    members = set(names)
    if len(members) != len(names):
        # Two entries of one name: which one a reader gets depends on the reader.
        duplicate = next(member for member in names if names.count(member) > 1)
        raise texts.said(UnsafeModelError, "errors_registry.member_twice", name=name, member=duplicate)
    if members != ARCHIVE_MEMBERS:
        extra = sorted(members - ARCHIVE_MEMBERS)
        missing = sorted(ARCHIVE_MEMBERS - members)
        if extra:
            raise texts.said(UnsafeModelError, "errors_registry.unexpected_member", name=name, member=extra[0])
        raise texts.said(UnsafeModelError, "errors_registry.missing_member", name=name, member=missing[0])
    # zipfile never inflates a member past the size the archive declares for it, so checking the
    # declared sizes bounds what Keras (or anything else) can unpack.
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise texts.said(UnsafeModelError, "errors_registry.unpack_bomb", name=name, megabytes=unpacked / 1e6,
                         limit=MAX_UNPACKED_BYTES // 2**20)
    return archive


def read_archive_json(archive, member, max_bytes, name="model"):
    """Returns the parsed JSON of one member of an archive from `open_archive`, size- and depth-capped.

    Raises:
        UnsafeModelError: for a member over `max_bytes`, nested too deeply, or not JSON.
    """
    size = archive.getinfo(member).file_size
    if size > max_bytes:
        raise texts.said(UnsafeModelError, "errors_registry.oversized_member", name=name, part=member.removesuffix(".json"),
                         size=size)
    try:
        with archive.open(member) as handle:
            return json.loads(handle.read(max_bytes + 1))
    except RecursionError:
        raise texts.said(UnsafeModelError, "errors_registry.nested_member", name=name, member=member) from None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, EOFError):
        # ValueError: JSONDecodeError, and integers too long to convert.
        raise texts.said(UnsafeModelError, "errors_registry.unreadable_json", name=name, member=member) from None


def check_config(config, name="model"):
    """Checks a parsed `config.json`: every class on the allow-list, and the weights it would allocate capped.

    Raises:
        UnsafeModelError: naming the refused class, or the size over its limit.
    """
    try:
        check_config_classes(config, name)
        parameters = _count_parameters(config)
    except _Oversized as error:
        raise texts.said(UnsafeModelError, error.key, name=name, **error.values) from None
    except RecursionError:
        raise texts.said(UnsafeModelError, "errors_registry.nested_member", name=name, member="config.json") from None
    if parameters > MAX_PARAMETERS:
        raise texts.said(UnsafeModelError, "errors_registry.too_many_parameters", name=name, parameters=parameters,
                         limit=MAX_PARAMETERS)


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
            raise texts.said(UnsafeModelError, "errors_registry.malformed_class", name=name)
        if class_name in _ALLOWED_SPECIAL:
            continue
        if module == "keras.activations" and class_name == "function":
            activation = node.get("config")
            if not isinstance(activation, str) or activation not in _ALLOWED_ACTIVATIONS:
                raise texts.said(UnsafeModelError, "errors_registry.activation_refused", name=name,
                                 activation=str(activation)[:80])
            continue
        allowed = (module, class_name) in _ALLOWED_CLASSES or (
            module and module.startswith(_ALLOWED_MODULE_PREFIXES) and class_name[:1].isupper())
        if allowed:
            # Keras looks a class up by its registered name before its module and class name, so a
            # foreign registered name would swap in another class than the one checked here.
            expected = (f"imgrec>{class_name}",) if module.startswith("imgrec.") else (None, class_name)
            if node.get("registered_name") not in expected:
                raise texts.said(UnsafeModelError, "errors_registry.foreign_registration", name=name, class_name=class_name)
            continue
        where = f"{module}.{class_name}" if module else class_name
        raise texts.said(UnsafeModelError, "errors_registry.not_allowed", name=name, where=where)


class _Oversized(Exception):
    """A config that would make Keras allocate too much: the catalog key of its sentence, and its values but the name."""

    def __init__(self, key, **values):
        super().__init__(key)
        self.key, self.values = key, values


# Layers whose weights Keras sizes from their input shape. One whose build_config does not record
# that shape is built from the real graph instead, whatever its config claims, so it is refused.
_WEIGHTED_LAYERS = {
    "Dense", "EinsumDense", "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "SimpleRNN", "GRU", "LSTM",
    "MultiHeadAttention", "BatchNormalization", "LayerNormalization", "ClassTokenPositionEmbedding",
}


def _count_parameters(config):
    """Estimates the weights a Keras config will allocate, from layer configs and build shapes.

    Counts Dense, convolution, recurrent, attention and embedding-like kernels, which dominate
    memory.

    Raises:
        _Oversized: saying why, for a config that hides a layer's input size or declares a huge input.
    """
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
            raise _Oversized("errors_registry.input_too_large", values=values, limit=MAX_INPUT_VALUES)
        return 0
    if class_name not in _WEIGHTED_LAYERS:
        return 0
    if shape is None:
        raise _Oversized("errors_registry.unknown_layer_shape", layer=layer_name)
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


def load_keras_bytes(data, name="model"):
    """Inspects `.keras` bytes, then deserialises them in safe mode; the registry folder is not read.

    Returns:
        The `keras.Model`, its activation sizes checked.

    Raises:
        UnsafeModelError: when the archive fails a check or Keras cannot build it.
    """
    import keras

    import imgrec.architectures.builders  # noqa: F401  (registers the ViT layers by name)

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
        raise texts.said(UnsafeModelError, "errors_registry.not_loaded", name=name, reason=reason) from None
    finally:
        pathlib.Path(temp_name).unlink(missing_ok=True)
    if not hasattr(model, "input_shape") or not hasattr(model, "output_shape"):
        raise texts.said(UnsafeModelError, "errors_registry.not_a_classifier", name=name)
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
            raise texts.said(UnsafeModelError, "errors_registry.too_many_activations", name=name, values=values,
                             layer=layer.name[:80], limit=MAX_ACTIVATION_VALUES)


