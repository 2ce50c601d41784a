"""What a model learned, through AppTest: the Filters page, the Data map, clicking a confusion cell, the autoencoder.

AppTest cannot click a chart, so a click is sent as the browser sends it: the chart's
selection, in the widget states of the next run (`tests/support/apptest.py`).
"""

import json
import re
import shutil
import time

import numpy as np
import pytest

from imgrec import datasets, embedding, jobs, mistakes, registry
from pages._ui import data_map_view
from tests.support.apptest import chart, chart_titles, open_page, plotly_click, select_in_chart

pytestmark = pytest.mark.filterwarnings("ignore")


def figure(at, key):
    return json.loads(chart(at, key).proto.spec)


@pytest.fixture
def trained_app(app, trained_registry, tmp_path, monkeypatch):
    """The app over a copy of the registry holding the trained tiny-cnn: its mistakes are a real model's."""
    from pages._ui import models as ui_models

    monkeypatch.setenv("IMGREC_MODELS_DIR", str(shutil.copytree(trained_registry, tmp_path / "models")))
    ui_models.model_cards.clear()
    yield app
    ui_models.model_cards.clear()


def test_the_filters_page_pictures_every_filter_of_the_first_layer_beside_its_strongest_test_images(app):
    at = open_page(app, "pages/filters.py", model="tiny-cnn")
    assert at.selectbox(key="filters-layer-tiny-cnn").value == "conv1"
    grid = figure(at, "filters-grid")
    assert grid["layout"]["title"]["text"].startswith("Left: the image each filter answers to most, grown from grey")
    assert [note["text"] for note in grid["layout"]["annotations"]] == [f"filter {index}" for index in range(32)]
    assert any(caption.value.startswith("Computed in") for caption in at.caption)
    at.selectbox(key="filters-layer-tiny-cnn").set_value("conv2").run()
    assert at.selectbox(key="filters-block-tiny-cnn-conv2").options == ["0 to 31 of 64", "32 to 63 of 64"]
    at.selectbox(key="filters-block-tiny-cnn-conv2").set_value(32).run()
    assert [note["text"] for note in figure(at, "filters-grid")["layout"]["annotations"]][:2] == ["filter 32",
                                                                                                   "filter 33"]


def test_the_data_map_opens_the_image_of_the_dot_clicked(trained_app):
    at = open_page(trained_app, "pages/data_map.py", model="tiny-cnn")
    assert at.info[0].value == "Click a dot on the map to open its image here."
    data = datasets.load("mnist")
    # The map's test images: the same stratified sample the page draws, one of them clicked.
    index = int(embedding.sample_indices(data.y_test, data_map_view.SAMPLES)[7])
    select_in_chart(at, "data-map", {"picked": [{"index": index}]})
    assert not at.exception, at.exception
    caption = next(block.value for block in at.markdown if block.value.startswith("Test image"))
    assert caption.startswith(f"Test image {index}: true **{data.y_test[index]}**, predicted **")
    assert len(at.get("image")) == 1 and not at.info


def test_clicking_a_confusion_cell_shows_exactly_the_images_of_that_cell(trained_app):
    at = open_page(trained_app, "pages/models.py", model="tiny-cnn", tab="mistakes")
    assert any("Click a cell" in caption.value for caption in at.caption)
    from imgrec import inference

    data = datasets.load("mnist")
    probabilities = inference.predict_probabilities(registry.load("tiny-cnn").model, data.x_test)
    predicted = probabilities.argmax(axis=1)
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (data.y_test, predicted), 1)
    np.fill_diagonal(counts, 0)
    # A mix-up the model makes a few times, so every image of the cell is on the page.
    true, guess = map(int, np.argwhere((counts >= 2) & (counts <= 12))[0])
    select_in_chart(at, "models-confusion", plotly_click(str(guess), str(true)))
    assert not at.exception, at.exception
    expected = mistakes.select(data.y_test, probabilities, true=true, predicted=guess).tolist()
    assert len(expected) == counts[true, guess]
    assert f"True {true}, predicted {guess}: {len(expected)} test images it got wrong" in [
        block.value.removeprefix("#### ") for block in at.markdown]
    shown = [int(re.match(r"Test image (\d+):", block.value).group(1)) for block in at.markdown
             if block.value.startswith("Test image")]
    # Four columns, filled row by row; the page's tree lists them column by column.
    in_columns = sorted(range(len(expected)), key=lambda position: (position % 4, position))
    assert shown == [expected[position] for position in in_columns]
    assert len(at.get("image")) == len(expected)
    [outline] = figure(at, "models-confusion")["layout"]["shapes"]  # The opened cell is outlined in the matrix.
    assert (outline["x0"], outline["y0"]) == (guess - 0.5, true - 0.5)
    # The diagonal: the images it got right, the surest first, only the first twelve drawn.
    select_in_chart(at, "models-confusion", plotly_click(str(true), str(true)))
    right = mistakes.select(data.y_test, probabilities, true=true, predicted=true, wrong_only=False)
    assert f"True {true}, predicted {true}: {len(right):,} test images it got right" in [
        block.value.removeprefix("#### ") for block in at.markdown]
    assert len(at.get("image")) == 12 and any(f"The first 12 of {len(right):,} are shown" in caption.value
                                              for caption in at.caption)


def test_an_autoencoder_is_listed_with_its_own_metric_and_shows_what_it_rebuilds(app):
    at = open_page(app, "pages/models.py", model="tiny-autoencoder")
    assert at.metric[0].label == "Reconstruction error (MSE)" and at.metric[0].value == "0.0500"
    table = at.dataframe[0].value.set_index("Name")
    assert table.loc["tiny-autoencoder", "Test score"] == "MSE 0.0500"
    at = open_page(app, "pages/models.py", model="tiny-autoencoder", tab="reconstructions")
    titles = chart_titles(at)
    assert titles == ["Each test image (left) and what the autoencoder rebuilt from its code (right)",
                      "Walking the latent space: what the decoder draws at each point of the plane"]
    assert chart(at, "latent-map-tiny-autoencoder") is not None
    assert [header.value for header in at.subheader][1:] == [
        "Test images and what it rebuilt", "Its latent space: where each test image's code lies",
        "Walking the latent space"]


@pytest.mark.parametrize("page", ["pages/predict.py"])
def test_pages_that_need_class_scores_say_in_one_sentence_that_an_autoencoder_has_none(app, page):
    at = open_page(app, page, model="tiny-autoencoder")
    assert [info.value for info in at.info] == [
        "**Tiny autoencoder for tests** is an autoencoder, not a classifier: it rebuilds images and has no class "
        "scores, so there are no predictions or explanations to show. Its reconstructions are on Models, its latent "
        "space on Data map."]
    compare = open_page(app, "pages/models.py", model="tiny-autoencoder", tab="compare")
    assert compare.info[0].value.startswith("Tiny autoencoder for tests is an autoencoder: it has no class scores")


@pytest.mark.slow
def test_a_finished_autoencoder_run_shows_its_error_reconstructions_latent_map_and_walk(app, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(runs))
    monkeypatch.setenv("IMGREC_RUN_THREADS", "1")
    run_id = jobs.submit({"architecture": "autoencoder", "dataset": "mnist", "max_samples": 300, "epochs": 1,
                          "latent_dim": 2})
    started = time.monotonic()
    assert jobs.wait(run_id, timeout=240)["status"] == jobs.DONE, time.monotonic() - started
    at = open_page(app, "pages/train.py", run=run_id)
    outcome = jobs.result(run_id)
    assert at.metric[0].label == "Reconstruction error (MSE)"
    assert at.metric[0].value == f"{outcome['reconstruction_mse']:.4f}"
    titles = chart_titles(at)
    assert titles[0].startswith("Training:") and "Walking the latent space" in titles[-1]
    assert chart(at, f"latent-map-run/{run_id}") is not None
    assert any("The last ones are the test images it rebuilt worst" in caption.value for caption in at.caption)
    # Its report, like a classifier run's (the file is made on the click; tests/test_report_languages.py checks it).
    assert [button.proto.label for button in at.get("download_button")] == ["Download report"]
