"""Preprocessing: digits are prepared the way MNIST was made; photos are padded and resized, or cropped for ImageNet."""

import numpy as np
import pytest

from imgrec import preprocess


def _drawn_digit(height=120, width=90, dark_on_light=True):
    # A thick vertical stroke off-centre, like a "1" drawn in the corner of a canvas.
    canvas = np.full((height, width, 3), 255 if dark_on_light else 0, np.uint8)
    canvas[10:70, 10:22] = 0 if dark_on_light else 255
    return canvas


def test_dark_on_light_drawing_is_inverted_cropped_and_centred():
    digit = preprocess.mnist_digit(_drawn_digit())
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32
    gray = digit[..., 0]
    assert gray.max() == pytest.approx(255, abs=1) and gray[0, 0] == 0
    rows, cols = np.nonzero(gray > 50)
    assert rows.max() - rows.min() <= 20 and cols.max() - cols.min() <= 20
    ys, xs = np.indices(gray.shape)
    assert abs((ys * gray).sum() / gray.sum() - 14.0) <= 1.0
    assert abs((xs * gray).sum() / gray.sum() - 14.0) <= 1.0


def test_light_on_dark_gives_the_same_digit():
    np.testing.assert_allclose(
        preprocess.mnist_digit(_drawn_digit(dark_on_light=False)), preprocess.mnist_digit(_drawn_digit()), atol=1
    )


def test_blank_image_gives_zeros():
    assert preprocess.mnist_digit(np.full((50, 50, 3), 255, np.uint8)).max() == 0


def test_mnist_test_digits_are_still_recognisable_after_preparation():
    from imgrec import datasets

    dataset = datasets.load("mnist", max_test=50)
    for image in dataset.x_test[:10]:
        rgb = np.repeat(image, 3, axis=-1)
        prepared = preprocess.mnist_digit(rgb)[..., 0]
        original = image[..., 0].astype(np.float32)
        correlation = np.corrcoef(prepared.ravel(), original.ravel())[0, 1]
        assert correlation > 0.9


def test_fit_pads_to_the_model_aspect_and_keeps_colour():
    wide = np.zeros((20, 80, 3), np.uint8)
    wide[:, :, 0] = 200
    fitted = preprocess.fit(wide, 32, 32, 3, invert=False)
    assert fitted.shape == (32, 32, 3)
    assert fitted[16, 16, 0] == pytest.approx(200, abs=1)


def test_prepare_dispatches_on_the_card_and_rejects_unknown_kinds():
    rgb = _drawn_digit()
    assert preprocess.prepare(rgb, (28, 28, 1), {"kind": "mnist-digit"}).shape == (28, 28, 1)
    assert preprocess.prepare(rgb, (28, 28, 1), {"kind": "fit"}).shape == (28, 28, 1)
    assert preprocess.prepare(rgb, (224, 224, 3), {"kind": "imagenet"}).shape == (224, 224, 3)
    with pytest.raises(ValueError, match="Unknown preprocessing"):
        preprocess.prepare(rgb, (28, 28, 1), {"kind": "magic"})
    with pytest.raises(ValueError, match="RGB image"):
        preprocess.prepare(rgb[..., 0], (28, 28, 1), {"kind": "fit"})


@pytest.mark.parametrize("policy", preprocess.RESIZE_POLICIES)
@pytest.mark.parametrize("shape", [(300, 451, 3), (451, 300), (50, 40, 1), (224, 224, 3)])
def test_imagenet_crop_gives_raw_pixels_at_input_size(policy, shape):
    rgb = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    result = preprocess.imagenet_crop(rgb, policy)
    assert result.shape == (224, 224, 3) and result.dtype == np.float32
    assert 0.0 <= result.min() and result.max() <= 255.0


def test_imagenet_crop_keeps_the_centre_and_squash_keeps_everything():
    # A wide image: black left third, white centre, black right third.
    rgb = np.zeros((100, 300, 3), np.uint8)
    rgb[:, 100:200] = 255
    assert preprocess.imagenet_crop(rgb, "crop")[:, 20:-20].min() > 250
    squashed = preprocess.imagenet_crop(rgb, "squash")
    assert squashed[:, :60].max() < 5 and squashed[:, 90:130].min() > 250
    # A card's "resize" names the policy.
    np.testing.assert_array_equal(preprocess.prepare(rgb, (224, 224, 3), {"kind": "imagenet", "resize": "squash"}), squashed)


def test_imagenet_crop_rejects_bad_input():
    with pytest.raises(ValueError, match="resize policy"):
        preprocess.imagenet_crop(np.zeros((10, 10, 3), np.uint8), "stretch")
    with pytest.raises(ValueError, match="RGB image"):
        preprocess.imagenet_crop(np.zeros((10, 10, 4), np.uint8))
