"""Links that keep the whole view, through AppTest: each page restores every parameter of a link, writes
what it shows back into the address, and names in one sentence what it could not restore."""

import shutil

import pytest

from imgrec import registry
from tests.app.conftest import REPO, TIMEOUT
from tests.support.apptest import open_page
from tests.support.registries import add_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore")


def fresh():
    """Another browser: a new AppTest of the whole app, with no session state."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)


def address(at):
    """The page's address as a dict of strings (AppTest keeps lists for repeated parameters)."""
    return {name: value[-1] if isinstance(value, list) else value for name, value in at.query_params.items()}


def sentences(at):
    """The warnings on the page, unescaped (a link's value is shown with Markdown's characters escaped)."""
    return [warning.value.replace("\\", "") for warning in at.warning]


def opened_without_a_word(app, page, link):
    """Opens a link that the page can restore in full: no sentence about anything it could not."""
    at = open_page(app, page, **link)
    assert not at.warning, sentences(at)
    return at


def assert_said(said, *beginnings):
    """Each sentence begins as one of `beginnings`, one sentence for each, in any order."""
    for beginning in beginnings:
        assert any(text.startswith(beginning) for text in said), (beginning, said)
    assert len(said) == len(beginnings), said


def test_predict_restores_model_sample_class_method_layer_and_opacity(app):
    link = {"model": "tiny-cnn", "sample": "mnist-04", "class": "3", "method": "gradcam++", "layer": "conv1",
            "opacity": "0.30"}
    at = opened_without_a_word(app, "pages/predict.py", link)
    assert at.selectbox(key="model-picker").value == "tiny-cnn"
    assert at.session_state["sample_id"] == "mnist-04"
    assert next(box for box in at.selectbox if box.label == "Explain the class").value == 3
    assert at.radio(key="explain-method").value == "gradcam++"
    assert at.selectbox(key="explain-layer-tiny-cnn").value == "conv1"
    assert at.slider(key="explain-alpha").value == pytest.approx(0.3)
    assert address(at) == link  # What the page shows is what the link asked for.
    # A "+" typed into an address arrives as a space; the page still finds Grad-CAM++.
    other = open_page(fresh(), "pages/predict.py",
                      model="tiny-cnn", sample="mnist-04", method="gradcam  ")
    assert other.radio(key="explain-method").value == "gradcam++" and not other.warning


def test_predict_names_each_parameter_it_cannot_restore(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-99", method="magic", opacity="2",
                   **{"class": "12"})
    assert_said(sentences(at), "The link asked for sample 'mnist-99', but no sample image",
                "The link asked for class '12', but this model's classes are 0 to 9 (or their names); it shows the "
                "most likely class", "The link asked for method 'magic', but for this model the methods are Grad-CAM",
                "The link asked for opacity '2', but it must be a number from 0 to 1")
    # What it opened instead is what the address now says.
    assert address(at)["method"] == "gradcam" and address(at)["opacity"] == "0.50"
    assert address(at)["sample"] == at.session_state["sample_id"]


def test_predict_refuses_a_layer_the_model_lacks_and_a_layer_for_a_method_without_one(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="mnist-04", method="gradcam", layer="conv9")
    [said] = sentences(at)
    assert said.startswith("The link asked for layer 'conv9', but this model has no layer of that name for Grad-CAM")
    assert said.endswith(f"it shows {at.selectbox(key='explain-layer-tiny-cnn').value} instead.")
    other = open_page(fresh(), "pages/predict.py",
                      model="tiny-cnn", sample="mnist-04", method="saliency", layer="conv1")
    assert sentences(other) == ["The link asked for layer 'conv1', but Saliency weights no layer; it shows the method "
                                "on its own instead."]
    assert "layer" not in address(other)


def test_feature_maps_restores_layer_channel_position_and_scale(app):
    link = {"model": "tiny-cnn", "sample": "mnist-04", "layer": "conv2", "channel": "5", "row": "3", "col": "4",
            "scale": "layer"}
    at = opened_without_a_word(app, "pages/feature_maps.py", link)
    assert at.selectbox(key="layer-tiny-cnn").value == "conv2"
    assert at.slider(key="arith-channel-conv2").value == 5
    assert (at.slider(key="arith-row").value, at.slider(key="arith-col").value) == (3, 4)
    assert at.radio(key="maps-scale").value == "layer"
    assert any("Output channel **5** at row **3**, column **4**" in block.value for block in at.markdown)
    assert address(at) == link


def test_feature_maps_names_what_it_cannot_restore(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-04", layer="conv9", channel="99",
                   row="26", col="x", scale="rainbow")
    said = sentences(at)
    assert said[0].startswith("The link asked for layer 'conv9', but Tiny cnn for tests has no layer of that name")
    assert said[0].endswith("it shows conv1 instead.")  # The first convolution, as without a link.
    assert_said(said, said[0], "The link asked for scale 'rainbow', but the colour scales offered here are channel, "
                "layer, global", "The link asked for channel '99', but conv1 has 32 channels, numbered from 0",
                "The link asked for row '26', but this layer's maps have rows 0 to 25",
                "The link asked for col 'x', but this layer's maps have columns 0 to 25")


def test_attention_restores_layer_head_query_fusion_and_discard(app):
    link = {"model": "tiny-vit", "sample": "mnist-04", "query": "1,2", "layer": "2", "head": "1", "fusion": "max",
            "discard": "0.25"}
    at = opened_without_a_word(app, "pages/attention.py", link)
    assert at.segmented_control(key="query-kind").value == "patch"
    assert (at.slider(key="query-row").value, at.slider(key="query-col").value) == (1, 2)
    assert at.selectbox(key="head-layer").value == 2 and at.selectbox(key="head-head").value == 1
    assert at.radio(key="rollout-fusion").value == "max"
    assert at.slider(key="rollout-discard").value == pytest.approx(0.25)
    assert address(at) == link
    at = open_page(fresh(), "pages/attention.py",
                   model="tiny-vit", sample="mnist-04", query="class", head="mean")
    assert at.segmented_control(key="query-kind").value == "class" and address(at)["query"] == "class"
    assert address(at)["head"] == "mean" and not at.warning


def test_attention_names_what_it_cannot_restore(app):
    at = open_page(app, "pages/attention.py", model="tiny-vit", sample="mnist-04", query="9,9", layer="7", head="3",
                   fusion="median", discard="0.99")
    assert_said(sentences(at), "The link asked for query '9,9', but a query is a patch 'ROW,COL' with rows 0 to 3 "
                "and columns 0 to 3 or 'class'", "The link asked for layer '7', but this model has layers 1 to 2",
                "The link asked for head '3', but this model has heads 1 to 2",
                "The link asked for fusion 'median', but the heads combine by mean, max or min",
                "The link asked for discard '0.99', but it must be a number from 0 to 0.95")


def test_train_restores_its_tab_and_names_a_run_it_does_not_have(app):
    at = open_page(app, "pages/train.py", tab="search")
    assert at.session_state["train-tab"] == ":material/travel_explore: Search" and not at.warning
    assert address(at) == {"tab": "search"}
    at = open_page(fresh(), "pages/train.py",
                   run="20260101-000000-abcdef", tab="charts")
    said = sentences(at)
    assert said == [
        "The link asked for run '20260101-000000-abcdef', but this server has no run of that name (see the list of "
        "runs in the sidebar); it shows no run instead.",
        "The link asked for tab 'charts', but the tabs here are new, run, compare, search; it shows the new tab "
        "instead.",
    ]
    assert address(at) == {"tab": "new"}


def test_models_restores_model_and_tab_and_names_what_it_cannot(app):
    at = open_page(app, "pages/models.py", model="tiny-vit", tab="architecture")
    assert not at.warning
    assert at.selectbox(key="model-picker").value == "tiny-vit"
    assert at.session_state["models-tab"] == ":material/account_tree: Architecture"
    assert address(at) == {"model": "tiny-vit", "tab": "architecture"}
    at = open_page(fresh(), "pages/models.py", model="gone", tab="nope")
    model, tab = sentences(at)
    default = registry.list_models()[0]  # The first model by name: what a visit without a model opens.
    assert model == (f"The link asked for model 'gone', but this server has no model by that name; it shows "
                     f"{default.display_title} instead.")
    assert tab == ("The link asked for tab 'nope', but the tabs here are card, mistakes, architecture, compare, "
                   "files; it shows the card tab instead.")
    assert address(at) == {"model": default.name, "tab": "card"}


def test_a_change_on_the_page_is_written_into_the_address_and_a_rerun_keeps_it(app):
    at = open_page(app, "pages/feature_maps.py", model="tiny-cnn", sample="mnist-04", layer="conv2", channel="5")
    at.slider(key="arith-channel-conv2").set_value(7).run()
    assert address(at)["channel"] == "7"
    at.selectbox(key="layer-tiny-cnn").set_value("conv1").run()
    assert address(at)["layer"] == "conv1" and not at.warning


# ---------------------------------------------------------------------------------------
# Model and image that belong together.


@pytest.fixture
def fashion_app(app, tiny_registry, tmp_path, monkeypatch):
    """The app over a private copy of the tiny registry plus `tiny-fashion`, a two-class Fashion model."""
    from pages._ui import models as ui_models

    models = shutil.copytree(tiny_registry, tmp_path / "models")
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(models))
    add_tiny_model(models, "tiny-fashion", "cnn", 2, title="Tiny fashion", dataset="fashion-sneaker-vs-boot",
                   class_names=("Sneaker", "Ankle boot"))
    ui_models.model_cards.clear()
    yield app
    ui_models.model_cards.clear()


def test_a_digit_model_on_a_cat_photo_says_its_answer_is_a_guess(app):
    at = open_page(app, "pages/predict.py", model="tiny-cnn", sample="cifar10-00")
    assert at.session_state["sample_id"] == "cifar10-00"  # The link chose this pair: it is kept...
    assert [warning.value for warning in at.warning] == [  # ...and said to be a guess.
        "This model only knows the digits 0-9, and this is a small colour photo: its answer is a guess among those."]


def test_choosing_a_model_picks_a_sample_it_knows(fashion_app):
    at = open_page(fashion_app, "pages/predict.py", model="tiny-cnn", sample="mnist-03")
    at.selectbox(key="model-picker").set_value("tiny-fashion").run()
    assert not at.exception
    sample = at.session_state["sample_id"]
    assert sample.startswith("fashion-mnist-"), sample
    # A two-class model opens on one of its own two classes, so no sentence is needed.
    assert not at.warning and any(name in at.selectbox(key="predict-sample-id").format_func(sample)
                                  for name in ("Sneaker", "Ankle boot"))
    # Back to the digits: a digit again.
    at.selectbox(key="model-picker").set_value("tiny-cnn").run()
    assert at.session_state["sample_id"].startswith("mnist-")


def test_a_sample_outside_a_two_class_model_s_classes_gets_its_sentence(fashion_app):
    at = open_page(fashion_app, "pages/predict.py", model="tiny-fashion", sample="fashion-mnist-01")
    label = at.selectbox(key="predict-sample-id").format_func("fashion-mnist-01").split(": ")[-1]
    assert label not in ("Sneaker", "Ankle boot")
    assert [warning.value for warning in at.warning] == [
        f"This model only knows Sneaker and Ankle boot, and this is {'an' if label[0] in 'AEIOU' else 'a'} {label}: "
        "its answer is a guess between those."]


def test_the_home_tiles_open_a_model_that_knows_them(app):
    at = open_page(app, None)
    links = {link.label: link.proto.query_string for link in at.page_link if "sample=" in link.proto.query_string}
    assert links["Digit 7"] == "model=tiny-cnn&sample=mnist-00"
    assert links["cat"] == "model=imagenet-efficientnet-lite0&sample=cifar10-00"  # No CIFAR-10 model here.
    assert links["Chelsea the cat"] == "model=imagenet-efficientnet-lite0&sample=photos-chelsea"
    assert "Ankle boot" not in links  # No model here knows clothing: no tile that would open a wrong one.
