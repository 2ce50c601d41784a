"""Importing a model on the Models page through AppTest: a notebook model in, every hostile file refused, quotas.

The hostile files are tests/support/hostile.py's cases: each is uploaded through the page's
form as a visitor would, and must be refused in one sentence on the page, with nothing run,
nothing saved and Keras still in safe mode.
"""

import re

import pytest

from imgrec import registry
from tests.app.conftest import REPO, TIMEOUT
from tests.support import hostile, notebook_models
from tests.support.hostile import assert_one_sentence

pytestmark = pytest.mark.filterwarnings("ignore")

PAGE = "pages/models.py"


@pytest.fixture
def page(hostile_files, tmp_path, monkeypatch):
    """The Models page over a registry holding only `good`, with an armed marker; checked healthy afterwards."""
    from streamlit.testing.v1 import AppTest

    from pages._ui import models as ui_models

    hostile.registry_holding_good(hostile_files, tmp_path, monkeypatch)
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    for variable in ("IMGREC_MAX_IMPORTED_MODELS", "IMGREC_MAX_IMPORTS_PER_SESSION"):
        monkeypatch.delenv(variable, raising=False)
    ui_models.model_cards.clear()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.query_params["model"] = "good"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    yield at
    ui_models.model_cards.clear()
    hostile.assert_nothing_ran(tmp_path)


def submit(at, file_name, data, name, *, dataset=None, class_names=None):
    """Fills the import form as a visitor would and presses Import."""
    at.file_uploader(key="import-file").set_value((file_name, data, "application/octet-stream"))
    at.text_input(key="import-name").set_value(name)
    if class_names is None:
        at.radio(key="import-classifies").set_value("One of imgrec's datasets")
        at.selectbox(key="import-dataset").set_value(dataset)
    else:
        at.radio(key="import-classifies").set_value("Its own class names")
        at.text_input(key="import-classes").set_value(", ".join(class_names))
    next(button for button in at.button if button.label == "Import").click().run()
    assert not at.exception, at.exception
    return at


def files_of(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != ".lock"}


def test_a_notebook_model_is_imported_measured_and_opened(page):
    data = notebook_models.keras_file_bytes(notebook_models.no_pooling())
    at = submit(page, "strided.keras", data, "my-digits", dataset="mnist")
    assert not at.error, [error.value for error in at.error]
    card = registry.card("my-digits")
    assert at.success[0].value == f"Imported my-digits: {card.accuracy_text()}."
    assert card.metrics.n == 10_000 and card.imported.file_name == "strided.keras"
    # The page opens the new model's card, and the table marks it imported.
    assert at.subheader[0].value == "my-digits (imported)"
    table = at.dataframe[0].value.set_index("Name")
    assert table.loc["my-digits", "Origin"] == "imported" and table.loc["good", "Origin"] != "imported"
    assert any("Imported: uploaded as `strided.keras`" in caption.value for caption in at.caption)


@pytest.mark.parametrize("case", hostile.CASES, ids=hostile.CASE_IDS)
def test_every_hostile_file_uploaded_on_the_page_is_refused_in_one_sentence(page, hostile_files, case, tmp_path):
    models_folder = tmp_path / "models"
    before = files_of(models_folder)
    with hostile.keras_loads() as loads:
        at = submit(page, f"{case.name}.keras", hostile_files.bytes(case), case.name,
                    class_names=[str(digit) for digit in range(10)])
    assert [error.value for error in at.error][:1] and not at.success
    message = at.error[0].value
    assert_one_sentence(message)
    assert re.search(case.message, message), message
    assert not (case.before_keras and loads)
    assert files_of(models_folder) == before
    assert case.name not in list(at.dataframe[0].value["Name"])


def test_the_session_quota_refuses_the_next_import_on_the_page(page, monkeypatch):
    monkeypatch.setenv("IMGREC_MAX_IMPORTS_PER_SESSION", "1")
    data = notebook_models.keras_file_bytes(notebook_models.sequential_rgb())
    at = submit(page, "shapes.keras", data, "shapes-one", class_names=notebook_models.CLASS_NAMES)
    assert at.success and any("may import 0 more models" in caption.value for caption in at.caption)
    at = submit(at, "shapes.keras", data, "shapes-two", class_names=notebook_models.CLASS_NAMES)
    assert at.error[0].value.startswith("This session has imported 1 models, the most one visitor may")
    assert [card.name for card in registry.imported_models()] == ["shapes-one"]


def test_a_missing_file_and_a_taken_name_are_said_on_the_page(page):
    next(button for button in page.button if button.label == "Import").click().run()
    assert page.error[0].value == "Choose a .keras file to import first."
    data = notebook_models.keras_file_bytes(notebook_models.sequential_rgb())
    at = submit(page, "shapes.keras", data, "good", class_names=notebook_models.CLASS_NAMES)
    assert at.error[0].value == "A model named 'good' already exists; choose another name."


def test_a_refused_import_is_said_in_chinese_on_a_chinese_page(hostile_files, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from imgrec import texts
    from pages._ui import models as ui_models
    from pages._ui import models_import

    hostile.registry_holding_good(hostile_files, tmp_path, monkeypatch)
    for variable in ("IMGREC_MAX_IMPORTED_MODELS", "IMGREC_MAX_IMPORTS_PER_SESSION"):
        monkeypatch.delenv(variable, raising=False)
    ui_models.model_cards.clear()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.query_params.update(model="good", lang="zh-CN")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    at.file_uploader(key="import-file").set_value(("old.keras", b"\x89HDF\r\n\x1a\n" + bytes(64), "application/octet-stream"))
    at.text_input(key="import-name").set_value("old-model")
    at.radio(key="import-classifies").set_value(models_import.BY_NAMES)
    at.text_input(key="import-classes").set_value("cat, dog")
    next(button for button in at.button if button.label == texts.Texts("zh-CN")("models_import.submit")).click().run()
    assert not at.exception, at.exception
    assert [message.value for message in at.error] == [texts.Texts("zh-CN")("errors_registry.hdf5", name="old-model")]
    assert at.error[0].value.startswith("模型 'old-model' 不是 Keras 存档（不是有效的 zip 文件：它是 HDF5 文件")
    ui_models.model_cards.clear()
