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
