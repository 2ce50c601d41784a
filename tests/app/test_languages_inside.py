"""Feature maps, Attention, Filters, Data map and Models in Chinese through AppTest: every view of them opens with
no exception and no English sentence left; the same views in English are unchanged, and the rollout's colours."""

import numpy as np
import pytest

from imgrec import overlays
from tests.support.apptest import chart_titles, charts, english_sentences, open_page

pytestmark = pytest.mark.filterwarnings("ignore")
CHINESE = {"lang": "zh-CN"}
# Data, not interface: the tiny registry's model titles, which a model's card brings in its own words (a summary
# that is its architecture's description is translated; an imported model's is whatever its owner wrote).
ALLOWED = ("Tiny cnn for tests", "Tiny vit for tests", "Tiny autoencoder for tests")


def chinese(at):
    """The runs of English words left on the page, besides data; [] for a page fully in Chinese."""
    assert not at.exception, at.exception
    return english_sentences(at, allowed=ALLOWED)


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2"])
def test_feature_maps_in_chinese(app, layer):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-03", layer=layer, **CHINESE)
    assert at.title[0].value == "特征图"
    assert chinese(at) == []
    at.radio(key="maps-scale").set_value("global").run()
    assert chinese(at) == []


def test_attention_in_chinese(app):
    at = open_page(app, "pages/attention.py", model="tiny-cnn", sample="mnist-03", **CHINESE)
    assert chinese(at) == []
    at.button(key="switch-tiny-vit").click().run()
    assert chinese(at) == []
    at.segmented_control(key="query-kind").set_value("class").run()
    at.selectbox(key="head-head").set_value(1).run()
    assert chinese(at) == []


def test_filters_in_chinese(app):
    at = open_page(app, "pages/filters.py", model="tiny-cnn", **CHINESE)
    assert chinese(at) == []
    at.selectbox(key="filters-layer-tiny-cnn").set_value("conv2").run()
    assert chinese(at) == []
    at.selectbox(key="filters-block-tiny-cnn-conv2").set_value(32).run()
    assert chinese(at) == []


def test_data_map_in_chinese_and_a_clicked_dot(app):
    from imgrec import datasets, embedding
    from pages._ui import data_map_view
    from tests.support.apptest import select_in_chart

    at = open_page(app, "pages/data_map.py", model="tiny-cnn", **CHINESE)
    assert chinese(at) == []
    index = int(embedding.sample_indices(datasets.load("mnist").y_test, data_map_view.SAMPLES)[3])
    select_in_chart(at, "data-map", {"picked": [{"index": index}]})
    at.radio(key="data-map-colour").set_value("outcome")
    at.toggle(key="data-map-compare").set_value(True).run()
    assert chinese(at) == []
    at = open_page(app, "pages/data_map.py", model="tiny-autoencoder", **CHINESE)
    assert chinese(at) == []


@pytest.mark.parametrize(("model", "tab"), [
    ("tiny-cnn", "card"), ("tiny-cnn", "architecture"), ("tiny-cnn", "compare"), ("tiny-cnn", "files"),
    ("tiny-vit", "files"), ("tiny-autoencoder", "card"), ("tiny-autoencoder", "reconstructions"),
    ("tiny-autoencoder", "compare"),
])
def test_models_in_chinese(app, model, tab):
    at = open_page(app, "pages/models.py", model=model, tab=tab, **CHINESE)
    assert chinese(at) == []
    assert at.session_state["models-tab"].endswith(("模型卡", "结构", "比较", "下载与删除", "重建"))
    if tab == "compare" and model == "tiny-cnn":
        at.button(key="compare-run").click().run()
        assert chinese(at) == []
    if tab == "files" and model == "tiny-vit":
        next(box for box in at.checkbox if box.key == "delete-confirm-tiny-vit").check().run()
        assert chinese(at) == []


def test_the_mistakes_tab_in_chinese(app):
    at = open_page(app, "pages/models.py", model="tiny-cnn", tab="mistakes", **CHINESE)
    assert chinese(at) == []
    assert any("把哪些测试图像判断错了" in block.value for block in at.markdown)


def rollout_pixels(at):
    """The rollout overlay's pixels (Plotly 7 encodes an Image trace's `z` as base64)."""
    import base64

    figure = charts(at)[3]
    z = figure["data"][0]["z"]
    shape = [int(size) for size in str(z["shape"]).split(",")]
    return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)


def nearest_distance(pixels, colormap):
    """How far the pixel furthest from `colormap`'s colours lies from them (sum of channel differences)."""
    palette = overlays.colorize(np.linspace(0, 1, 256), colormap).astype(int)
    pixels = pixels.reshape(-1, 3).astype(int)
    return np.abs(pixels[:, None, :] - palette[None, :, :]).sum(-1).min(axis=1).max()


def test_the_rollout_colours_come_from_the_link_and_go_back_into_it(app):
    # Viridis, the default, stays out of the address; a colour map not offered is named in one sentence.
    at = open_page(app, "pages/attention.py", model="tiny-vit", sample="mnist-03", cmap="rainbow")
    [said] = [warning.value.replace("\\", "") for warning in at.warning]
    assert said.startswith("The link asked for cmap 'rainbow', but the heatmap colours are viridis, cividis, jet")
    assert at.selectbox(key="rollout-colours").value == "viridis" and "cmap" not in at.query_params
    at.slider(key="rollout-alpha").set_value(1.0).run()
    assert nearest_distance(rollout_pixels(at), "viridis") <= 6
    at = open_page(app, "pages/attention.py", model="tiny-vit", sample="mnist-03", cmap="cividis")
    assert at.selectbox(key="rollout-colours").value == "cividis" and not at.warning
    assert at.query_params["cmap"] in ("cividis", ["cividis"])
    assert nearest_distance(rollout_pixels(at), "cividis") <= 6 < nearest_distance(rollout_pixels(at), "jet")
    assert "Yellow marks where the decision looks most, dark blue the least." in [c.value for c in at.caption]
    at.selectbox(key="rollout-colours").set_value("jet").run()
    assert at.query_params["cmap"] in ("jet", ["jet"])
    assert nearest_distance(rollout_pixels(at), "jet") <= 6


def test_a_lesson_step_may_set_the_rollout_colours():
    from pages._ui import lessons

    assert "cmap" in lessons.PAGES["attention"].parameters


def test_feature_maps_attention_and_the_data_map_in_english_are_unchanged(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-03")
    captions = [caption.value for caption in at.caption]
    assert "The sum plus the bias goes through relu." in captions
    assert any(caption.startswith("32 filters of 3 x 3 weights for each of 1 input channel. Red weights add")
               for caption in captions)
    assert any(caption.startswith("Channel 0: 26 x 26 values, from ") for caption in captions)
    assert "Go to the strongest value" in [button.label for button in at.button]
    at = open_page(app, "pages/attention.py", model="tiny-vit", sample="mnist-03")
    assert chart_titles(at)[1:] == ["Layer 2, mean of the heads", "Where each head looks, layer by layer",
                                    "Attention rollout",
                                    "How far each head looks: near like a convolution, or across the image"]
    assert ("The class token's attention multiplied through every transformer block, with the residual path, and "
            "mapped back to the patches it reads. In each layer a token keeps half of itself") in \
        next(caption.value for caption in at.caption if caption.value.startswith("The class token's"))
    at = open_page(app, "pages/data_map.py", model="tiny-cnn")
    assert any(block.value.startswith("On this map, the ") and "nearest neighbours of an image mostly share" in
               block.value for block in at.markdown)


def test_the_model_picker_and_the_architecture_in_english_are_unchanged(app):
    at = open_page(app, "pages/models.py", model="tiny-cnn", tab="architecture")
    assert at.selectbox(key="model-picker").label == "Model"
    assert "**10.0% accuracy on test, n = 10,000**" in at.sidebar.caption[0].value
    assert any(" parameters. Arrows show where each layer's input comes from. :blue-background[convolution]"
               in block.value for block in at.markdown)
    assert " parameters\"" in at.get("graphviz_chart")[0].proto.spec
