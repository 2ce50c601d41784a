"""SmoothGrad (Smilkov et al., 2017): saliency averaged over noisy copies of the image."""

import numpy as np

from imgrec import overlays
from imgrec.explain import base, checks, gradients

SAMPLES = base.Option(
    name="samples", title="Noisy copies", kind="integer", default=16, minimum=1, maximum=256,
    help="More copies wash out more noise, and each costs one more forward and backward pass.",
)
# The paper finds 10-20% of the pixel range best.
NOISE = base.Option(
    name="noise", title="Noise level", kind="number", default=0.15, minimum=0.0, maximum=1.0,
    help="The noise's standard deviation as a fraction of the 0 to 255 pixel range.",
)
SEED = base.Option(
    name="seed", title="Noise seed", kind="integer", default=0, minimum=0, maximum=2**31 - 1,
    help="The seed of the noise, so the same seed gives the same map.",
)
# The paper's maps are capped at the 99th percentile before scaling: a handful of pixels with
# huge gradients otherwise take the whole colour range and leave the rest a faint speckle.
CLIP_PERCENTILE = 99.0
# Gradients are taken for this many noisy copies at once: memory stays flat on EfficientNet
# (16 x 224 x 224 x 3 activations per pass).
_CHUNK = 16


def smoothgrad(model, image, class_index, samples=SAMPLES.default, noise=NOISE.default, seed=SEED.default):
    """Returns the SmoothGrad map of one class for one image.

    Args:
        model: any differentiable `keras.Model`.
        image: float32 `(height, width, channels)` in 0..255.
        class_index: the class to explain.
        samples: noisy copies, from 1 to 256. Defaults to `16`.
        noise: noise standard deviation as a fraction of the 0..255 pixel range, in [0, 1].
            Defaults to `0.15`.
        seed: seed of the noise, so a map is reproducible. Defaults to `0`.

    Returns:
        float32 `(height, width)`: |mean gradient|, max over channels, capped at its
        CLIP_PERCENTILE-th percentile and scaled to [0, 1] (so at least 1% of the pixels are 1).

    Raises:
        ValueError: for a bad class, image, number of samples or noise level.
    """
    samples, noise, seed = SAMPLES.check(samples), NOISE.check(noise), SEED.check(seed)
    batch = checks.as_batch(model, image)
    rng = np.random.default_rng(seed)
    noisy = batch + rng.normal(0.0, noise * 255.0, size=(samples, *batch.shape[1:])).astype(np.float32)
    total = np.zeros(batch.shape[1:], dtype=np.float64)
    for start in range(0, samples, _CHUNK):
        total += gradients.input_gradients(model, noisy[start : start + _CHUNK], class_index).sum(axis=0)
    magnitude = np.abs(total / samples).max(axis=-1)
    return overlays.unit_range(np.minimum(magnitude, np.percentile(magnitude, CLIP_PERCENTILE)))


EXPLAINER = base.Explainer(
    name="smoothgrad",
    title="SmoothGrad",
    description="Saliency averaged over noisy copies of the image, which washes out the speckle and keeps "
                "what is stable.",
    heatmap=smoothgrad,
    applies_to=base.any_model,
    options=(SAMPLES, NOISE, SEED),
)
