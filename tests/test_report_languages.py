"""The reports in Chinese and English (`language=`, `--lang`), and an autoencoder run's report.

A Chinese report says `lang="zh-CN"`, has its headings, labels and class names in Chinese
and no English label left; English is the default and unchanged (tests/test_report.py reads
its words). An autoencoder's run report shows its settings, its curves, its error and test
images beside what it rebuilds, and reaches nothing outside the file.
"""

import dataclasses
import datetime
import doctest
import html
import json
import re
import types

import numpy as np
import pytest

from imgrec import cli, datasets, explain, images, jobs, reconstruction, registry, report, texts
from imgrec.report import rebuilt, text
from imgrec.trust import verdict
from tests.support import reports
from tests.test_report import fake_trust, image_sources, section_ids

CHINESE = texts.Texts("zh-CN")
TINY_AUTOENCODER_RUN = {"architecture": "autoencoder", "dataset": "fashion-mnist", "max_samples": 200, "epochs": 2,
                        "batch_size": 32, "latent_dim": 2}


def label_keys(section="report"):
    """The catalog keys of the report's labels (headings, axes, table headers) whose Chinese differs from English."""
    english = texts.catalog("en")
    return [key for key in english if key.startswith(f"{section}.") and CHINESE(key) != english[key]]


def shown_texts(document):
    """Every piece of text the document shows as a whole: between tags, and in alt and title attributes."""
    between = [html.unescape(piece).strip() for piece in re.findall(r">([^<>]+)<", document)]
    attributes = [html.unescape(value) for value in re.findall(r'(?:alt|title)="([^"]*)"', document)]
    return {piece for piece in between + attributes if piece}


def assert_no_english_label(document):
    """No label of the report appears in English as a whole text: each one shown was translated."""
    shown = shown_texts(document)
    left = [texts.ENGLISH(key) for key in label_keys() if texts.ENGLISH(key) in shown]
    assert left == [], left


def assert_chinese(document, *keys):
    for key in keys:
        assert html.escape(CHINESE(key), quote=True) in document, key


@pytest.fixture
def fashion_classifier(fresh_registry):
    """tiny-cnn (trained on digits) with Fashion-MNIST's class names: every class has a Chinese name."""
    loaded = registry.load("tiny-cnn")
    card = dataclasses.replace(loaded.card, class_names=datasets.FASHION_MNIST_CLASSES, dataset="fashion-mnist",
                               metrics=dataclasses.replace(loaded.card.metrics, per_class_f1={
                                   name: 0.5 for name in datasets.FASHION_MNIST_CLASSES}))
    return registry.Classifier("tiny-cnn", card, loaded.model)


# ---------------------------------------------------------------------------------------
# A prediction and a model.


def test_a_chinese_prediction_report_has_chinese_headings_labels_and_class_names(fashion_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    check = fake_trust(np.random.default_rng(0).random((28, 28)).astype(np.float32))
    document = report.prediction_report(fashion_classifier, rgb, file_name="seven.png", methods=["gradcam"],
                                        trust={"gradcam": check}, language="zh-CN")
    assert '<html lang="zh-CN">' in document
    assert section_ids(document) == ["prediction", "explanations", "card"]
    assert re.findall(r"<h2>([^<]*)</h2>", document) == [CHINESE("report.prediction"), CHINESE("report.explanations"),
                                                        CHINESE("report.card")]
    assert_chinese(document, "report.your_image", "report.model_sees", "report.top_classes",
                   "report.heatmap_over_input", "report.heatmap_alone", "report.deletion", "report.insertion",
                   "report.this_map", "report.random_maps", "report.scrambled", "report.trained_model",
                   "report.model", "report.file", "report.explained_class", "report.name", "report.architecture",
                   "report.classes", "report.sha256", "explainers.gradcam")
    assert_no_english_label(document)
    assert f'<p class="verdict">{html.escape(CHINESE("verdicts.trustworthy"))}</p>' in document
    assert html.escape(check.verdict) not in document  # The trust check's English sentence, replaced.
    # The five most likely classes, in Chinese and in order; the explained one in the headings.
    probabilities = fashion_classifier.predict_proba([rgb])[0]
    top = [CHINESE.class_name(datasets.FASHION_MNIST_CLASSES[index])
           for index in np.argsort(-probabilities, kind="stable")[:5]]
    bar_labels = re.findall(r'text-anchor="end" fill="#222"(?: font-weight="bold")?>([^<]*)</text>', document)
    assert [html.unescape(label) for label in bar_labels[:5]] == top
    assert f"<h3>{html.escape(top[0])} 的 Grad-CAM</h3>" in document
    words_shown = re.sub(r"data:[^\"]+", "", document)  # Images' base64 can spell "Bag" by chance.
    for english in datasets.FASHION_MNIST_CLASSES:  # Not one class left in English, in the card's list either.
        assert html.escape(english) not in words_shown, english
    # Numbers and the image itself are as in English.
    assert f"{probabilities.max():.1%}" in document
    english = report.prediction_report(fashion_classifier, rgb, file_name="seven.png", methods=["gradcam"])
    assert image_sources(document)[CHINESE("report.model_sees")].tobytes() == \
           image_sources(english)[texts.ENGLISH("report.model_sees")].tobytes()


def test_chinese_labels_fit_in_the_chart_s_margin():
    from imgrec.report import charts

    assert charts.text_width("短靴") == 2 * charts.text_width("短") == 2 * charts.FONT
    chart = charts.bars(["短靴", "T恤/上衣"], [0.9, 0.1], title="t", value_text=str)
    label_end = float(re.search(r'<text x="([\d.]+)" y="[^"]+" text-anchor="end"', chart).group(1))
    assert label_end - charts.text_width("T恤/上衣") >= 0  # Drawn from its right end leftwards, within the chart.


def test_english_is_the_default_and_unknown_languages_are_refused(fashion_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    when = datetime.datetime(2026, 11, 30, 12, 0)
    default = report.prediction_report(fashion_classifier, rgb, file_name="x.png", methods=["saliency"], when=when)
    assert default == report.prediction_report(fashion_classifier, rgb, file_name="x.png", methods=["saliency"],
                                               when=when, language="en")
    assert '<html lang="en">' in default and "<h2>The prediction</h2>" in default and "Ankle boot" in default
    assert "Made by imgrec" in default and "2026-11-30 at 12:00 UTC" in default
    for build in (lambda: report.model_report(fashion_classifier.card, language="fr"),
                  lambda: report.prediction_report(fashion_classifier, rgb, file_name="x.png", language="zh")):
        with pytest.raises(ValueError, match="A report is written in en or zh-CN, not"):
            build()


def test_a_chinese_model_report_lists_the_classes_and_their_scores_in_chinese(fashion_classifier):
    card = fashion_classifier.card
    document = report.model_report(card, language="zh-CN")
    assert '<html lang="zh-CN">' in document and f"<title>模型卡片：{html.escape(card.display_title)}</title>" in document
    chinese_names = [CHINESE.class_name(name) for name in datasets.FASHION_MNIST_CLASSES]
    assert html.escape(f"10 个：{'、'.join(chinese_names)}") in document
    assert document.count(">0.500</text>") == 10 and all(f">{html.escape(name)}</text>" in document
                                                         for name in chinese_names)
    assert_chinese(document, "report.card", "report.training", "report.per_class", "report.f1_per_class",
                   "report.loss", "report.accuracy", "report.epoch", "report_text.curves_note")
    assert f"在测试集上的准确率为 {card.accuracy:.1%}，n = {card.metrics.n:,}" in document
    assert_no_english_label(document)
    assert reports.outside_references(document) == []


def test_an_autoencoder_s_card_shows_its_error_per_class_in_both_languages():
    from tests.support.registries import tiny_autoencoder_card

    card = tiny_autoencoder_card()
    english, chinese = report.model_report(card), report.model_report(card, language="zh-CN")
    assert section_ids(english) == section_ids(chinese) == ["card", "training", "per-class"]
    assert "<th scope=\"row\">Reconstruction error</th><td>reconstruction error 0.0500" in english
    assert english.count(">0.0500</text>") == chinese.count(">0.0500</text>") == 10
    assert "Hardest to rebuild: 0 (0.0500)" in english and "records no per-class scores" not in english
    assert "在测试集上的重建误差为 0.0500（均方误差，像素取值 0..1），n = 10,000" in chinese
    assert_no_english_label(chinese)


def test_the_command_writes_a_chinese_report_with_lang(fresh_registry, digit_png_file, tmp_path, capsys):
    card_file, prediction_file = tmp_path / "card.html", tmp_path / "seven.html"
    assert cli.main(["report", "--model", "tiny-cnn", "--lang", "zh-CN", "--output", str(card_file)]) == 0
    assert cli.main(["report", "--model", "tiny-cnn", "--method", "saliency", "--lang", "zh-CN",
                     "--output", str(prediction_file), str(digit_png_file)]) == 0
    card_document = card_file.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in card_document and f"<h2>{CHINESE('report.card')}</h2>" in card_document
    document = prediction_file.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in document and f"<h2>{CHINESE('report.prediction')}</h2>" in document
    assert "的 Saliency</h3>" in document
    assert_no_english_label(document)
    assert cli.main(["report", "--model", "tiny-cnn", "--output", str(card_file)]) == 0  # Without --lang: English.
    assert '<html lang="en">' in card_file.read_text(encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["report", "--model", "tiny-cnn", "--lang", "fr", "--output", str(card_file)]) == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# An autoencoder's run.


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    """A finished autoencoder run (a code of 2 numbers, 200 Fashion-MNIST images, two epochs): `(runs folder, id)`."""
    with reports.finished_run_in(tmp_path_factory.mktemp("autoencoder-runs"), TINY_AUTOENCODER_RUN) as run:
        yield run


@pytest.mark.slow
def test_an_autoencoder_run_report_shows_its_settings_curves_error_and_what_it_rebuilds(autoencoder_run):
    folder, run_id = autoencoder_run
    outcome = jobs.result(run_id, runs_dir=folder)
    assert outcome["task"] == "reconstruction"
    document = report.run_report(run_id, runs_dir=folder)
    assert section_ids(document) == ["run", "curves", "reconstruction", "rebuilt"]
    assert reports.outside_references(document) == [] and '<meta charset="utf-8">' in document
    assert "Test accuracy" not in document and "Confusion matrix" not in document
    # The settings, and the error measured on the test split.
    for key, value in jobs.read_config(run_id, runs_dir=folder).items():
        assert f"<td>{key}</td><td>{'-' if value is None else value}</td>" in document
    assert f"<b>{outcome['reconstruction_mse']:.4f}</b>Reconstruction error (MSE)" in document
    assert f"Measured on the {outcome['n']:,} images of the test split" in document
    # The curves: training and validation error per epoch, and the smoothed batch error.
    assert "Reconstruction error (lower is better)" in document and document.count("<polyline") == 3
    # The error per class: a bar each, its error written beside it, the worst one named.
    for row in outcome["per_class"]:
        assert f">{row['mse']:.4f}</text>" in document
    worst = max(outcome["per_class"], key=lambda row: row["mse"])
    assert f"Hardest to rebuild: {worst['class']} ({worst['mse']:.4f})" in document
    # Test images beside what the run's model rebuilds: the first ones, then the worst, with their error.
    indices = rebuilt.pair_indices(outcome)
    assert indices == list(dict.fromkeys([*range(6), *(row["index"] for row in outcome["worst"][:6])]))
    data = datasets.load("fashion-mnist")
    model = jobs.load_run_model(run_id, runs_dir=folder)
    errors = reconstruction.squared_errors(data.x_test[indices], reconstruction.reconstruct(model, data.x_test[indices]))
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", document.split('id="rebuilt"')[1])
    assert captions == [html.escape(f"{data.class_names[int(data.y_test[index])]}: {error:.3f}")
                        for index, error in zip(indices, errors, strict=True)]
    shown = image_sources(document)
    first = shown[html.unescape(captions[0])]
    assert first.shape == (112, 112 * 2 + 4, 3)  # 28 x 28 enlarged 4 times, twice, with a 4-pixel gap.
    assert np.array_equal(first[:, :112, 0], np.kron(data.x_test[indices[0]][..., 0], np.ones((4, 4), np.uint8)))


@pytest.mark.slow
def test_an_autoencoder_run_report_in_chinese(autoencoder_run):
    folder, run_id = autoencoder_run
    outcome = jobs.result(run_id, runs_dir=folder)
    # The app asks with the mistakes it found, none for an autoencoder: the pairs are made all the same.
    document = report.run_report(run_id, runs_dir=folder, language="zh-CN", cases=[])
    assert document.count("<img") == len(rebuilt.pair_indices(outcome))
    assert '<html lang="zh-CN">' in document and reports.outside_references(document) == []
    assert re.findall(r"<h2>([^<]*)</h2>", document) == [CHINESE(key) for key in (
        "report.run", "report.curves", "report.reconstruction", "report.rebuilt")]
    assert_chinese(document, "report.test_error", "report.pixel_off", "report.training_time",
                   "report.reconstruction_loss", "report.training_error", "report.validation_error",
                   "report.error_per_class", "report_text.rebuilt_note", "report_status.done")
    assert_no_english_label(document)
    for row in outcome["per_class"]:  # The bars' classes in Chinese.
        assert f">{html.escape(CHINESE.class_name(row['class']))}</text>" in document


@pytest.mark.slow
def test_an_autoencoder_run_whose_model_is_damaged_still_reports_its_error(autoencoder_run, tmp_path):
    folder, run_id = autoencoder_run
    copy = reports.copy_with_damaged_model(folder, run_id, tmp_path / "runs")
    document = report.run_report(run_id, runs_dir=tmp_path / "runs")
    assert section_ids(document) == ["run", "curves", "reconstruction", "rebuilt"]
    assert "The run&#x27;s model could not be loaded, so what it rebuilds is not shown: The model file of run" in document
    assert "<img" not in document
    state = json.loads((copy / jobs.STATUS_FILE).read_text())
    (copy / jobs.STATUS_FILE).write_text(json.dumps({**state, "status": "cancelled", "reason": None}))
    (copy / jobs.RESULT_FILE).unlink()
    chinese = report.run_report(run_id, runs_dir=tmp_path / "runs", language="zh-CN")
    assert section_ids(chinese) == ["run", "curves"]
    assert "这个训练任务的状态是：已取消。" in chinese


def test_the_examples_in_the_docstrings_hold():
    results = doctest.testmod(text)
    assert results.failed == 0 and results.attempted > 0


def test_the_words_of_every_family_exist_in_both_languages():
    for family in (text.STATUSES, text.SPLITS, text.PREPROCESSING, text.METHODS, text.VERDICTS):
        for key in family.values():
            assert texts.catalog("en")[key] and texts.catalog("zh-CN")[key] != texts.catalog("en")[key], key
    assert set(text.STATUSES) == {jobs.QUEUED, jobs.RUNNING, jobs.DONE, jobs.FAILED, jobs.CANCELLED}
    assert set(text.VERDICTS) == set(verdict.LEVELS)
    assert text.words("zh-CN").status("paused") == "paused"  # Unknown values stay as they are.


def test_the_english_catalog_says_what_the_explainers_and_the_trust_verdicts_say():
    """The catalog's English copies of sentences written elsewhere stay the same as their source."""
    for method, key in text.METHODS.items():
        assert texts.ENGLISH(key) == explain.EXPLAINERS[method].description, method
    cases = {"unclear": (0.05, 0.1, 0.9, 0.5, 0.5, 0.1), "trustworthy": (0.9, 0.1, 0.9, 0.5, 0.5, 0.1),
             "partly": (0.9, 0.1, 0.9, 0.5, 0.5, 0.9), "doubtful": (0.9, 0.5, 0.5, 0.5, 0.5, 0.1),
             "untrustworthy": (0.9, 0.5, 0.5, 0.5, 0.5, 0.9)}
    chinese = text.words("zh-CN")
    for level, values in cases.items():
        judged, sentence = verdict.judge(*values)
        step = types.SimpleNamespace(spearman=values[-1])
        check = types.SimpleNamespace(level=judged, verdict=sentence, probability=values[0], randomization=(step,))
        english = texts.ENGLISH(text.VERDICTS[level], probability=f"{values[0]:.0%}",
                                scrambled=texts.ENGLISH("verdicts.scrambled", correlation=f"{values[-1]:.2f}"))
        assert (judged, english) == (level, sentence)
        assert text.ENGLISH.verdict(check) == sentence
        assert chinese.verdict(check) == CHINESE(text.VERDICTS[level], probability=f"{values[0]:.0%}", scrambled=(
            CHINESE("verdicts.scrambled", correlation=f"{values[-1]:.2f}")))
        assert ("5%" in chinese.verdict(check)) == (level == "unclear")
        assert ("0.90" in chinese.verdict(check)) == (level in ("partly", "untrustworthy"))
