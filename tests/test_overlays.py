"""Tests for imgrec.overlays: resizing, scaling, colouring and blending heatmaps, without TensorFlow."""

import doctest
import subprocess
import sys

import numpy as np
import pytest

from imgrec import overlays


def test_upsample_keeps_the_range():
    heatmap = np.random.default_rng(0).random((7, 7)).astype(np.float32)
    resized = overlays.upsample(heatmap, 224, 224)
    assert resized.shape == (224, 224) and resized.dtype == np.float32
    assert resized.min() >= heatmap.min() - 1e-6 and resized.max() <= heatmap.max() + 1e-6
    with pytest.raises(ValueError, match="must be 2-D"):
        overlays.upsample(np.zeros((2, 2, 2)), 4, 4)


def test_unit_range_divides_by_the_peak_and_clips_negatives():
    np.testing.assert_allclose(overlays.unit_range(np.array([[-1.0, 1.0], [2.0, np.nan]])), [[0, 0.5], [1, 0]])
    np.testing.assert_array_equal(overlays.unit_range(np.full((2, 2), -3.0)), np.zeros((2, 2)))


def test_stretch_maps_the_minimum_to_zero_and_the_maximum_to_one():
    np.testing.assert_allclose(overlays.stretch(np.array([-2.0, 0.0, 2.0])), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(overlays.stretch(np.full(3, 7.0)), np.zeros(3))


@pytest.mark.parametrize("colormap", overlays.COLORMAPS)
def test_overlay_blends_a_colormap_over_the_image(colormap):
    image = np.full((20, 30, 3), 100, np.uint8)
    heatmap = np.linspace(0, 1, 12).reshape(3, 4)
    assert overlays.overlay(image, heatmap, alpha=0.0, colormap=colormap).tolist() == image.tolist()
    blended = overlays.overlay(image[..., 0], heatmap, alpha=1.0, colormap=colormap)
    assert blended.shape == (20, 30, 3) and blended.dtype == np.uint8
    np.testing.assert_array_equal(blended, overlays.colorize(overlays.upsample(heatmap, 20, 30), colormap))


# matplotlib 3.11's cividis (`matplotlib.colormaps["cividis"](x)`, times 255, rounded) at points between the stops.
CIVIDIS_REFERENCE = {0.0: (0, 34, 78), 0.1: (8, 51, 112), 0.3: (79, 87, 108), 0.55: (136, 133, 120),
                     0.8: (200, 184, 102), 0.95: (243, 219, 66), 1.0: (254, 232, 56)}


def test_cividis_matches_matplotlib_and_its_lightness_rises_steadily():
    positions = list(CIVIDIS_REFERENCE)
    coloured = overlays.colorize(np.array(positions), "cividis").astype(int)
    np.testing.assert_allclose(coloured, list(CIVIDIS_REFERENCE.values()), atol=11)
    # What a colour-blind viewer reads: the luminance alone orders the values, for both safe maps.
    for colormap in overlays.COLOUR_BLIND_SAFE:
        colours = overlays.colorize(np.linspace(0, 1, 64), colormap).astype(float)
        assert np.all(np.diff(colours @ [0.2126, 0.7152, 0.0722]) > 0), colormap


def test_overlay_refuses_a_bad_alpha_or_image():
    with pytest.raises(ValueError, match="alpha must be in"):
        overlays.overlay(np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2)), alpha=1.5)
    with pytest.raises(ValueError, match="RGB or grayscale"):
        overlays.overlay(np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2)))


def test_jet_runs_from_dark_blue_to_dark_red():
    colours = overlays.colorize(np.array([0.0, 0.5, 1.0]), "jet")
    assert colours[0].tolist() == [0, 0, 128] and colours[2].tolist() == [128, 0, 0]
    assert colours[1, 1] == 255  # Green in the middle.
    with pytest.raises(ValueError, match="Unknown colormap"):
        overlays.colorize(np.zeros(2), "rainbow")


def test_colouring_an_array_does_not_import_tensorflow():
    # Figures and pages colour heatmaps through this module; it must stay as light as numpy.
    code = "import sys, imgrec.overlays, imgrec.figures; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_docstring_examples_run():
    results = doctest.testmod(overlays)
    assert results.attempted > 0 and results.failed == 0
