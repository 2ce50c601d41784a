"""The models page through AppTest: the registry table, a card, the layer graph, comparison, download and delete."""

import dataclasses
import shutil

import pytest

from imgrec import architectures, registry
from tests.support.registries import tiny_card

pytestmark = pytest.mark.filterwarnings("ignore")

PAGE = "pages/models.py"
TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES = (
    ":material/badge: Card", ":material/account_tree: Architecture", ":material/compare_arrows: Compare",
    ":material/download: Download and delete",
)


@pytest.fixture
def registry_app(app, tiny_registry, tmp_path, monkeypatch):
    """The app over a private copy of the tiny registry plus `shipped-cnn`, a protected model."""
    from pages._ui import models as ui_models

    models = shutil.copytree(tiny_registry, tmp_path / "models")
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(models))
    card = dataclasses.replace(tiny_card("shipped-cnn", "cnn"), title="A shipped CNN")
    registry.save(architectures.build("cnn", (28, 28, 1), 10, seed=0), "shipped-cnn", card, protected=True)
    ui_models.model_cards.clear()
    yield app
    ui_models.model_cards.clear()


def open_models(app, model, tab=None):
    app.query_params["model"] = model
    app.run()
    app.switch_page(PAGE).run()
    if tab:
        app.session_state["models-tab"] = tab
        app.run()
    assert not app.exception, app.exception
    return app


def test_the_registry_table_lists_every_model_with_its_measured_accuracy(registry_app):
    at = open_models(registry_app, "tiny-cnn")
    table = at.dataframe[0].value.set_index("Name")
    assert {"tiny-cnn", "tiny-vit", "shipped-cnn"} <= set(table.index)
    row = table.loc["tiny-cnn"]
    assert row["Architecture"] == "cnn" and row["Dataset"] == "mnist"
    assert row["Parameters"] == registry.card("tiny-cnn").parameters
    assert row["Test score"] == "10.0%" and row["Classes"] == 10
    assert table.loc["shipped-cnn", "Origin"] == "shipped" and row["Origin"] == "trained"


def test_a_card_is_shown_in_full(registry_app):
    at = open_models(registry_app, "tiny-vit")
    assert at.subheader[0].value == "Tiny vit for tests"
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == "10.0%"
    # Where it was measured, the file size and when it was made: the card says what the registry table leaves out.
    assert at.metric[2].label == "File size" and at.metric[2].value.endswith(("kB", "MB"))
    assert any("10.0% accuracy on test, n = 10,000" in caption.value and "Created 20" in caption.value
               for caption in at.caption)
    assert at.json[0].value is not None and '"architecture": "vit"' in at.json[0].proto.body


def test_the_architecture_is_a_layer_table_and_a_graph(registry_app):
    at = open_models(registry_app, "tiny-vit", TAB_ARCHITECTURE)
    table = at.dataframe[-1].value
    assert list(table["Layer"][:3]) == ["image", "rescale", "patch_embedding"]
    dot = at.get("graphviz_chart")[0].proto.spec
    assert dot.startswith("digraph model {")
    names = {line.split(" ")[2]: line for line in dot.splitlines() if "[label=" in line}
    assert len(names) == len(table)
    # The residual connection: the first Add takes the tokens and the attention's output.
    add = next(node for node, line in names.items() if 'label="block1_add1' in line)
    tokens = next(node for node, line in names.items() if 'label="tokens' in line)
    attention = next(node for node, line in names.items() if 'label="attention_1' in line)
    assert f"{tokens} -> {add};" in dot and f"{attention} -> {add};" in dot


def test_models_are_compared_on_the_same_test_images(registry_app):
    at = open_models(registry_app, "tiny-cnn", TAB_COMPARE)
    chooser = at.multiselect[0]
    assert set(chooser.options) == {"tiny-cnn", "tiny-vit", "shipped-cnn"}  # all three: mnist, 28 x 28 x 1
    chooser.set_value(["tiny-cnn", "tiny-vit"]).run()
    next(button for button in at.button if button.key == "compare-run").click().run()
    assert not at.exception
    summary = at.dataframe[-2].value.set_index("Model")
    assert list(summary.index) == ["tiny-cnn", "tiny-vit"]
    assert (summary["Images"] == 2000).all() and (summary["Latency per image (ms)"] > 0).all()
    assert summary["Accuracy"].between(0, 100).all()  # In percent, as the column shows.
    per_class = at.dataframe[-1].value
    assert list(per_class.columns) == ["Class", "tiny-cnn", "tiny-vit"] and len(per_class) == 10
    assert any("first 2,000 images" in caption.value for caption in at.caption)


def test_the_keras_file_is_offered_and_a_shipped_model_cannot_be_deleted(registry_app):
    at = open_models(registry_app, "shipped-cnn", TAB_FILES)
    labels = [button.proto.label for button in at.get("download_button")]
    assert any(label.startswith("shipped-cnn.keras (") for label in labels)
    delete = next(button for button in at.button if button.key == "delete-model")
    assert delete.disabled
    assert any("is protected" in caption.value for caption in at.caption)
    with pytest.raises(registry.RegistryError, match="shipped model and cannot be deleted"):
        registry.delete("shipped-cnn")


def test_an_unprotected_model_is_deleted_after_a_confirmation(registry_app):
    at = open_models(registry_app, "tiny-vit", TAB_FILES)
    delete = next(button for button in at.button if button.key == "delete-model")
    assert delete.disabled  # until the box is ticked
    next(box for box in at.checkbox if box.key == "delete-confirm-tiny-vit").check().run()
    next(button for button in at.button if button.key == "delete-model").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted tiny-vit."
    assert "tiny-vit" not in [card.name for card in registry.list_models()]
    assert "tiny-vit" not in list(at.dataframe[0].value["Name"])


def test_an_export_failure_stays_on_screen_until_another_model_is_chosen(registry_app, monkeypatch):
    from imgrec import export
    from pages._ui import compute

    message = ("TensorFlow's TFLite converter cannot convert model 'tiny_cnn' (an op it lacks); export it as a "
               "SavedModel instead, which holds every model.")

    def failing_export(name, key, fmt):
        raise export.ExportError(message)

    monkeypatch.setattr(compute, "exported_bytes", failing_export)
    at = open_models(registry_app, "tiny-cnn", TAB_FILES)
    assert not at.error
    next(button for button in at.button if button.key == "export-tflite").click().run()
    assert [error.value for error in at.error] == [message]
    at.run()  # Any redraw (another widget, a refresh of the tab) keeps it.
    next(box for box in at.checkbox if box.key == "delete-confirm-tiny-cnn").check().run()
    assert [error.value for error in at.error] == [message]
    at.selectbox(key="model-picker").set_value("tiny-vit").run()
    assert not at.exception and not at.error  # Another model: the failure was about the first one.
