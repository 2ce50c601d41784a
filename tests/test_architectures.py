"""Builders: shapes, heads, layer names, attention probes and safe-mode round trips."""

import keras
import numpy as np
import pytest

from imgrec import architectures


@pytest.mark.parametrize("architecture", architectures.ARCHITECTURES)
@pytest.mark.parametrize(("input_shape", "num_classes"), [((28, 28, 1), 10), ((32, 32, 3), 2), ((8, 8, 1), 10)])
def test_every_architecture_builds_for_any_shape(architecture, input_shape, num_classes):
    model = architectures.build(architecture, input_shape, num_classes)
    images = np.random.default_rng(0).uniform(0, 255, size=(3, *input_shape)).astype("float32")
    outputs = np.asarray(model(images))
    assert model.get_layer("rescale") is model.layers[1]
    assert model.get_layer("predictions") is model.layers[-1]
    if num_classes == 2:
        assert outputs.shape == (3, 1) and architectures.is_binary(model)
        assert ((outputs > 0) & (outputs < 1)).all()
    else:
        assert outputs.shape == (3, num_classes)
        np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-5)


def test_classic_cnn_is_the_keras_example():
    model = architectures.build("cnn", (28, 28, 1), 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                     "Flatten", "Dropout", "Dense"]
    assert model.get_layer("conv1").filters == 32 and model.get_layer("conv2").filters == 64


def test_rnn_reads_rows_and_crnn_reads_columns():
    rnn = architectures.build("rnn", (28, 28, 1), 10, recurrent_cell="simple")
    assert rnn.get_layer("row_sequence").output.shape[1:] == (28, 28)
    assert type(rnn.get_layer("recurrent")).__name__ == "SimpleRNN"
    crnn = architectures.build("crnn", (28, 28, 1), 10, recurrent_cell="lstm")
    assert crnn.get_layer("column_sequence").output.shape[1] == 7
    assert type(crnn.get_layer("recurrent")).__name__ == "LSTM"


def test_vit_exposes_attention_scores_of_every_named_layer():
    model = architectures.build("vit", (28, 28, 1), 10, vit_depth=2, vit_heads=4, patch_size=7)
    probe = keras.Model(model.inputs, [model.get_layer(f"attention_{i}").output[1] for i in (1, 2)])
    scores = [np.asarray(s) for s in probe(np.zeros((2, 28, 28, 1), "float32"))]
    for layer_scores in scores:
        # 16 patches plus the class token; each query's attention sums to 1.
        assert layer_scores.shape == (2, 4, 17, 17)
        np.testing.assert_allclose(layer_scores.sum(axis=-1), 1.0, rtol=1e-5)


def test_vit_round_trips_through_safe_mode(tmp_path):
    model = architectures.build("vit", (28, 28, 1), 10, vit_depth=1)
    path = tmp_path / "vit.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    images = np.random.default_rng(1).uniform(0, 255, size=(2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(images)), np.asarray(loaded(images)), atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architecture": "resnet"}, "Unknown architecture"),
        ({"num_classes": 1}, "at least 2 classes"),
        ({"dropout": 1.0}, "dropout"),
        ({"architecture": "vit", "patch_size": 5}, "must divide"),
        ({"architecture": "vit", "vit_dim": 30, "vit_heads": 4}, "multiple"),
        ({"architecture": "rnn", "recurrent_cell": "transformer"}, "recurrent cell"),
        ({"l2": -1.0}, "penalties"),
    ],
)
def test_impossible_settings_raise_value_error(kwargs, message):
    arguments = {"architecture": "cnn", "input_shape": (28, 28, 1), "num_classes": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        architectures.build(arguments.pop("architecture"), arguments.pop("input_shape"), arguments.pop("num_classes"),
                            **arguments)


def test_regularizers_add_losses():
    model = architectures.build("mlp", (8, 8, 1), 10, l1=1e-3, l2=2e-3)
    model(np.ones((1, 8, 8, 1), "float32"))
    kernels = [np.asarray(layer.kernel) for layer in model.layers if type(layer).__name__ == "Dense"]
    assert len(model.losses) == len(kernels) == 3  # One penalty per Dense kernel: l1 * sum|w| + l2 * sum w^2.
    expected = sum(1e-3 * np.abs(kernel).sum() + 2e-3 * np.square(kernel).sum() for kernel in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    plain = architectures.build("mlp", (8, 8, 1), 10)
    plain(np.ones((1, 8, 8, 1), "float32"))
    assert plain.losses == []
