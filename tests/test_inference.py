"""imgrec.inference: probabilities through the compiled forward pass, and the latency of one image."""

import itertools

import numpy as np
import pytest

from imgrec import architectures, inference


@pytest.fixture(scope="module")
def model():
    return architectures.build("mlp", (8, 8, 1), 10, seed=0)


def test_median_latency_is_the_median_of_timed_passes_after_a_warm_up(model, monkeypatch):
    calls = []
    original = inference.predict_probabilities

    def counting(*args, **kwargs):
        calls.append(args[1].shape)
        return original(*args, **kwargs)

    # Passes of 5, 1, 9, 3, 7 and 100 ms by this clock: the median is 6 ms, the mean would be 20.8.
    durations = [0.005, 0.001, 0.009, 0.003, 0.007, 0.100]
    ticks = itertools.accumulate(value for duration in durations for value in (0.0, duration))
    monkeypatch.setattr(inference, "predict_probabilities", counting)
    latency = inference.median_latency_ms(model, repeats=6, clock=lambda: next(ticks))
    assert latency == pytest.approx(6.0)
    assert calls == [(1, 8, 8, 1)] * 7  # One untimed warm-up, then one image per timed pass.


def test_median_latency_on_the_real_clock_and_bad_repeats(model):
    assert 0 < inference.median_latency_ms(model, repeats=3) < 1000
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        inference.median_latency_ms(model, repeats=0)


def test_predict_probabilities_rows_sum_to_one(model):
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 1)).astype(np.uint8)
    probabilities = inference.predict_probabilities(model, images, batch_size=2)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
