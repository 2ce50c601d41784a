"""The rough edges a new user met on screen, through AppTest: each is checked where it showed, so it cannot come back."""

import re
import shutil
import time

import pytest

from imgrec import atomic, datasets, training
from pages._ui import train_compare, train_search, views
from tests.support.apptest import charts, open_page
from tests.support.registries import add_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore")

# What a table cell of Streamlit's data grid takes per character and for its padding, measured
# in Chromium at 1280x800 (14 px Source Sans); the main column is 820 px wide with the sidebar open.
CHARACTER_PIXELS, CELL_PADDING, MAIN_COLUMN = 7.0, 17, 820


def table_width(rows):
    """The pixels a table of these rows takes when every column is as wide as its content (as Streamlit sizes it)."""
    columns = list(rows[0])
    return sum(CELL_PADDING + CHARACTER_PIXELS * max(len(str(column)), *(len(_cell(row[column])) for row in rows))
               for column in columns)


def _cell(value):
    return f"{value:.1f}%" if isinstance(value, float) else "" if value is None else str(value)


def every_text(at):
    """The text a visitor reads on the page: Markdown, captions, metrics and the options of the selectors."""
    texts = [block.value for block in (*at.markdown, *at.caption, *at.warning, *at.info)]
    texts += [metric.value for metric in at.metric]
    texts += [option for box in at.selectbox for option in box.options[:20]]  # Options as the selector shows them.
    return texts


def test_every_percentage_has_one_decimal(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    shown = [match for text in every_text(at) for match in re.findall(r"\d[\d.]*%", text)]
    assert shown and all(re.fullmatch(r"\d+\.\d%", match) for match in shown), shown
    at.switch_page("pages/models.py").run()
    shown = [match for text in every_text(at) for match in re.findall(r"\d[\d.]*%", text)]
    assert shown and all(re.fullmatch(r"\d+\.\d%", match) for match in shown), shown
    # Tables show their percentages with the same rule.
    assert views.PERCENT_FORMAT == "%.1f%%"


def test_the_rollout_on_predict_is_not_said_to_be_for_a_class(app):
    at = open_page(app, "pages/predict.py", model="tiny-vit", sample="mnist-03", method="rollout")
    titles = [figure["layout"]["title"]["text"] for figure in charts(at)]
    assert "Attention rollout" in titles and not any(title.startswith("Attention rollout for") for title in titles)
    caption = next(caption.value for caption in at.caption if "same for every class" in caption.value)
    assert "speaks most for" not in caption
    # A class-specific method still says which class it explains.
    at.radio(key="explain-method").set_value("gradcam").run()
    assert any(caption.value.startswith("Red marks what speaks most for") for caption in at.caption)


def test_the_kernels_of_a_layer_with_several_input_channels_can_be_drawn_per_channel(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-03", layer="conv2")
    kernels = next(figure for figure in charts(at) if "filters of" in figure["layout"]["title"]["text"])
    assert "mean over 32 input channels" in kernels["layout"]["title"]["text"]
    at.select_slider(key="kernel-input-conv2").set_value(5).run()
    kernels_5 = next(figure for figure in charts(at) if "filters of" in figure["layout"]["title"]["text"])
    assert kernels_5["layout"]["title"]["text"].endswith("input channel 5") and kernels_5["data"] != kernels["data"]
    # One input channel: nothing to choose.
    at.selectbox(key="layer-tiny-cnn").set_value("conv1").run()
    assert not [item for item in at.select_slider if item.key == "kernel-input-conv1"]


def test_a_layer_without_a_kernel_is_named_with_its_article(app, tiny_registry, tmp_path, monkeypatch):
    from pages._ui import models as ui_models

    models = shutil.copytree(tiny_registry, tmp_path / "models")
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(models))
    add_tiny_model(models, "tiny-deep", "cnn-deep")  # Its stages have BatchNormalization and Activation layers.
    ui_models.model_cards.clear()
    at = open_page(app, "pages/feature_maps.py", model="tiny-deep", sample="mnist-03", layer="relu1")
    assert any(caption.value.startswith("An Activation layer has no kernel") for caption in at.caption)
    at.selectbox(key="layer-tiny-deep").set_value("bn1").run()
    assert any(caption.value.startswith("A BatchNormalization layer has no kernel") for caption in at.caption)
    ui_models.model_cards.clear()


def test_the_products_of_the_hand_check_never_read_minus_zero(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-03", layer="conv1")
    texts = [cell for figure in charts(at) if figure.get("data") and "text" in figure["data"][0]
             for row in figure["data"][0]["text"] for cell in row]
    assert texts and not any(re.fullmatch(r"-0\.0+", cell) for cell in texts)
    assert not any(re.search(r"-0\.0000\b", block.value) for block in at.code)


def _cancelled_run(runs):
    run_id = time.strftime("%Y%m%d-%H%M%S-") + "c0ffee"
    (runs / run_id).mkdir(parents=True)
    config = training.TrainConfig(dataset="digits", epochs=1, max_samples=150).to_dict()
    atomic.write_json(runs / run_id / "config.json", config)
    atomic.write_json(runs / run_id / "status.json", {"status": "cancelled", "reason": "Cancelled after 0 of 1 epoch.",
                                                      "created": time.time(), "finished": time.time()})
    return run_id


def test_a_cancelled_run_is_news_not_an_error(app, tmp_path):
    run_id = _cancelled_run(tmp_path / "runs")
    at = open_page(app, "pages/train.py", run=run_id)
    assert not at.error
    assert any("Cancelled" in block.value and "saved no model" in block.value for block in at.info)
    # "1 epoch", never "1 epochs": the run's header says it in words.
    assert any(", 1 epoch, batch" in caption.value for caption in at.caption)


def test_one_epoch_is_one_epoch_in_the_race_and_the_search(app):
    at = open_page(app, "pages/train.py")
    at.number_input(key="cfg-epochs").set_value(1).run()
    at.session_state["train-tab"] = train_compare.train_runs.TAB_COMPARE
    at.run()
    assert any("1 epoch," in caption.value for caption in at.caption)
    assert not any("1 epochs" in text for text in every_text(at))
    at.session_state["train-tab"] = train_compare.train_runs.TAB_SEARCH
    at.run()
    assert any("1 epoch," in block.value for block in at.markdown)
    assert not any("1 epochs" in text for text in every_text(at))


def test_a_two_class_dataset_s_caption_gives_its_own_sizes_and_classes(app):
    at = open_page(app, "pages/train.py")
    at.selectbox(key="cfg-dataset").set_value("mnist-3-vs-8").run()
    description = datasets.describe("mnist-3-vs-8")
    caption = next(caption.value for caption in at.caption if "images of" in caption.value)
    assert caption.startswith(f"The 3 and 8 images of MNIST handwritten digits: {description.train_size:,} training "
                              f"and {description.test_size:,} test images")
    assert "two classes" in caption and "10 classes" not in caption and "60,000" not in caption
    # The picker names datasets short enough to be read whole (the sizes are in the caption).
    assert all(len(option) <= 45 for option in at.selectbox(key="cfg-dataset").options)


def test_the_training_tables_fit_the_page_at_1280_pixels(monkeypatch):
    # The run comparison and the search's trials, with the longest values they take (the home, registry
    # and layer tables are measured in the browser, tests/e2e/test_links_e2e.py).
    runs = [{"id": f"20261130-12000{index}-5c393{index}", "status": "done", "test_accuracy": 0.9731,
             "train_seconds": 123.4} for index in range(5)]
    configs = {run["id"]: {**training.preset("quickstart").to_dict(), "optimizer": optimizer,
                           "learning_rate": 3e-4 * (index + 1), "dataset": "fashion-sneaker-vs-boot"}
               for index, (run, optimizer) in enumerate(zip(runs, training.OPTIMIZERS, strict=True))}
    monkeypatch.setattr(train_compare.jobs, "read_config", lambda run_id: configs[run_id])
    monkeypatch.setattr(train_compare, "run_history", lambda run: [{"epoch": 2, "val_accuracy": 0.9512}])
    rows, shared = train_compare.comparison_rows(runs)
    assert table_width(rows) <= MAIN_COLUMN and "dataset fashion-sneaker-vs-boot" in shared

    class Search:
        base_config = training.preset("quickstart").to_dict()
        trials = [{"number": index, "status": "failed", "params": {"optimizer": "momentum", "learning_rate": 0.0123,
                   "dropout": 0.45, "l2": 1.2e-5}, "value": 0.9512, "test_accuracy": 0.9498,
                   "run_id": "20261130-120016-5c3932", "reason": "The run failed: the loss became NaN at epoch 2."}
                  for index in range(12)]

    assert table_width(train_search.trial_rows(Search())) <= MAIN_COLUMN
