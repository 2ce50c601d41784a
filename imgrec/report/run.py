"""The report of a training run: its settings, its curves, the confusion matrix, the per-class metrics and its mistakes.

It reads the run's folder (`jobs`: status, config, progress events and `result.json`). The
mistakes need the run's model to draw their heatmaps: a caller that has them (the app, from
its cache) passes them in; otherwise they are computed here, and a model that cannot be
loaded leaves a sentence in their place. An autoencoder's run (its result's task is
"reconstruction") gets the sections of `report.rebuilt` instead of a classifier's.
"""

import imgrec
from imgrec import datasets, jobs, mistakes, registry
from imgrec.report import charts, document, model, pictures, rebuilt, text

MISTAKES_SHOWN = 12  # As the results page: the most confident mistakes, of the 32 the run keeps.
MISTAKE_SIDE = 112  # Pixels on a side of each enlarged test image and its heatmap.
ROC_CLASSES_DRAWN = 20  # More curves than this are a tangle; the AUC column of the table still lists every class.
# What the loading of a run's model or test images raises when it cannot be done.
MODEL_ERRORS = (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable)


def mistake_cases(run_id, outcome, shown=MISTAKES_SHOWN, *, runs_dir=None):
    """Returns the run's most confident mistakes with heatmaps (`mistakes.Case`s), loading its model.

    Raises:
        jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable, OSError: when the
            model or the test images cannot be loaded.
    """
    indices = [mistake["index"] for mistake in (outcome.get("misclassified") or [])[:shown]]
    if not indices:
        return []
    run_model = jobs.load_run_model(run_id, runs_dir=runs_dir)
    data = datasets.load(outcome["dataset"])
    return mistakes.explain_cases(run_model, data.x_test, data.y_test, indices, data.class_names)


def _classifier_headline(outcome, words):
    training = outcome.get("training") or {}
    return document.headline([
        (words("report.test_accuracy"), words.percent(outcome["accuracy"], 2)),
        (words("report.macro_f1"), words.decimal(outcome.get("macro_f1"))),
        (words("report.roc_auc"), words.decimal(outcome.get("roc_auc"), 4)),
        (words("report.training_time"), words.headline_time(training.get("seconds"),
                                                            training.get("samples_per_second"))),
    ])


def _settings_section(run_id, view, config, outcome, words):
    body = []
    if outcome is not None:
        body.append(rebuilt.headline(outcome, words) if rebuilt.is_reconstruction(outcome)
                    else _classifier_headline(outcome, words))
        body.append(document.paragraph(words("report_text.measured_on", total=words.count(outcome["n"]),
                                             split=words.split(outcome["split"])), note=True))
    elif view["status"] != jobs.DONE:
        body.append(document.verdict(view.get("reason") or words("report_text.run_not_done",
                                                                 status=words.status(view["status"]))))
    else:
        body.append(document.paragraph(words("report_text.no_result"), note=True))
    body.append(document.facts([(words("report.run_id"), run_id), (words("report.status"), words.status(view["status"])),
                                (words("report.reason"), view.get("reason"))]))
    body.append(document.table([words("report.setting"), words("report.value")],
                               [(key, words("report.none") if value is None else str(value))
                                for key, value in config.items()]))
    return document.section(words("report.run"), *body, name="run")


def _curves_section(epochs, batches, words, reconstruction):
    note = "report_text.reconstruction_curves_note" if reconstruction else "report_text.curves_note"
    return document.section(words("report.curves"), model.curves(epochs, batches, words, reconstruction=reconstruction),
                            document.paragraph(words(note), note=True), name="curves")


def _confusion_section(outcome, words):
    names = [words.class_name(name) for name in outcome["class_names"]]
    chart = charts.matrix(outcome["confusion"], names, title=words("report.confusion"),
                          row_label=words("report.true_class"), column_label=words("report.predicted_class"))
    return document.section(words("report.confusion"), document.figure(chart, words("report_text.confusion_note")),
                            name="confusion")


def _per_class_section(outcome, words):
    aucs = outcome.get("roc_auc_per_class") or [None] * len(outcome["per_class"])
    rows = [(words.class_name(row["class"]), words.decimal(row["precision"]), words.decimal(row["recall"]),
             words.decimal(row["f1"]), words.count(row["support"]), words.decimal(auc, 4))
            for row, auc in zip(outcome["per_class"], aucs, strict=False)]
    header = [words(key) for key in ("report.class", "report.precision", "report.recall", "report.f1",
                                     "report.support", "report.auc")]
    body = [document.table(header, rows, numeric=(1, 2, 3, 4, 5))]
    curves = outcome.get("roc_curves")
    if curves and len(curves) <= ROC_CLASSES_DRAWN:
        series = [(f"{words.class_name(curve['class'])} ({words('report.auc')} {curve['auc']:.3f})", curve["fpr"],
                   curve["tpr"]) for curve in curves]
        series.append((words("report.chance"), [0, 1], [0, 1], charts.REFERENCE))
        chart = charts.lines(series, title=words("report.roc"), x_label=words("report.false_positive_rate"),
                             y_label=words("report.true_positive_rate"), x_range=(0, 1), y_range=(0, 1),
                             width=400, height=380, markers=False)
        body.append(document.figure(chart, words("report_text.roc_note")))
    return document.section(words("report.per_class"), *body, name="per-class")


def _mistakes_section(outcome, cases, error, words):
    heading = words("report_text.mistakes_heading", wrong=words.count(outcome.get("misclassified_count", 0)),
                    total=words.count(outcome["n"]))
    if error is not None:
        return document.section(heading, document.paragraph(words("report_text.mistakes_unavailable", why=error)),
                                name="mistakes")
    if not cases:
        return document.section(heading, document.paragraph(words("report_text.no_mistakes")), name="mistakes")
    items = []
    for case in cases:
        seen = pictures.enlarged(case.image, MISTAKE_SIDE)
        caption = words("report_text.mistake_caption", true=words.class_name(case.true_label),
                        predicted=words.class_name(case.predicted_label), confidence=f"{case.confidence:.0%}")
        pair = pictures.side_by_side(seen, pictures.overlaid(case.image, case.heatmap, MISTAKE_SIDE))
        items.append(document.figure(pictures.picture(pictures.compact_url(pair), caption), caption))
    return document.section(heading, document.paragraph(words("report_text.mistakes_note", method=cases[0].explainer),
                                                        note=True),
                            document.grid(items, 4), name="mistakes")


def _classifier_sections(run_id, outcome, cases, runs_dir, words):
    error = None
    if cases is None:
        try:
            cases = mistake_cases(run_id, outcome, runs_dir=runs_dir)
        except MODEL_ERRORS as problem:
            error = str(problem)
    return [_confusion_section(outcome, words), _per_class_section(outcome, words),
            _mistakes_section(outcome, cases, error, words)]


def _reconstruction_sections(run_id, outcome, cases, runs_dir, words):
    error = None
    # An autoencoder always has test images to show, so no pairs (a caller that looked for a
    # classifier's mistakes, say) means they are still to be made.
    if not cases:
        try:
            cases = rebuilt.rebuilt_cases(jobs.load_run_model(run_id, runs_dir=runs_dir), outcome)
        except MODEL_ERRORS as problem:
            error = str(problem)
    return [rebuilt.error_section(outcome, words), rebuilt.rebuilt_section(cases, error, words)]


def run_report(run_id, *, runs_dir=None, cases=None, when=None, language="en"):
    """Returns the report of a training run as one self-contained HTML document.

    A classifier's run shows its settings, curves, confusion matrix, per-class metrics and
    mistakes; an autoencoder's its settings, the curves of its reconstruction error, the error
    measured (and per class), and test images beside what it rebuilds.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.
        cases: what the caller already has of the pictures that need the run's model: a
            classifier's mistakes with heatmaps (`mistakes.Case`s), an autoencoder's pairs
            (`rebuilt.Rebuilt`s). Defaults to `None`: computed here, loading the run's model
            (for an autoencoder, an empty list too).
        when: the time it was made (`datetime`, UTC). Defaults to `None`: now.
        language: the report's language, one of `texts.LANGUAGES` ("en", "zh-CN"). Defaults to `"en"`.

    Returns:
        The HTML as a `str`.

    Raises:
        jobs.JobError: for an invalid or unknown run id.
        ValueError: for a language the catalogs do not have.
    """
    words = text.words(language)
    view = jobs.status(run_id, runs_dir=runs_dir)
    config = jobs.read_config(run_id, runs_dir=runs_dir)
    events, _ = jobs.read_metrics(run_id, runs_dir=runs_dir)
    epochs = [event for event in events if event.get("event") == "epoch"]
    batches = [event for event in events if event.get("event") == "batch"]
    outcome = jobs.result(run_id, runs_dir=runs_dir)
    reconstruction = rebuilt.is_reconstruction(outcome) or config.get("architecture") == "autoencoder"
    sections = [_settings_section(run_id, view, config, outcome, words)]
    if epochs or batches:
        sections.append(_curves_section(epochs, batches, words, reconstruction))
    if outcome is not None:
        build = _reconstruction_sections if reconstruction else _classifier_sections
        sections += build(run_id, outcome, cases, runs_dir, words)
    return document.page(
        words("report_text.run_title", run=run_id),
        words("report_text.run_subtitle", architecture=config.get("architecture"), dataset=config.get("dataset"),
              status=words.status(view["status"])),
        sections, facts_line=words.made_by(imgrec.__version__, when), language=words.language,
    )
