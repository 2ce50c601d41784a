"""Every page through AppTest: it runs without an exception and shows what it promises."""

import io

import pytest
from PIL import Image

from imgrec import images
from tests.support.apptest import chart_titles, charts, open_page

pytestmark = pytest.mark.filterwarnings("ignore")


def test_home_lists_models_with_measured_accuracy_and_links(app):
    at = open_page(app, None)
    table = at.dataframe[0].value.set_index("Model")
    assert {"Tiny cnn for tests", "Tiny vit for tests"} <= set(table.index)
    assert table.loc["Tiny cnn for tests", "Accuracy"] == pytest.approx(10.0)  # In percent, as the column shows.
    assert "test" in table.loc["Tiny cnn for tests", "Measured on"]
    assert any("grid of numbers" in block.value for block in at.markdown)


def test_predict_shows_top_classes_and_an_explanation_for_a_sample(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    assert at.session_state["sample_id"] == "mnist-03"
    assert len(charts(at)) == 2  # the top-k bars and the explanation overlay
    assert any("Grad-CAM for" in title for title in chart_titles(at))
    assert at.query_params["model"] in ("tiny-cnn", ["tiny-cnn"])


def explanation_chart(at):
    """The explanation overlay's figure: the chart titled "METHOD for CLASS"."""
    return next(figure for figure, title in zip(charts(at), chart_titles(at), strict=True) if " for " in title)


def test_predict_explains_the_class_chosen_not_only_the_winner(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    selector = next(box for box in at.selectbox if box.label == "Explain the class")
    other = selector.options[3]
    selector.set_value(int(other.split(" ")[0])).run()
    assert not at.exception
    assert any(f"Grad-CAM for {other.split(' ')[0]}" in title for title in chart_titles(at))
    # Grad-CAM weights a layer, so the page offers the layers; the pixel-gradient methods do not.
    assert any(box.label == "Feature maps to weight" for box in at.selectbox)
    previous = explanation_chart(at)
    for method, title in (("gradcam++", "Grad-CAM++"), ("saliency", "Saliency"), ("smoothgrad", "SmoothGrad")):
        at.radio(key="explain-method").set_value(method).run()
        assert not at.exception, method
        chart = explanation_chart(at)
        assert chart["layout"]["title"]["text"] == f"{title} for {other.split(' ')[0]}"
        assert chart["data"] != previous["data"], method  # A new heatmap, not the last one again.
        assert (method == "gradcam++") == any(box.label == "Feature maps to weight" for box in at.selectbox)
        previous = chart


@pytest.mark.slow
def test_predict_uploads_one_image_several_and_refuses_a_corrupt_one(app, digit_png):
    at = open_page(app, "pages/predict.py", model="tiny-cnn")
    at.segmented_control(key="predict-source").set_value("upload").run()
    at.file_uploader(key="predict-upload").set_value(("one.png", digit_png, "image/png")).run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 2
    at.file_uploader(key="predict-upload").set_value(
        [("one.png", digit_png, "image/png"), ("two.png", digit_png, "image/png")]
    ).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["File"]) == ["one.png", "two.png"]
    assert table["Image"][0].startswith("data:image/png;base64,")
    at.file_uploader(key="predict-upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png")).run()
    assert not at.exception
    try:
        images.decode_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    except images.ImageError as error:
        expected = str(error)
    assert [block.value for block in at.error] == [f"**broken.png**: {expected}"]


@pytest.mark.slow
def test_predict_refuses_oversized_files_and_reads_at_most_twelve(app, digit_png):
    at = open_page(app, "pages/predict.py", model="tiny-cnn")
    at.segmented_control(key="predict-source").set_value("upload").run()
    huge = digit_png + b"\0" * images.MAX_UPLOAD_BYTES
    at.file_uploader(key="predict-upload").set_value(("huge.png", huge, "image/png")).run()
    assert not at.exception
    assert "larger than the 10 MB limit" in at.error[0].value
    many = [(f"digit{index}.png", digit_png, "image/png") for index in range(13)]
    at.file_uploader(key="predict-upload").set_value(many).run()
    assert not at.exception
    assert "the first 12 are read" in at.warning[0].value
    assert len(at.dataframe[0].value) == 12


@pytest.mark.slow
def test_predict_takes_a_camera_photo_and_offers_a_drawing_canvas(app, digit_png):
    at = open_page(app, "pages/predict.py", model="tiny-cnn")
    at.segmented_control(key="predict-source").set_value("camera").run()
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(digit_png)).save(jpeg, format="JPEG")
    at.camera_input(key="predict-camera").set_value(("photo.jpg", jpeg.getvalue(), "image/jpeg")).run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 2
    at.segmented_control(key="predict-source").set_value("draw").run()
    assert not at.exception
    assert not at.get("plotly_chart")  # nothing drawn yet, so nothing predicted


@pytest.mark.slow
def test_model_switch_carries_across_pages_and_offers_rollout_for_a_vit(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    at.selectbox(key="model-picker").set_value("tiny-vit").run()
    assert not at.exception
    assert "Attention rollout" in at.radio(key="explain-method").options
    at.radio(key="explain-method").set_value("rollout").run()
    assert not at.exception
    assert any("Attention rollout" in title for title in chart_titles(at))
    at.switch_page("pages/feature_maps.py").run()
    assert at.selectbox(key="model-picker").value == "tiny-vit"
    at.switch_page("pages/predict.py").run()
    at.selectbox(key="model-picker").set_value("tiny-cnn").run()  # rollout was chosen: it falls back
    assert not at.exception
    assert at.radio(key="explain-method").value == "gradcam"


def test_feature_maps_layers_arithmetic_and_pooling(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-03")
    layer = at.selectbox(key="layer-tiny-cnn")
    assert layer.value == "conv1"
    assert any("Kernel weights" in title for title in chart_titles(at))
    assert "sum over 1 input channel" in at.code[0].value
    at.slider(key="arith-channel-conv1").set_value(5)
    at.radio(key="maps-scale").set_value("global").run()
    assert not at.exception
    at.selectbox(key="layer-tiny-cnn").set_value("pool1").run()
    assert not at.exception
    assert "largest value" in at.code[0].value
    at.selectbox(key="layer-tiny-cnn").set_value("conv2").run()
    assert not at.exception
    assert "sum over 32 input channels" in at.code[0].value


def test_attention_for_a_vit_and_a_way_out_for_a_cnn(app):
    at = open_page(app, "pages/attention.py", model="tiny-cnn", sample="mnist-03")
    assert "has no attention to draw" in at.info[0].value
    at.button(key="switch-tiny-vit").click().run()
    assert not at.exception
    assert at.session_state["model_name"] == "tiny-vit"
    # The patch grid, one head up close, every head, rollout, mean distance.
    patches, head, heads, rollout, distance = charts(at)
    # Another query patch: the square and every head's map move; rollout and distances do not.
    at.slider(key="query-row").set_value(0).run()
    assert not at.exception
    moved = charts(at)
    assert moved[0]["layout"]["shapes"][-1] != patches["layout"]["shapes"][-1]
    assert moved[0]["layout"]["shapes"][-1]["y0"] == -0.5  # the top row
    assert moved[1]["data"] != head["data"] and moved[2]["data"] != heads["data"]
    assert moved[3] == rollout and moved[4] == distance
    # Other rollout options: only the rollout changes.
    at.radio(key="rollout-fusion").set_value("max")
    at.slider(key="rollout-discard").set_value(0.5).run()
    assert not at.exception
    fused = charts(at)
    assert fused[3]["data"] != rollout["data"] and fused[3]["layout"]["title"] == rollout["layout"]["title"]
    assert fused[2] == moved[2] and fused[4] == distance
