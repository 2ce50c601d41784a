"""The reports (imgrec.report) and the `report` command: every section there, every name escaped, nothing outside the file."""

import base64
import dataclasses
import doctest
import html
import io
import json
import re
import types

import numpy as np
import pytest
from PIL import Image

from imgrec import cli, datasets, explain, images, jobs, registry, report, trust
from imgrec.report import charts, markup, pictures
from tests.support import reports

# Names that would run script or break the page if a report inserted them as they are.
HOSTILE = '<script>alert("x")</script>'
HOSTILE_CLASSES = tuple(f"<b>{digit}</b>&amp;\"'" for digit in range(10))
TINY_RUN = {"architecture": "cnn", "dataset": "digits", "max_samples": 200, "epochs": 2, "batch_size": 32}


def section_ids(document):
    return re.findall(r'<section id="([^"]+)"', document)


def image_sources(document):
    """`{alt text: decoded RGB array}` of every image in the document."""
    found = {}
    for alternative, url in re.findall(r'<img alt="([^"]*)" src="(data:[^"]+)"', document) + [
            (alternative, url) for url, alternative in re.findall(r'<img src="(data:[^"]+)" alt="([^"]*)"', document)]:
        data = base64.b64decode(url.split(",", 1)[1])
        found[html.unescape(alternative)] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return found


def assert_self_contained(document):
    assert reports.outside_references(document) == []
    assert document.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in document


def assert_escaped(document, *texts):
    """Each text is in the document only escaped: its raw form never is."""
    for value in texts:
        assert html.escape(value, quote=True) in document, value
        assert value not in document, value


# ---------------------------------------------------------------------------------------
# Markup and charts.


def test_the_examples_in_the_docstrings_hold():
    for module in (markup, charts):
        results = doctest.testmod(module)
        assert results.failed == 0 and results.attempted > 0, module.__name__


def test_element_escapes_text_and_attributes_but_not_built_markup():
    built = markup.element("p", HOSTILE, markup.element("b", "bold"), None, 3, title=HOSTILE, hidden=True,
                           missing=None, class_="note", font_size=1.25)
    assert built == ('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" hidden class="note" '
                     'font-size="1.25">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<b>bold</b>3</p>')
    assert markup.element("img", src="data:,", alt="") == '<img src="data:," alt="">'
    assert markup.element("rect", x=0.123456) == '<rect x="0.12"/>'


def test_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 2.3) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert charts.nice_ticks(1, 6) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert charts.nice_ticks(0.0, 0.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]  # A flat series still gets an axis.
    with pytest.raises(ValueError, match="finite"):
        charts.nice_ticks(0, float("nan"))


def test_a_line_breaks_at_a_missing_value_and_each_series_has_its_own_dash():
    chart = charts.lines([("a", [1, 2, 3, 4], [0.1, float("nan"), 0.3, 0.4]), ("b", [1, 2], [0.2, 0.3])],
                         title="t", x_label="x", y_label="y")
    assert chart.count("<polyline") == 3  # "a" in two pieces around the gap, "b" in one.
    dashes = re.findall(r'<polyline points="[^"]*" fill="none" stroke="[^"]*" stroke-width="2"( stroke-dasharray="[^"]*")?',
                        chart)
    assert dashes[0] == dashes[1] == "" and dashes[2]  # Told apart without colour.


def test_bars_and_matrix_refuse_mismatched_data():
    with pytest.raises(ValueError, match="2 labels but 1 values"):
        charts.bars(["a", "b"], [0.5], title="t", value_text=str)
    with pytest.raises(ValueError, match="2 x 2 matrix"):
        charts.matrix([[1, 2, 3]], ["a", "b"], title="t", row_label="r", column_label="c")


def test_the_matrix_writes_every_count_and_shades_by_the_rows_share():
    chart = charts.matrix([[8, 2], [0, 5]], ["cat", "dog"], title="t", row_label="true", column_label="predicted")
    counts = re.findall(r'text-anchor="middle" fill="[^"]+" font-size="[^"]+">(\d+)</text>', chart)
    assert counts == ["8", "2", "5"]  # Empty cells stay blank.
    fills = re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="#([0-9a-f]{6})"', chart)
    darkness = [-sum(int(fill[index:index + 2], 16) for index in (0, 2, 4)) for fill in fills]
    # Row shares 0.8, 0.2 / 0.0, 1.0: the larger the share, the darker, in grey as in colour.
    assert sorted(range(4), key=lambda cell: darkness[cell]) == [2, 1, 0, 3]


# ---------------------------------------------------------------------------------------
# A model's card.


def hostile_card(card):
    """The card with every text a user could have set replaced by markup, and a per-class score for each class."""
    return dataclasses.replace(
        card, title=HOSTILE, summary=f"{HOSTILE} summary", class_names=HOSTILE_CLASSES,
        metrics=dataclasses.replace(card.metrics, per_class_f1={name: 0.5 for name in HOSTILE_CLASSES}),
        imported=registry.ImportRecord(file_name=f"{HOSTILE}.keras", file_size=1234),
    )


def test_a_model_report_has_every_section_and_escapes_every_name(fresh_registry):
    card = hostile_card(registry.card("tiny-cnn"))
    document = report.model_report(card)
    assert section_ids(document) == ["card", "training", "per-class"]
    assert_self_contained(document)
    assert_escaped(document, HOSTILE, f"{HOSTILE} summary", f"{HOSTILE}.keras", *HOSTILE_CLASSES)
    assert f"<title>Model card: {html.escape(HOSTILE)}</title>" in document
    assert card.sha256 in document and card.accuracy_text() in document
    # The training curves: one line per epoch series the card records, and the F1 bars, one per class.
    assert document.count("<polyline") == sum(
        any(key in epoch for epoch in card.training.history) for key in ("loss", "val_loss", "accuracy", "val_accuracy"))
    assert document.count(">0.500</text>") == len(HOSTILE_CLASSES)


def test_a_model_report_says_what_its_card_does_not_record(fresh_registry):
    card = dataclasses.replace(registry.card("tiny-cnn"), training=None, metrics=None)
    document = report.model_report(card)
    assert section_ids(document) == ["card", "training", "per-class"]
    assert "records no training history" in document and "records no per-class scores" in document
    assert "accuracy not measured yet" in document and "<svg" not in document


# ---------------------------------------------------------------------------------------
# A prediction.


@pytest.fixture
def hostile_classifier(fresh_registry):
    """tiny-cnn with markup for class names."""
    loaded = registry.load("tiny-cnn")
    return registry.Classifier("tiny-cnn", dataclasses.replace(loaded.card, class_names=HOSTILE_CLASSES), loaded.model)


def test_a_prediction_report_shows_the_image_what_the_model_sees_the_top_classes_every_explanation_and_the_card(
        hostile_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    document = report.prediction_report(hostile_classifier, rgb, file_name=f"{HOSTILE}.png")
    assert section_ids(document) == ["prediction", "explanations", "card"]
    assert_self_contained(document)
    assert_escaped(document, f"{HOSTILE}.png", *HOSTILE_CLASSES)
    model_input = hostile_classifier.preprocess(rgb)
    probabilities = hostile_classifier.predict_inputs(model_input[None])[0]
    top = [HOSTILE_CLASSES[index] for index in np.argsort(-probabilities, kind="stable")[:5]]
    bar_labels = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="end" fill="#222"(?: font-weight="bold")?>([^<]*)</text>',
                            document)
    assert [html.unescape(label) for label in bar_labels[:5]] == top
    records = explain.applicable(hostile_classifier.model)
    winner = html.escape(top[0])
    for record in records:
        assert f"<h3>{html.escape(record.title)} for {winner}</h3>" in document
    shown = image_sources(document)
    assert len(shown) == 2 + 2 * len(records) - (len(records) - 1)  # Overlays share one alt text per kind.
    # What the model sees is exactly its input, enlarged 8 times with square pixels, losslessly.
    assert np.array_equal(shown["What the model sees"], pictures.enlarged(model_input, 224))
    assert shown["What the model sees"].shape == (224, 224, 3)


def test_a_prediction_report_explains_the_class_and_method_asked_for(hostile_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    probabilities = hostile_classifier.predict_proba([rgb])[0]
    least = int(np.argmin(probabilities))
    document = report.prediction_report(hostile_classifier, rgb, file_name="seven.png", methods=["saliency"],
                                        class_index=least, top=3, options={"layer": "conv1"})
    label = html.escape(HOSTILE_CLASSES[least])
    assert f"<h3>Saliency for {label}</h3>" in document and "Grad-CAM" not in document
    assert "Feature maps weighted" not in document  # Saliency weights no layer: the option is not passed to it.
    # The unlikely class is shown beside the top three, highlighted.
    assert document.count('font-weight="bold">') >= 2 and f'font-weight="bold">{label}</text>' in document
    gradcam = report.prediction_report(hostile_classifier, rgb, file_name="seven.png", methods=["gradcam"],
                                       options={"layer": "conv1"})
    assert "Feature maps weighted: conv1." in gradcam


def test_a_prediction_report_refuses_what_does_not_apply(hostile_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    with pytest.raises(ValueError, match="'rollout' does not apply to this model; choose one of gradcam"):
        report.prediction_report(hostile_classifier, rgb, file_name="x.png", methods=["rollout"])
    with pytest.raises(ValueError, match="'magic' is not an explainer"):
        report.prediction_report(hostile_classifier, rgb, file_name="x.png", methods=["magic"])
    with pytest.raises(ValueError, match="from 0 to 9"):
        report.prediction_report(hostile_classifier, rgb, file_name="x.png", class_index=10)


def fake_trust(heatmap):
    """An object shaped like a trust check (`trust.TrustReport`): what the report reads of one."""
    def curve(probabilities):
        values = np.asarray(probabilities, dtype=np.float64)
        fractions = np.linspace(0, 1, len(values))
        return types.SimpleNamespace(fractions=fractions, probabilities=values, auc=float(np.trapezoid(values, fractions)))

    steps = tuple(types.SimpleNamespace(layer=name, spearman=value, heatmap=heatmap[::-1])
                  for name, value in ((f"{HOSTILE}dense", 0.12), ("conv2", -0.05)))
    return types.SimpleNamespace(
        verdict=f"Trustworthy {HOSTILE}.", level="trustworthy", heatmap=heatmap, randomization=steps,
        deletion=curve([0.9, 0.2, 0.1]), insertion=curve([0.1, 0.8, 0.9]),
        random_deletion=curve([0.9, 0.6, 0.1]), random_insertion=curve([0.1, 0.4, 0.9]))


def test_trust_checks_given_for_a_method_are_shown_under_its_heatmap(hostile_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    heatmap = explain.explain(hostile_classifier.model, hostile_classifier.preprocess(rgb), "gradcam", 0)
    check = fake_trust(heatmap)
    document = report.prediction_report(hostile_classifier, rgb, file_name="x.png", methods=["gradcam", "saliency"],
                                        class_index=0, trust={"gradcam": check})
    assert_self_contained(document)
    assert_escaped(document, f"Trustworthy {HOSTILE}.", f"{HOSTILE}dense scrambled: +0.12")
    assert "Can you trust the Grad-CAM heatmap for" in document and "Can you trust the Saliency" not in document
    assert f"Area under deletion {check.deletion.auc:.2f} (random {check.random_deletion.auc:.2f})" in document
    assert "conv2 scrambled: -0.05" in document
    assert document.count("<polyline") == 4  # Two curves against two random references.


def test_check_trust_computes_the_checks_the_caller_lacks(hostile_classifier, digit_png_file):
    rgb = images.read_image_file(digit_png_file)
    model_input = hostile_classifier.preprocess(rgb)
    given = fake_trust(explain.explain(hostile_classifier.model, model_input, "gradcam", 0))
    document = report.prediction_report(hostile_classifier, rgb, file_name="x.png", methods=["gradcam", "saliency"],
                                        class_index=0, trust={"gradcam": given}, check_trust=True)
    assert_self_contained(document)
    assert html.escape(given.verdict) in document  # Given: kept, not computed again.
    computed = trust.check(hostile_classifier.model, model_input, "saliency", 0)
    assert "Can you trust the Saliency heatmap for" in document and html.escape(computed.verdict) in document
    assert f"Area under deletion {computed.deletion.auc:.2f} (random {computed.random_deletion.auc:.2f})" in document
    assert document.count("<polyline") == 8


# ---------------------------------------------------------------------------------------
# A run.


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished run (a CNN on 200 digits for two epochs) in its own runs folder: `(runs folder, run id)`."""
    with reports.finished_run_in(tmp_path_factory.mktemp("report-runs"), TINY_RUN) as run:
        yield run


@pytest.mark.slow
def test_a_run_report_shows_the_settings_curves_confusion_per_class_and_mistakes(tiny_run):
    folder, run_id = tiny_run
    document = report.run_report(run_id, runs_dir=folder)
    outcome = jobs.result(run_id, runs_dir=folder)
    assert section_ids(document) == ["run", "curves", "confusion", "per-class", "mistakes"]
    assert_self_contained(document)
    assert f"{outcome['accuracy']:.2%}" in document and run_id in document
    for key, value in jobs.read_config(run_id, runs_dir=folder).items():
        assert f"<td>{key}</td><td>{'-' if value is None else value}</td>" in document
    # The confusion matrix writes every non-zero count; the table has a row per class.
    counts = [count for row in outcome["confusion"] for count in row if count]
    assert re.findall(r'font-size="[^"]+">(\d+)</text>', document) == [str(count) for count in counts]
    for row in outcome["per_class"]:
        assert f"<td>{row['class']}</td><td class=\"number\">{row['precision']:.3f}</td>" in document
    shown = min(len(outcome["misclassified"]), report.run.MISTAKES_SHOWN)
    assert f"Mistakes: {outcome['misclassified_count']:,} of {outcome['n']:,} test images" in document
    mistakes = outcome["misclassified"][:shown]
    captions = re.findall(r"<figcaption>(true [^<]*)</figcaption>", document)
    assert captions == [f"true {mistake['true_label']}, predicted {mistake['predicted_label']} "
                        f"({mistake['confidence']:.0%})" for mistake in mistakes]


@pytest.mark.slow
def test_a_run_whose_model_is_damaged_or_that_failed_still_reports_what_it_has(tiny_run, tmp_path):
    folder, run_id = tiny_run
    copy = reports.copy_with_damaged_model(folder, run_id, tmp_path / "runs")
    document = report.run_report(run_id, runs_dir=tmp_path / "runs")
    assert "The run&#x27;s model could not be loaded, so its mistakes are not shown: The model file of run" in document
    state = json.loads((copy / jobs.STATUS_FILE).read_text())
    (copy / jobs.STATUS_FILE).write_text(json.dumps({**state, "status": "failed", "reason": f"Loss {HOSTILE}."}))
    document = report.run_report(run_id, runs_dir=tmp_path / "runs")
    assert section_ids(document) == ["run", "curves"]
    assert_escaped(document, f"Loss {HOSTILE}.")


# ---------------------------------------------------------------------------------------
# The report command.


def run_command(capsys, *argv):
    code = cli.main(["report", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_writes_a_prediction_report_with_the_method_asked_for(fresh_registry, digit_png_file, tmp_path,
                                                                         capsys):
    output = tmp_path / "seven.html"
    code, out, err = run_command(capsys, "--model", "tiny-cnn", "--method", "gradcam", "--layer", "conv1",
                                 "--output", str(output), str(digit_png_file))
    assert code == 0, err
    assert out.startswith(f"{output} (") and out.rstrip().endswith("kB)")
    document = output.read_text(encoding="utf-8")
    classifier = registry.load("tiny-cnn")
    top = classifier.top_k(images.read_image_file(digit_png_file), 1)[0]
    assert section_ids(document) == ["prediction", "explanations", "card"]
    assert f"<h3>Grad-CAM for {top.label}</h3>" in document and "Saliency" not in document
    assert "Feature maps weighted: conv1." in document and digit_png_file.name in document
    assert "Can you trust" not in document
    assert_self_contained(document)


def test_the_command_checks_each_heatmap_with_trust(fresh_registry, digit_png_file, tmp_path, capsys):
    output = tmp_path / "trusted.html"
    code, _, err = run_command(capsys, "--model", "tiny-cnn", "--method", "saliency", "--class", "3", "--trust",
                               "--output", str(output), str(digit_png_file))
    assert code == 0, err
    document = output.read_text(encoding="utf-8")
    classifier = registry.load("tiny-cnn")
    model_input = classifier.preprocess(images.read_image_file(digit_png_file))
    check = trust.check(classifier.model, model_input, "saliency", 3)
    assert f"Can you trust the Saliency heatmap for {classifier.class_names[3]}?" in document
    assert html.escape(check.verdict) in document


def test_the_command_writes_a_model_report_without_an_image(fresh_registry, tmp_path, capsys):
    output = tmp_path / "card.HTML"
    code, _, err = run_command(capsys, "--model", "tiny-cnn", "--output", str(output))
    assert code == 0, err
    assert section_ids(output.read_text(encoding="utf-8")) == ["card", "training", "per-class"]


@pytest.mark.slow
def test_the_command_writes_a_run_report(tiny_run, tmp_path, capsys, monkeypatch):
    folder, run_id = tiny_run
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(folder))
    output = tmp_path / "run.html"
    code, _, err = run_command(capsys, "--run", run_id, "--output", str(output))
    assert code == 0, err
    assert section_ids(output.read_text(encoding="utf-8")) == ["run", "curves", "confusion", "per-class", "mistakes"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", "r.html"], "Give exactly one of --model NAME"),
        (["--model", "tiny-cnn", "--run", "20260101-000000-abcdef", "--output", "r.html"], "Give exactly one of"),
        (["--run", "20260101-000000-abcdef", "--output", "r.html", "IMAGE"], "A run's report takes no IMAGE"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--output", "r.html"], "--method explains a prediction"),
        (["--model", "tiny-cnn", "--class", "3", "--output", "r.html"], "--class explains a prediction"),
        (["--model", "tiny-cnn", "--top", "0", "--output", "r.html", "IMAGE"], "--top must be at least 1"),
        (["--model", "tiny-cnn", "--output", "r.pdf", "IMAGE"], "give a file name ending in .html"),
        (["--model", "tiny-cnn", "--output", "/no/such/folder/r.html", "IMAGE"], "does not exist"),
        (["--model", "tiny-cnn", "--output", "r.html", "missing.png"], "missing.png: no such file"),
        (["--model", "nope", "--output", "r.html", "IMAGE"], "no model named 'nope'"),
        (["--model", "nope", "--output", "r.html"], "no model named 'nope'"),
        (["--model", "tiny-cnn", "--method", "rollout", "--output", "r.html", "IMAGE"],
         "--method rollout does not apply to model 'tiny-cnn'"),
        (["--model", "tiny-cnn", "--method", "magic", "--output", "r.html", "IMAGE"], "Unknown --method 'magic'"),
        (["--model", "tiny-cnn", "--class", "10", "--output", "r.html", "IMAGE"], "--class must be from 0 to 9"),
        (["--model", "tiny-cnn", "--layer", "dense", "--output", "r.html", "IMAGE"],
         "--layer dense: model 'tiny-cnn' has no 2-D feature map of that name"),
        (["--model", "tiny-cnn", "--method", "saliency", "--layer", "conv1", "--output", "r.html", "IMAGE"],
         "--method saliency weights no layer"),
        (["--run", "../etc", "--output", "r.html"], "Invalid run id"),
        (["--run", "20260101-000000-abcdef", "--output", "r.html"], "20260101-000000-abcdef"),
        (["--model", "tiny-cnn", "IMAGE"], "the following arguments are required: --output"),
        (["--model", "tiny-cnn", "--trust", "--output", "r.html"], "--trust explains a prediction: give an IMAGE"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_write_nothing(fresh_registry, digit_png_file, tmp_path, monkeypatch,
                                                            capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    argv = [str(digit_png_file) if value == "IMAGE" else value for value in argv]
    code, out, err = run_command(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert list(tmp_path.glob("r.*")) == []


def test_a_sample_photo_is_stored_as_the_smaller_of_png_and_jpeg():
    photo = datasets.load_sample("photos-coffee")
    url = pictures.photo_url(photo)
    assert url.startswith("data:image/jpeg;base64,")
    stored = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert max(stored.shape[:2]) == pictures.PHOTO_SIDE
    flat = np.zeros((300, 300, 3), np.uint8)  # A flat image is smaller as PNG.
    assert pictures.photo_url(flat).startswith("data:image/png;base64,")


def test_an_autoencoder_s_report_gives_its_reconstruction_error_not_a_missing_accuracy():
    from tests.support.registries import tiny_autoencoder_card

    document = report.model_report(tiny_autoencoder_card())
    assert "reconstruction error 0.0500 (mean squared, pixels 0..1) on test, n = 10,000" in document
    assert "accuracy not measured" not in document
