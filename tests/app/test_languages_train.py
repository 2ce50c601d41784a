"""The Train page in Chinese (every tab and state: a new run, a run training, cancelled and finished, compare,
search) with no English sentence left, and the same page in English as it was."""

import pytest

from imgrec import jobs, search, texts, training
from pages._ui import train_run, train_runs
from tests.support import reports
from tests.support.apptest import chart_titles, charts, english_sentences, open_page

pytestmark = pytest.mark.filterwarnings("ignore")

PAGE = "pages/train.py"
CHINESE = {"lang": "zh-CN"}
TINY_RUN = {**training.preset("quickstart").to_dict(), "dataset": "digits", "max_samples": 150, "epochs": 1}
ZH = texts.Texts("zh-CN")


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory):
    """A runs folder holding one finished classifier run of the tiny digits config; returns (folder, run id)."""
    folder = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMGREC_RUNS_DIR", str(folder))
        yield folder, reports.finished_run(TINY_RUN)


@pytest.fixture
def studio(app, runs_folder, monkeypatch):
    """The app over the tiny registry, its runs in `runs_folder`; cancels any run a test left training."""
    folder, _ = runs_folder
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    yield app
    for run in jobs.list_runs(folder):
        if run["status"] in (jobs.QUEUED, jobs.RUNNING):
            jobs.cancel(run["id"], runs_dir=folder)


def widget(at, kind, key):
    return next(item for item in getattr(at, kind) if item.key == key)


def assert_chinese(at, allowed=()):
    assert not at.exception, at.exception
    found = english_sentences(at, allowed)
    assert found == [], found


def test_the_new_run_tab_in_chinese_with_each_kind_of_architecture_and_augmentation(studio):
    at = open_page(studio, PAGE, **CHINESE)
    assert at.title[0].value == "训练"
    assert [tab.label for tab in at.tabs] == [train_runs.tab_label(tab, "zh-CN") for tab in train_runs.TABS]
    assert ZH("train.intro") in [block.value for block in at.markdown]
    assert_chinese(at)
    assert ZH("train_settings.title_mnist") in widget(at, "selectbox", "cfg-dataset").options
    # Each architecture's own settings and description; the preview of augmentation.
    for architecture in ("autoencoder", "vit", "rnn"):
        widget(at, "selectbox", "cfg-architecture").set_value(architecture).run()
        assert_chinese(at)
    widget(at, "slider", "cfg-augment_rotate").set_value(20.0).run()
    assert at.get("image")[0].captions[0] == ZH("train_new.preview_caption")
    assert_chinese(at)
    # A subset of a dataset, and a setting the check refuses: imgrec's sentence, said in Chinese from its key.
    widget(at, "selectbox", "cfg-dataset").set_value("fashion-sneaker-vs-boot").run()
    assert_chinese(at)
    assert any("运动鞋" in caption.value for caption in at.caption)
    widget(at, "number_input", "cfg-max_samples").set_value(5).run()
    assert [message.value for message in at.error] == [
        ZH("errors_training.between", name="max_samples", low=20, high=10_000_000, value=5)]
    assert at.error[0].value == "max_samples 必须在 20 到 10000000 之间，现在是 5。"
    assert widget(at, "button", "start-run").disabled


def test_a_run_while_it_trains_and_once_cancelled_in_chinese(studio):
    run_id = jobs.submit(TINY_RUN)
    at = open_page(studio, PAGE, run=run_id, **CHINESE)
    assert at.session_state["train-tab"] == train_runs.tab_label(train_runs.TAB_RUN, "zh-CN")
    assert_chinese(at)
    assert any(block.value.endswith(ZH("train_run.header", run=run_id, status=ZH("train_runs.status_running")))
               or block.value.endswith(ZH("train_run.header", run=run_id, status=ZH("train_runs.status_queued")))
               for block in at.markdown)
    assert widget(at, "button", f"cancel-{run_id}").label == ZH("train_run.cancel")
    jobs.cancel(run_id)
    at.run()
    assert_chinese(at)
    assert at.info and ZH("train_run.cancelled", reason="")[1:] in at.info[0].value


@pytest.mark.slow
def test_a_finished_runs_results_in_chinese(studio, runs_folder):
    _, run_id = runs_folder
    at = open_page(studio, PAGE, run=run_id, **CHINESE)
    assert_chinese(at)
    assert at.metric[0].label == ZH("train_results.test_accuracy")
    titles = chart_titles(at)
    for key in ("fig_training.curves_title", "fig_training.confusion_title", "fig_training.per_class_title",
                "fig_training.roc_title"):
        assert ZH(key) in titles, (key, titles)
    # The class names of the figures and the mistakes' captions: digits stay digits, the words are Chinese.
    assert all(caption.startswith("真实") for image in at.get("image")[:3] for caption in image.captions)
    # A click on a cell of the confusion matrix opens its images, in Chinese too.
    from tests.support.apptest import plotly_click, select_in_chart

    at = select_in_chart(at, "result-confusion", plotly_click("0", "0"))
    assert_chinese(at)
    assert any(block.value.startswith("#### 真实 0，预测 0") for block in at.markdown)


def test_the_compare_and_search_tabs_in_chinese(studio, runs_folder, monkeypatch):
    _, run_id = runs_folder
    at = open_page(studio, PAGE, tab="compare", **CHINESE)
    assert_chinese(at)
    assert chart_titles(at) == [ZH("fig_training.overlay_title", metric=ZH("fig_training.validation_accuracy"))]
    assert list(at.main.dataframe[0].value[ZH("train_compare.column_status")]) == [ZH("train_runs.status_done")]
    for metric in ("loss", "accuracy"):
        widget(at, "segmented_control", "compare-metric").set_value(metric).run()
        assert_chinese(at)
    widget(at, "multiselect", "compare-runs").set_value([]).run()
    assert_chinese(at)
    # The search form, each kind; a tab named by its English label (as a callback names it) opens in Chinese.
    at.session_state["train-tab"] = train_runs.TAB_SEARCH
    at.run()
    assert at.session_state["train-tab"] == train_runs.tab_label(train_runs.TAB_SEARCH, "zh-CN")
    assert_chinese(at)
    for kind in search.KINDS:
        widget(at, "segmented_control", "search-kind").set_value(kind).run()
        assert_chinese(at)
    # A search with trials, one failed (its reason comes from imgrec), as its driver records them.
    from imgrec.search import driver
    from tests.test_search import FakeJobs

    fake = FakeJobs(monkeypatch)
    monkeypatch.setattr(driver, "ensure_driver", lambda search_id, runs_dir=None: None)
    widget(at, "segmented_control", "search-kind").set_value("grid").run()
    widget(at, "number_input", "search-budget").set_value(3).run()
    widget(at, "button", "start-search").click().run()
    [found] = search.list_searches()
    search.Search.load(found["id"]).advance()
    fake.finish_all(fail_first=True)
    search.Search.load(found["id"]).advance()
    fake.finish_all()
    search.Search.load(found["id"]).advance()
    at.run()
    # The failed trial's reason is the sentence imgrec gave its run (here FakeJobs's), English by design and
    # introduced in Chinese (i18n.error_text).
    assert_chinese(at, allowed=("The loss became NaN.",))
    assert any(caption.value.startswith(ZH("train_search.trial_note", number=1, reason="")) for caption in at.caption)
    table = at.main.dataframe[-1].value
    assert list(table[ZH("train_search.column_trial")]) == [1, 2, 3]
    assert ZH("train_runs.status_failed") in list(table[ZH("train_search.column_status")])
    assert any(message.value.startswith("目前最好") for message in at.success)
    assert run_id  # The finished run stays listed in the sidebar, in Chinese.


def test_the_live_curves_are_cached_per_language(runs_folder):
    folder, run_id = runs_folder
    progress = jobs.progress(run_id, runs_dir=folder)
    chinese = train_run._curves(str(folder), run_id, progress.version, "zh-CN")
    english = train_run._curves(str(folder), run_id, progress.version, "en")
    assert chinese.layout.title.text == ZH("fig_training.curves_title")
    assert english.layout.title.text == "Training: is the model still learning, and does it generalise?"


@pytest.mark.slow
def test_the_page_in_english_is_as_it_was(studio, runs_folder):
    _, run_id = runs_folder
    at = open_page(studio, PAGE, run=run_id)
    assert at.title[0].value == "Train"
    assert [tab.label for tab in at.tabs] == train_runs.TABS
    assert at.markdown[0].value.startswith("Train a network on your choice of data and settings, watch it learn")
    captions = [caption.value for caption in at.caption]
    assert any(caption.startswith("cnn on digits (150 samples), 1 epoch, batch ") for caption in captions)
    assert any(caption.startswith("Each curve sweeps the threshold on one class's probability") for caption in captions)
    assert any(caption.startswith("Each cell counts the test images of one true class (row)") for caption in captions)
    curves = charts(at)[0]["layout"]
    assert curves["xaxis"]["title"]["text"] == "epoch" and curves["yaxis2"]["title"]["text"] == "accuracy"
    assert [annotation["text"] for annotation in curves["annotations"]] == [
        "Loss (lower is better)", "Accuracy (higher is better)"]
    assert at.sidebar.subheader[0].value == "Runs on this server"
    at.session_state["train-tab"] = train_runs.TAB_COMPARE
    at.run()
    assert chart_titles(at) == ["Runs compared by validation accuracy"]
    assert list(at.main.dataframe[-1].value.columns) == ["Run", "Status", "Optimizer", "Epochs", "Validation accuracy",
                                                   "Test accuracy", "Seconds"]
    assert at.main.caption[-1].value.startswith("Every run here: architecture cnn, dataset digits, samples 150, ")
    at.session_state["train-tab"] = train_runs.TAB_SEARCH
    at.run()
    assert [option for option in widget(at, "segmented_control", "search-kind").options] == [
        "Grid search", "Random search", "Bayesian search (TPE)"]
    assert at.markdown[-1].value.startswith("Each trial trains the settings of **New run** (cnn on mnist, 2 epochs, all samples)")
