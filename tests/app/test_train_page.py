"""The training page through AppTest: the form, a real tiny run from submit to saved model, compare and search."""

import shutil

import pytest

from imgrec import datasets, jobs, registry, search, training
from pages._ui import train_run
from tests.support.apptest import chart_titles, charts, open_page

pytestmark = pytest.mark.filterwarnings("ignore")

PAGE = "pages/train.py"
TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH = (
    ":material/tune: New run", ":material/monitoring: Run", ":material/stacked_line_chart: Compare runs",
    ":material/travel_explore: Search",
)


@pytest.fixture
def studio(app, tiny_registry, tmp_path, monkeypatch):
    """The app with an empty runs folder and a private copy of the tiny registry (runs get saved into it)."""
    from pages._ui import models as ui_models

    runs = tmp_path / "runs"
    models = shutil.copytree(tiny_registry, tmp_path / "models")
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(runs))
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(models))
    ui_models.model_cards.clear()
    yield app
    for run in jobs.list_runs(runs):
        if run["status"] in (jobs.QUEUED, jobs.RUNNING):
            jobs.cancel(run["id"], runs_dir=runs)
    ui_models.model_cards.clear()


def open_train(app, **query):
    return open_page(app, PAGE, **query)


def widget(at, kind, key):
    return next(item for item in getattr(at, kind) if item.key == key)


def test_the_form_starts_at_the_quickstart_and_refuses_a_bad_combination(studio):
    at = open_train(studio)
    quickstart = training.preset("quickstart")
    assert widget(at, "selectbox", "cfg-dataset").value == quickstart.dataset == "mnist"
    assert widget(at, "selectbox", "cfg-architecture").value == quickstart.architecture
    assert widget(at, "number_input", "cfg-epochs").value == quickstart.epochs
    # The dataset's caption: its sizes, shape, colour and classes, and where this machine reads it from.
    mnist = datasets.describe("mnist")
    assert (f"{mnist.train_size:,} training and {mnist.test_size:,} test images, 28 x 28 grey, 10 classes, "
            f"from {mnist.source}.") in [caption.value for caption in at.caption]
    assert not at.error
    widget(at, "selectbox", "cfg-architecture").set_value("vit").run()
    widget(at, "number_input", "cfg-vit_dim").set_value(10).run()
    assert not at.exception
    assert [error.value for error in at.error] == ["vit_dim (10) must be a multiple of vit_heads (4)."]
    assert widget(at, "button", "start-run").disabled
    widget(at, "number_input", "cfg-vit_dim").set_value(16).run()
    assert not at.error and not widget(at, "button", "start-run").disabled
    widget(at, "number_input", "cfg-max_samples").set_value(5).run()
    assert "max_samples must be between 20" in at.error[0].value
    assert jobs.list_runs() == []  # nothing started


def test_cifar10_offline_gets_the_same_refusal_as_the_command_line(studio, tmp_path, monkeypatch):
    monkeypatch.setenv("IMGREC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMGREC_OFFLINE", "1")
    monkeypatch.setattr(datasets.sources, "_keras_datasets_dirs", lambda: [tmp_path / "keras" / "datasets"])
    from pages._ui import train_settings

    train_settings.dataset_description.clear()
    at = open_train(studio)
    widget(at, "selectbox", "cfg-dataset").set_value("cifar10").run()
    assert not at.exception
    with pytest.raises(datasets.DatasetUnavailable) as refused:
        jobs.check_config({**training.preset("quickstart").to_dict(), "dataset": "cifar10"})
    assert [error.value for error in at.error] == [str(refused.value)]
    assert "data_batch_1 to data_batch_5" in at.error[0].value
    assert widget(at, "button", "start-run").disabled
    train_settings.dataset_description.clear()


def test_the_augmentation_preview_shows_what_the_model_will_see(studio):
    at = open_train(studio)
    assert not at.get("image")
    widget(at, "slider", "cfg-augment_rotate").set_value(20.0).run()
    assert not at.exception
    images = at.get("image")
    assert len(images) == 1 and "three random versions" in images[0].captions[0]


@pytest.mark.slow
def test_a_tiny_run_goes_from_the_form_to_a_saved_model(studio):
    at = open_train(studio)
    widget(at, "selectbox", "cfg-dataset").set_value("digits").run()
    widget(at, "number_input", "cfg-max_samples").set_value(150).run()
    widget(at, "number_input", "cfg-epochs").set_value(1).run()
    widget(at, "button", "start-run").click().run()
    assert not at.exception and not at.error
    [run] = jobs.list_runs()
    assert run["config"]["dataset"] == "digits" and run["config"]["max_samples"] == 150
    assert at.query_params["run"] in (run["id"], [run["id"]])
    assert at.session_state["train-tab"] == TAB_RUN
    # The live view, drawn by the script run that submitted the run: a worker needs seconds to start
    # TensorFlow, so the run is still starting (or queued). The header, the phase and a cancel button.
    assert any(block.value.endswith(f"Run `{run['id']}`: running") for block in at.markdown)
    assert [bar.proto.text for bar in at.get("progress")] == [train_run.PHASES["starting"]]
    assert widget(at, "button", f"cancel-{run['id']}").label == "Cancel run"
    assert [block.value for block in at.code] == [f"python -m imgrec runs tensorboard {run['id']}"]
    assert jobs.wait(run["id"], timeout=240)["status"] == jobs.DONE
    at.run()
    assert not at.exception, at.exception
    # The results: accuracy, curves, confusion matrix, per-class scores, ROC curves and the mistakes.
    outcome = jobs.result(run["id"])
    accuracy = outcome["accuracy"]
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{accuracy:.1%}"
    titles = chart_titles(at)
    for expected in ("Training:", "Confusion matrix", "Per class", "ROC curves"):
        assert any(title.startswith(expected) for title in titles), (expected, titles)
    # The ROC curves are the ones the worker stored: the chance diagonal, then one trace per class.
    roc = charts(at)[titles.index(next(title for title in titles if title.startswith("ROC curves")))]
    assert [trace["name"] for trace in roc["data"][1:]] == [
        f"{curve['class']} (AUC {curve['auc']:.3f})" for curve in outcome["roc_curves"]]
    # The mistakes the worker kept, most confident first, each drawn beside its heatmap.
    mistakes = outcome["misclassified"][: train_run.GALLERY_SHOWN]
    assert f"Mistakes: {outcome['misclassified_count']:,} of {outcome['n']:,} test images" in [
        header.value for header in at.subheader]
    # Four columns, filled row by row; the page's tree lists them column by column.
    in_columns = sorted(range(len(mistakes)), key=lambda position: (position % 4, position))
    assert [image.captions[0] for image in at.get("image")] == [
        f"true {mistakes[position]['true_label']}, predicted {mistakes[position]['predicted_label']} "
        f"({mistakes[position]['confidence']:.1%})" for position in in_columns]
    # A refresh, or another browser with the link, finds the same run through the URL.
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import REPO, TIMEOUT

    other = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    other.query_params["run"] = run["id"]
    other.run()
    other.switch_page(PAGE).run()
    assert not other.exception
    assert other.session_state["train_run"] == run["id"] and other.metric[0].value == f"{accuracy:.1%}"
    # Saving: a bad name gets a sentence, a good one lands in the registry and in every page's model list.
    at.text_input[0].set_value("Bad Name!")
    at.button[-1].click().run()
    assert "Invalid model name" in at.error[0].value
    at.text_input[0].set_value("digits-tiny")
    at.button[-1].click().run()
    assert not at.exception and not at.error
    assert any("Saved as **digits-tiny**" in message.value for message in at.success)
    card = registry.card("digits-tiny")
    assert card.training.run_id == run["id"] and card.accuracy == pytest.approx(accuracy)
    from pages._ui import models as ui_models

    assert "digits-tiny" in [saved.name for saved in ui_models.model_cards()]


def test_the_optimizer_race_submits_one_run_per_optimizer(studio, monkeypatch):
    submitted = []

    def fake_submit(config, runs_dir=None):
        submitted.append(dict(config))
        return f"20260101-000000-{len(submitted):06x}"

    monkeypatch.setattr(jobs, "submit", fake_submit)
    at = open_train(studio)
    widget(at, "number_input", "cfg-max_samples").set_value(300).run()
    at.session_state["train-tab"] = TAB_COMPARE
    at.run()
    widget(at, "button", "race").click().run()
    assert not at.exception
    assert [config["optimizer"] for config in submitted] == list(training.OPTIMIZERS)
    assert all(config["max_samples"] == 300 and config["learning_rate"] == 1e-3 for config in submitted)


@pytest.mark.slow
def test_a_search_starts_from_the_form_and_the_tab_only_reads_it(studio, monkeypatch):
    from imgrec.search import driver
    from tests.test_search import FakeJobs

    fake = FakeJobs(monkeypatch)
    drivers = []
    # The driver process is tested in test_search; here this test plays the driver, with fake runs.
    monkeypatch.setattr(driver, "ensure_driver", lambda search_id, runs_dir=None: drivers.append(search_id))
    at = open_train(studio)
    at.session_state["train-tab"] = TAB_SEARCH
    at.run()
    widget(at, "number_input", "search-budget").set_value(3).run()
    widget(at, "button", "start-search").click().run()
    assert not at.exception and not at.error
    [found] = search.list_searches()
    assert found["kind"] == "random" and found["budget"] == 3
    assert drivers and set(drivers) == {found["id"]}  # Its driver was started (and is looked after on each look).
    assert at.query_params["search"] in (found["id"], [found["id"]])
    assert fake.runs == {}  # The page submits no trial: only the driver advances a search.
    search.Search.load(found["id"]).advance()
    fake.finish_all()
    search.Search.load(found["id"]).advance()
    at.run()
    table = at.dataframe[-1].value
    assert list(table["Trial"]) == [1, 2, 3] and list(table["Status"]) == ["done", "queued", "planned"]
    assert any("Best so far: trial 1" in message.value for message in at.success)
    at.run()
    assert len(fake.runs) == 2  # Still what the driver submitted: looking advances nothing.
    # Another tab and back: the same search, not the form for a new one.
    at.session_state["train-tab"] = TAB_NEW
    at.run()
    assert "search" not in at.query_params
    at.session_state["train-tab"] = TAB_SEARCH
    at.run()
    assert widget(at, "selectbox", "search-id").value == found["id"]
    assert list(at.dataframe[-1].value["Status"]) == ["done", "queued", "planned"]
    # A refresh, or the link in another browser, opens the Search tab on the same search.
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import REPO, TIMEOUT

    other = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    other.query_params["search"] = found["id"]
    other.run()
    other.switch_page(PAGE).run()
    assert not other.exception
    assert other.session_state["train-tab"] == TAB_SEARCH
    assert widget(other, "selectbox", "search-id").value == found["id"]
    widget(at, "button", f"use-best-{found['id']}").click().run()
    assert not at.exception
    best = search.Search.load(found["id"]).best()["params"]
    assert at.session_state["train-tab"] == TAB_NEW
    assert widget(at, "selectbox", "cfg-optimizer").value == best["optimizer"]
    assert widget(at, "number_input", "cfg-learning_rate").value == pytest.approx(best["learning_rate"], rel=1e-3)
