"""predict_latency_vs_tf_function and imagenet_predict_ms: bytes -> top-k through the registry."""

import io

import numpy as np
from PIL import Image

from bench.common import interleaved_ms, result

SMALL_MODEL = "mnist-cnn"


def _png_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _latency_rows(name, classifier, data, k, note):
    import tensorflow as tf

    model = classifier.model
    ready = tf.constant(classifier.preprocess(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))[None])

    @tf.function(input_signature=[tf.TensorSpec((None, *classifier.input_shape), tf.float32)])
    def bare(images):
        return model(images, training=False)

    def through_registry():
        return classifier.predict_bytes(data, k)

    def bare_tf_function():
        return bare(ready).numpy()

    def naive_predict():
        return model.predict(ready, verbose=0)

    registry_ms, function_ms, predict_ms = interleaved_ms([through_registry, bare_tf_function, naive_predict])
    return [
        result(name, registry_ms, "ms", function_ms, note=f"{note}; baseline: a bare cached tf.function on a ready tensor"),
        result(f"{name}_vs_model_predict", registry_ms, "ms", predict_ms, note="baseline: naive model.predict on a ready tensor; must be < 1"),
    ]


def run():
    from imgrec import datasets, registry

    rows = []
    small = registry.load(SMALL_MODEL)
    rows += _latency_rows("predict_latency_vs_tf_function", small, _png_bytes(datasets.load_sample("mnist-00")), 5,
                          f"{SMALL_MODEL}: one PNG's bytes to top-5; target ratio <= 3")

    imagenet = registry.load("imagenet-efficientnet-lite0")
    photo = _jpeg_bytes(datasets.load_sample("photos-chelsea"))
    latency = _latency_rows("imagenet_predict_ms", imagenet, photo, 5,
                            "one JPEG photo's bytes to top-5, warm; target value <= 40 ms")
    rows += latency

    batch = np.stack([imagenet.preprocess(datasets.load_sample("photos-chelsea"))] * 32)
    import time

    imagenet.predict_inputs(batch)
    started = time.perf_counter()
    for _ in range(3):
        imagenet.predict_inputs(batch)
    rate = 3 * len(batch) / (time.perf_counter() - started)
    rows.append(result("imagenet_batch_throughput", rate, "images/s", None, note="batches of 32 preprocessed photos"))
    return rows
