"""The trust features of /predict through AppTest: the new explainers, the trust panel, edit and compare, localisation."""

import pytest

from tests.app.test_pages import chart_titles, charts, open_page

pytestmark = pytest.mark.filterwarnings("ignore")


def curve_chart(at):
    """The trust panel's figure: the one whose traces are "this map" and "random maps"."""
    return next((figure for figure in charts(at) if {trace.get("name") for trace in figure["data"]}
                 == {"this map", "random maps"}), None)


def verdicts(at):
    return [box.value for box in (*at.success, *at.warning, *at.error, *at.info)
            if box.value.split(":")[0] in ("Trustworthy on both checks", "Partly trustworthy", "Doubtful",
                                           "Not trustworthy here", "Hard to judge")]


@pytest.mark.parametrize("method, title", [("integrated-gradients", "Integrated Gradients"), ("occlusion", "Occlusion")])
def test_the_new_explainers_can_be_chosen(app, method, title):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    assert title in at.radio(key="explain-method").options  # Listed by title, chosen by name.
    at.radio(key="explain-method").set_value(method).run()
    assert not at.exception
    assert any(heading.startswith(f"{title} for ") for heading in chart_titles(at))


def test_the_trust_panel_runs_on_request_after_the_heatmap(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    # The heatmap is there; the checks are not, until asked for.
    assert any("Grad-CAM for" in title for title in chart_titles(at))
    assert curve_chart(at) is None and not verdicts(at)
    assert any("Can you trust this heatmap?" in block.value for block in at.markdown)
    at.button(key="trust-run").click().run()
    assert not at.exception, at.exception
    [sentence] = verdicts(at)
    assert sentence.endswith(".")
    figure = curve_chart(at)
    assert len(figure["data"]) == 4
    titles = [annotation["text"] for annotation in figure["layout"]["annotations"]]
    assert titles[0].startswith("<b>Deletion</b>: lower is better") and "random" in titles[0]
    assert titles[1].startswith("<b>Insertion</b>: higher is better")
    # The row of maps: the trained model's, then one per layer group of the classic CNN, from the output down.
    row = next(element for element in at.get("image") if len(element.proto.imgs) == 4)
    captions = [image.caption for image in row.proto.imgs]
    assert captions[0] == "trained model"
    assert [caption.split(" scrambled: ")[0] for caption in captions[1:]] == ["predictions", "conv2", "conv1"]
    assert all(-1 <= float(caption.split(": ")[1]) <= 1 for caption in captions[1:])
    assert any("rank correlation" in block.value for block in at.caption)
    # Another class is another heatmap: its check waits for the button again, unless the toggle is on.
    selector = next(box for box in at.selectbox if box.label == "Explain the class")
    selector.set_value(int(selector.options[2].split(" ")[0])).run()
    assert curve_chart(at) is None
    at.toggle(key="trust-auto").set_value(True).run()
    assert not at.exception and curve_chart(at) is not None and len(verdicts(at)) == 1


def test_edit_and_compare_offers_a_canvas_and_waits_for_paint(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    assert any(heading.value == "Edit and compare" for heading in at.subheader)
    assert at.slider(key="edit-brush").value >= 1
    assert at.color_picker(key="edit-colour").value == "#000000"  # A grey model: black erases ink.
    assert any("Nothing painted yet" in block.value for block in at.caption)


def _compare_script():
    import numpy as np

    from pages._ui import edit_compare, models

    original = np.zeros((28, 28, 1), np.float32)
    original[4:24, 12:16] = 255.0  # A "1".
    edited = original.copy()
    edited[4:14] = 0.0  # Its top half painted out.
    card = models.card_for("tiny-cnn")
    edit_compare.compare("tiny-cnn", models.model_or_stop("tiny-cnn"), card.class_names, original, edited,
                         "gradcam", 1, {})


def test_compare_shows_both_images_with_their_classes_heatmaps_and_the_change(fresh_registry):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import TIMEOUT

    at = AppTest.from_function(_compare_script, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [block.value for block in at.markdown][:2] == ["**Original**", "**Edited**"]
    assert len(charts(at)) == 2  # The top classes of each.
    overlays = [image for element in at.get("image") for image in element.proto.imgs]
    assert [image.caption for image in overlays] == ["What speaks for 1", "What speaks for 1"]
    [metric] = at.metric
    assert metric.label == "Probability of 1 after the edit" and metric.delta.endswith(" points")


@pytest.fixture
def shapes_registry(tmp_path, monkeypatch):
    """A registry holding one untrained 64x64 shapes model, for the localisation table."""
    from imgrec import architectures, datasets, registry
    from pages._ui import models

    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tmp_path))
    models.model_cards.clear()  # The list is cached for ten seconds; this registry is new now.
    model = architectures.build("cnn-gap", (64, 64, 3), 4, seed=0)
    registry.save(model, "tiny-shapes", registry.card_for_model("cnn-gap", "shapes", (64, 64, 3),
                                                                datasets.SHAPES_CLASSES))
    yield tmp_path
    models.model_cards.clear()


def test_a_shapes_model_gets_the_explainers_localisation_table(app, shapes_registry, monkeypatch):
    from pages._ui import trust_panel

    monkeypatch.setattr(trust_panel, "LOCALISATION_SAMPLES", 3)
    at = open_page(app, "pages/predict.py", model="tiny-shapes", sample="shapes-01")
    assert at.session_state["sample_id"] == "shapes-01"
    assert not at.dataframe
    at.button(key="localisation-run").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Explainer", "Peak on the shape", "Share of the map on the shape"]
    assert list(table["Explainer"]) == ["Grad-CAM", "Grad-CAM++", "Saliency", "SmoothGrad", "Integrated Gradients",
                                        "Occlusion"]
    # In percent, each a share of the three shapes scored.
    assert all(min(abs(value - hits * 100 / 3) for hits in range(4)) < 1e-9 for value in table["Peak on the shape"])
    assert table["Share of the map on the shape"].between(0, 100).all()
    # The table stays for this model as the visitor goes on exploring.
    at.radio(key="explain-method").set_value("saliency").run()
    assert not at.exception and len(at.dataframe) == 1


def test_a_model_without_outlines_gets_no_localisation_table(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    assert not any("Which explainer finds the shape" in expander.label for expander in at.expander)


def test_the_shapes_samples_are_offered_to_a_shapes_model(app, shapes_registry):
    at = open_page(app, "pages/predict.py", model="tiny-shapes")
    assert at.session_state["sample_id"] == "shapes-00"
    assert at.segmented_control(key="predict-sample-collection").value == "shapes"
