"""imgrec.export: every format is checked by reloading it; the bytes a page offers for download."""

import io
import zipfile

import numpy as np
import pytest

from imgrec import architectures, export, registry


@pytest.fixture(scope="module")
def classifier():
    model = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    card = registry.card_for_model("cnn", "mnist", (28, 28, 1), [str(digit) for digit in range(10)])
    return registry.Classifier("tiny-cnn", card, model)


def test_keras_bytes_load_back_to_the_same_predictions(classifier):
    data = export.export_bytes(classifier, "keras")
    image = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1)).astype(np.float32)
    reloaded = registry.load_keras_bytes(data, "tiny-cnn")
    np.testing.assert_allclose(reloaded(image), classifier.model(image), atol=1e-6)


def test_a_savedmodel_comes_back_zipped_under_the_models_name(classifier, tmp_path):
    data = export.export_bytes(classifier, "savedmodel")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert "tiny-cnn/saved_model.pb" in names and all(name.startswith("tiny-cnn/") for name in names)
    batch = np.random.default_rng(1).uniform(0, 255, (3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(export.run_saved_model(tmp_path / "tiny-cnn", batch), classifier.model(batch),
                               atol=1e-5)


def test_an_unknown_format_is_refused_before_any_work(classifier):
    with pytest.raises(ValueError, match="Unknown export format 'onnx'"):
        export.export_bytes(classifier, "onnx")


@pytest.mark.parametrize(("architecture", "cell"), [("rnn", "gru"), ("rnn", "lstm"), ("crnn", "gru"), ("rnn", "simple")])
def test_recurrent_models_export_to_tflite_and_predict_as_keras_does(architecture, cell, tmp_path):
    model = architectures.build(architecture, (28, 28, 1), 10, recurrent_cell=cell, recurrent_units=8, seed=0)
    card = registry.card_for_model(architecture, "mnist", (28, 28, 1), [str(digit) for digit in range(10)])
    recurrent = registry.Classifier("tiny-recurrent", card, model)
    data = export.export_bytes(recurrent, "tflite")
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    # Read back in the TFLite interpreter (no Flex delegate here: built-in operations only).
    batch = np.random.default_rng(2).uniform(0, 255, (3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(export.run_tflite(path, batch), model(batch, training=False), atol=1e-5)
    assert not model.get_layer("recurrent").unroll  # The model itself is left as it was.


def test_a_model_the_converter_refuses_is_one_sentence_on_the_command_line(fresh_registry, tmp_path, capsys,
                                                                          monkeypatch):
    import tensorflow as tf

    from imgrec import cli

    class RefusingConverter:
        def convert(self):
            # As TensorFlow's converter fails: a ConverterError whose message is pages of MLIR diagnostics.
            from tensorflow.lite.python.convert import ConverterError

            raise ConverterError("loc(fused[...]): error: failed to legalize operation 'tf.TensorListReserve'\n" * 52)

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", staticmethod(lambda folder: RefusingConverter()))
    code = cli.main(["export", "--model", "tiny-cnn", "--format", "tflite", "--output", str(tmp_path / "m.tflite")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: TensorFlow's TFLite converter cannot convert model") and "SavedModel" in err
    assert not (tmp_path / "m.tflite").exists()
