"""The report of a training run: its settings, its curves, the confusion matrix, the per-class metrics and its mistakes.

It reads the run's folder (`jobs`: status, config, progress events and `result.json`). The
mistakes need the run's model to draw their heatmaps: a caller that has them (the app, from
its cache) passes them in; otherwise they are computed here, and a model that cannot be
loaded leaves a sentence in their place.
"""

import imgrec
from imgrec import datasets, jobs, mistakes, registry
from imgrec.report import charts, document, model, pictures, text

MISTAKES_SHOWN = 12  # As the results page: the most confident mistakes, of the 32 the run keeps.
MISTAKE_SIDE = 112  # Pixels on a side of each enlarged test image and its heatmap.
ROC_CLASSES_DRAWN = 20  # More curves than this are a tangle; the AUC column of the table still lists every class.


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


def _settings_section(run_id, view, config, outcome):
    body = []
    if outcome is not None:
        training = outcome.get("training") or {}
        body.append(document.headline([
            (text.label("test_accuracy"), text.percent(outcome["accuracy"], 2)),
            (text.label("macro_f1"), text.decimal(outcome.get("macro_f1"))),
            (text.label("roc_auc"), text.decimal(outcome.get("roc_auc"), 4)),
            (text.label("training_time"), text.headline_time(training.get("seconds"),
                                                             training.get("samples_per_second"))),
        ]))
        body.append(document.paragraph(text.measured_on(outcome["n"], outcome["split"]), note=True))
    elif view["status"] != jobs.DONE:
        body.append(document.verdict(text.run_not_done(view["status"], view.get("reason"))))
    else:
        body.append(document.paragraph(text.no_result(), note=True))
    body.append(document.facts([(text.label("run_id"), run_id), (text.label("status"), view["status"]),
                                (text.label("reason"), view.get("reason"))]))
    body.append(document.table([text.label("setting"), text.label("value")],
                               [(key, text.label("none") if value is None else str(value))
                                for key, value in config.items()]))
    return document.section(text.label("run"), *body, name="run")


def _curves_section(epochs, batches):
    return document.section(text.label("curves"), model.curves(epochs, batches),
                            document.paragraph(text.curves_note(), note=True), name="curves")


def _confusion_section(outcome):
    names = outcome["class_names"]
    chart = charts.matrix(outcome["confusion"], names, title=text.label("confusion"),
                          row_label=text.label("true_class"), column_label=text.label("predicted_class"))
    return document.section(text.label("confusion"), document.figure(chart, text.confusion_note()), name="confusion")


def _per_class_section(outcome):
    aucs = outcome.get("roc_auc_per_class") or [None] * len(outcome["per_class"])
    rows = [(row["class"], text.decimal(row["precision"]), text.decimal(row["recall"]), text.decimal(row["f1"]),
             text.count(row["support"]), text.decimal(auc, 4))
            for row, auc in zip(outcome["per_class"], aucs, strict=False)]
    body = [document.table([text.label(key) for key in ("class", "precision", "recall", "f1", "support", "auc")],
                           rows, numeric=(1, 2, 3, 4, 5))]
    curves = outcome.get("roc_curves")
    if curves and len(curves) <= ROC_CLASSES_DRAWN:
        series = [(f"{curve['class']} ({text.label('auc')} {curve['auc']:.3f})", curve["fpr"], curve["tpr"])
                  for curve in curves]
        series.append((text.label("chance"), [0, 1], [0, 1], charts.REFERENCE))
        chart = charts.lines(series, title=text.label("roc"), x_label=text.label("false_positive_rate"),
                             y_label=text.label("true_positive_rate"), x_range=(0, 1), y_range=(0, 1),
                             width=400, height=380, markers=False)
        body.append(document.figure(chart, text.roc_note()))
    return document.section(text.label("per_class"), *body, name="per-class")


def _mistakes_section(outcome, cases, error):
    heading = text.mistakes_heading(outcome.get("misclassified_count", 0), outcome["n"])
    if error is not None:
        return document.section(heading, document.paragraph(text.mistakes_unavailable(error)), name="mistakes")
    if not cases:
        return document.section(heading, document.paragraph(text.no_mistakes()), name="mistakes")
    items = []
    for case in cases:
        seen = pictures.enlarged(case.image, MISTAKE_SIDE)
        caption = text.mistake_caption(case.true_label, case.predicted_label, case.confidence)
        pair = pictures.side_by_side(seen, pictures.overlaid(case.image, case.heatmap, MISTAKE_SIDE))
        items.append(document.figure(pictures.picture(pictures.compact_url(pair), caption), caption))
    return document.section(heading, document.paragraph(text.mistakes_note(cases[0].explainer), note=True),
                            document.grid(items, 4), name="mistakes")


def run_report(run_id, *, runs_dir=None, cases=None, when=None):
    """Returns the report of a training run as one self-contained HTML document.

    Args:
        run_id: the run's id.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.
        cases: the run's mistakes with heatmaps (`mistakes.Case`s), when the caller has them.
            Defaults to `None`: computed here from the run's model (`mistake_cases`).
        when: the time it was made (`datetime`, UTC). Defaults to `None`: now.

    Returns:
        The HTML as a `str`.

    Raises:
        jobs.JobError: for an invalid or unknown run id.
    """
    view = jobs.status(run_id, runs_dir=runs_dir)
    config = jobs.read_config(run_id, runs_dir=runs_dir)
    events, _ = jobs.read_metrics(run_id, runs_dir=runs_dir)
    epochs = [event for event in events if event.get("event") == "epoch"]
    batches = [event for event in events if event.get("event") == "batch"]
    outcome = jobs.result(run_id, runs_dir=runs_dir)
    sections = [_settings_section(run_id, view, config, outcome)]
    if epochs or batches:
        sections.append(_curves_section(epochs, batches))
    if outcome is not None:
        error = None
        if cases is None:
            try:
                cases = mistake_cases(run_id, outcome, runs_dir=runs_dir)
            except (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable) as problem:
                error = str(problem)
        sections += [_confusion_section(outcome), _per_class_section(outcome), _mistakes_section(outcome, cases, error)]
    return document.page(
        text.run_title(run_id),
        text.run_subtitle(config.get("architecture"), config.get("dataset"), view["status"]),
        sections, facts_line=text.made_by(imgrec.__version__, when),
    )
