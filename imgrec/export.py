"""Exports a registry model as .keras, TFLite or SavedModel, each checked by reloading and comparing predictions."""

import io
import pathlib
import shutil
import tempfile
import zipfile

import numpy as np

from imgrec import texts

FORMATS = ("keras", "tflite", "savedmodel")
TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An export that failed: a converter that cannot convert the model, or reloaded predictions that differ."""


def _probe_batch(input_shape, seed=0):
    # Fixed random pixels: a check that needs no dataset and covers the whole input range.
    return np.random.default_rng(seed).uniform(0, 255, size=(4, *input_shape)).astype(np.float32)


def export(classifier, fmt, destination):
    """Writes `classifier.model` in a format and checks the written file.

    Args:
        classifier: a `registry.Classifier`.
        fmt: one of `FORMATS`.
        destination: file path (.keras, .tflite) or folder (savedmodel).

    Returns:
        The written path.

    Raises:
        ValueError: for an unknown format.
        ExportError: when the converter cannot convert the model, or the reloaded export predicts differently.
    """
    from imgrec import registry

    destination = pathlib.Path(destination)
    model = classifier.model
    batch = _probe_batch(classifier.input_shape)
    expected = np.asarray(model(batch, training=False))
    if fmt == "keras":
        data = registry.model_bytes(model)
        destination.write_bytes(data)
        got = np.asarray(registry.load_keras_bytes(data, classifier.name)(batch, training=False))
    elif fmt == "tflite":
        destination.write_bytes(tflite_bytes(model))
        got = run_tflite(destination, batch)
    elif fmt == "savedmodel":
        if destination.exists():
            shutil.rmtree(destination)
        model.export(str(destination), format="tf_saved_model", verbose=False)
        got = run_saved_model(destination, batch)
    else:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    difference = float(np.max(np.abs(got - expected)))
    if difference > TOLERANCE:
        raise texts.said(ExportError, "errors_export.differs", kind=fmt, difference=difference)
    return destination


def export_bytes(classifier, fmt):
    """Exports a model to a format, checked as `export` checks it, and returns the file's bytes.

    A SavedModel is a folder: it comes back zipped, its files under a folder named after the model.

    Args:
        classifier: a `registry.Classifier`.
        fmt: one of `FORMATS`.

    Returns:
        The bytes of the `.keras` or `.tflite` file, or of the SavedModel's zip.

    Raises:
        ValueError: for an unknown format.
        ExportError: when the reloaded export predicts differently.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    with tempfile.TemporaryDirectory(prefix="imgrec-export-") as folder:
        if fmt != "savedmodel":
            return export(classifier, fmt, pathlib.Path(folder) / f"model.{fmt}").read_bytes()
        path = export(classifier, "savedmodel", pathlib.Path(folder) / classifier.name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in sorted(path.rglob("*")):
                if member.is_file():
                    archive.write(member, member.relative_to(path.parent))
        return buffer.getvalue()


def unrolled(model):
    """Returns a copy of a model whose recurrent layers are unrolled (same weights), or the model itself when it has none.

    An unrolled SimpleRNN, GRU or LSTM is the same computation written out step by step, which
    TFLite's built-in operations can hold; the loop of a rolled-up one needs TensorFlow's list
    operations, which TFLite runs only through its Flex delegate (`SELECT_TF_OPS`). Measured
    here: the shipped GRU model converts with `SELECT_TF_OPS`, but the TFLite interpreter of the
    tensorflow pip package cannot run the file ("Select TensorFlow op(s) ... not supported");
    unrolled, it converts to built-in operations only and predicts within 1e-6 of Keras.
    """
    import keras

    if not any(getattr(layer, "unroll", True) is False for layer in model.layers):
        return model

    def clone_layer(layer):
        config = layer.get_config()
        if config.get("unroll") is False:
            config["unroll"] = True
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone_layer)
    copy.set_weights(model.get_weights())
    return copy


def tflite_bytes(model):
    """Converts a Keras model to a TFLite flatbuffer (float32, no quantisation), using TFLite's built-in operations only.

    Recurrent layers are converted unrolled (see `unrolled`). The converter's own output (pages
    of MLIR diagnostics on fd 2) is discarded; its error comes back as one sentence.

    Raises:
        ExportError: when the converter cannot convert the model.
    """
    import tensorflow as tf

    from imgrec import runtime

    with tempfile.TemporaryDirectory(prefix="imgrec-tflite-") as folder, runtime.silenced_stderr():
        # Converting from a SavedModel works for every layer we ship, including the ViT's.
        unrolled(model).export(folder, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        try:
            return converter.convert()
        except Exception as error:  # ConverterError and the errors of its MLIR passes; all mean "not convertible".
            reason = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
            raise texts.said(ExportError, "errors_export.tflite", name=model.name, reason=reason[:200]) from None


def run_tflite(path, batch):
    """Runs a TFLite file over a batch, one image at a time; returns the stacked outputs."""
    import warnings

    import tensorflow as tf

    from imgrec import runtime

    # tf.lite.Interpreter warns that LiteRT replaces it (a package not installed here) and logs
    # its delegate on fd 2; neither is for the user of an export.
    with warnings.catch_warnings(), runtime.silenced_stderr():
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
        input_detail = interpreter.get_input_details()[0]
        output_detail = interpreter.get_output_details()[0]
        outputs = []
        for image in batch:
            interpreter.resize_tensor_input(input_detail["index"], (1, *image.shape))
            interpreter.allocate_tensors()
            interpreter.set_tensor(input_detail["index"], image[None].astype(np.float32))
            interpreter.invoke()
            outputs.append(interpreter.get_tensor(output_detail["index"])[0])
    return np.stack(outputs)


def run_saved_model(path, batch):
    """Runs an exported SavedModel's serving function over a batch."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.asarray(loaded.serve(tf.constant(batch)))
