"""Home and Predict in Chinese through AppTest: every state of the pages shows no English sentence, the English
pages read as before, and Predict's heatmap colours (`?cmap=`) colour every heatmap on the page."""

import types

import numpy as np
import pytest

from imgrec import images, overlays, texts
from tests.app.test_trust_pages import shapes_registry  # noqa: F401 - A fixture: the localisation table's model.
from tests.support.apptest import chart_titles, charts, english_sentences, open_page

pytestmark = pytest.mark.filterwarnings("ignore")
CHINESE = {"lang": "zh-CN"}


def model_data():
    """Data, not interface: each model's title and card summary in the registry (what its author wrote)."""
    from imgrec import registry

    return tuple(text for card in registry.list_models() for text in (card.display_title, card.summary) if text)


def no_english(at, allowed=()):
    assert not at.exception, at.exception
    assert english_sentences(at, allowed=(*model_data(), *allowed)) == []


def test_home_in_chinese(app):
    at = open_page(app, None, **CHINESE)
    no_english(at)
    assert at.title[0].value == "计算机是怎样认出一张图像的？"
    assert [heading.value for heading in at.subheader] == ["试一试", "模型"]


def test_predict_in_chinese_with_its_checks_its_editor_and_another_method(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03", **CHINESE)
    no_english(at)
    assert chart_titles(at)[0] == "模型认为它看到的是" and chart_titles(at)[1].startswith("Grad-CAM：")
    assert at.selectbox(key="explain-colours").options == ["彩虹色 (jet)", "Viridis（色盲友好）", "Cividis（色盲友好）"]
    at.button(key="trust-run").click().run()
    no_english(at)
    assert any({trace.get("name") for trace in figure["data"]} == {"这张热力图", "随机热力图"} for figure in charts(at))
    assert any(box.value.split("：")[0] in ("两项检验都可信", "部分可信", "存疑", "此处不可信", "难以判断")
               for box in (*at.success, *at.warning, *at.error, *at.info))
    at.toggle(key="edit-open").set_value(True).run()
    no_english(at)
    assert any("还没有涂画" in caption.value for caption in at.caption)
    at.radio(key="explain-method").set_value("occlusion").run()
    no_english(at)


def test_predict_in_chinese_from_each_image_source(app, digit_png):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", **CHINESE)
    at.segmented_control(key="predict-source").set_value("upload").run()
    no_english(at)  # Nothing uploaded yet: the prompt to choose an image.
    at.file_uploader(key="predict-upload").set_value(
        [("one.png", digit_png, "image/png"), ("two.png", digit_png, "image/png")]).run()
    no_english(at)  # Several images: the table, then the one looked at closely.
    assert at.subheader[0].value == "2 张图像"
    broken = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    at.file_uploader(key="predict-upload").set_value(("broken.png", broken, "image/png")).run()
    with pytest.raises(images.ImageError) as refused:
        images.decode_image(broken)
    # A refused upload's sentence is said in Chinese from imgrec's own key (`texts.said`, `i18n.error_text`).
    no_english(at)
    said = texts.Texts("zh-CN")(refused.value.text_key, **refused.value.text_values)
    assert said.startswith("这个 PNG 文件已损坏") and said in at.error[0].value
    at.segmented_control(key="predict-source").set_value("camera").run()
    no_english(at)
    at.segmented_control(key="predict-source").set_value("draw").run()
    no_english(at)


def test_predict_in_chinese_for_a_vision_transformer_a_photo_and_a_refused_link(app):
    at = open_page(app, "pages/predict.py", model="tiny-vit", sample="photos-chelsea", method="rollout", cmap="rainbow",
                   **CHINESE)
    no_english(at)
    assert at.selectbox(key="predict-sample-id").value == "photos-chelsea"
    assert "猫咪 Chelsea" in at.selectbox(key="predict-sample-id").options
    warnings = [warning.value for warning in at.warning]
    assert any("rainbow" in warning for warning in warnings)  # The refused link, in Chinese.
    assert any("这个模型不认识这类图像（照片）" in warning for warning in warnings)  # An MNIST ViT and a photo.


def test_the_shapes_localisation_table_in_chinese(app, shapes_registry, monkeypatch):  # noqa: F811
    from pages._ui import trust_panel

    monkeypatch.setattr(trust_panel, "LOCALISATION_SAMPLES", 3)
    at = open_page(app, "pages/predict.py", model="tiny-shapes", sample="shapes-01", **CHINESE)
    at.button(key="localisation-run").click().run()
    no_english(at)
    assert at.expander[0].label.startswith("哪种解释方法能找到图形")
    assert "几何图形 示例 1：" in at.selectbox(key="predict-sample-id").options[1]


def test_home_and_predict_in_english_read_as_before(app):
    at = open_page(app, None)
    assert at.title[0].value == "How does a computer recognise an image?"
    assert [heading.value for heading in at.subheader] == ["Try one", "The models"]
    assert list(at.dataframe[0].value.columns) == ["Model", "Accuracy", "Reconstruction error", "Measured on",
                                                  "Classes", "Parameters"]
    assert at.dataframe[0].value["Measured on"].str.fullmatch(r"test \(n = [\d,]+\)").any()
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    assert at.segmented_control(key="predict-source").options == ["Samples", "Upload", "Camera", "Draw"]
    assert at.selectbox(key="predict-sample-id").options[3].startswith("MNIST sample 3: ")
    assert [block.value for block in at.markdown if block.value.startswith("**")][:2] == [
        "**Your image**", "**What the model sees**"]
    assert any(caption.value.startswith("The model never sees your file: it reads 784 grey levels from 0 to 255, "
                                        "after the image was made grey, inverted when the ink is dark")
               for caption in at.caption)
    assert at.selectbox(key="explain-colours").options == ["Rainbow (jet)", "Viridis (colour-blind safe)",
                                                           "Cividis (colour-blind safe)"]
    assert chart_titles(at)[0] == "What the model thinks it sees"
    assert any(block.value == "#### Can you trust this heatmap?" for block in at.markdown)
    at.button(key="trust-run").click().run()
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert "trained model" in captions and any(caption.startswith("conv1 scrambled: ") for caption in captions)


@pytest.fixture
def colour_maps(monkeypatch):
    """The colour map of every heatmap overlay drawn, in order."""
    drawn, overlay = [], overlays.overlay

    def recording(rgb, heatmap, alpha=0.5, colormap="jet"):
        drawn.append(colormap)
        return overlay(rgb, heatmap, alpha, colormap)

    monkeypatch.setattr(overlays, "overlay", recording)
    return drawn


def painting_canvas(**size):
    """A stand-in for streamlit-drawable-canvas's `st_canvas` on which the visitor has painted the top half."""
    strokes = np.zeros((size["height"], size["width"], 4), np.uint8)
    strokes[: size["height"] // 2] = (0, 0, 0, 255)
    return types.SimpleNamespace(image_data=strokes, image_bytes=None)


def test_the_colour_map_colours_the_trust_row_and_the_edit_too(app, colour_maps, monkeypatch):
    from pages._ui import drawing

    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03", cmap="cividis")
    at.button(key="trust-run").click().run()
    assert not at.exception, at.exception
    # The explanation, then the trained model's map and one per scrambled layer group (three for tiny-cnn).
    assert len(colour_maps) >= 5 and set(colour_maps) == {"cividis"}
    monkeypatch.setattr(drawing, "canvas_component",
                        lambda: lambda **options: painting_canvas(height=options["height"], width=options["width"]))
    colour_maps.clear()
    at.toggle(key="edit-open").set_value(True).run()
    assert not at.exception, at.exception
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert sum(caption.startswith("What speaks for ") for caption in captions) == 2  # The original and the edit.
    # Both compared heatmaps, then the edited image's trust row once asked for.
    at.button(key="trust-edited-run").click().run()
    assert not at.exception, at.exception
    assert len(colour_maps) >= 3 + 4 and set(colour_maps) == {"cividis"}
    colour_maps.clear()
    at.selectbox(key="explain-colours").set_value("viridis").run()
    assert colour_maps and set(colour_maps) == {"viridis"}
