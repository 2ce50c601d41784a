"""The report of a model: its card (what it is, what it measured), its training curves and its F1 per class.

Everything comes from the card (`registry.ModelCard`): no model is loaded. The card's
section is shared with the report of a prediction.
"""

import imgrec
from imgrec import figures
from imgrec.report import charts, document, rebuilt, text


def card_facts(card, words=text.ENGLISH):
    """Returns the card as a table: what the model is, what it takes, what it measured and where it comes from."""
    metrics = card.metrics
    training = card.training
    rows = [
        (words("report.name"), card.name),
        (words("report.title"), card.title),
        (words("report.summary"), card.summary),
        (words("report.architecture"), card.architecture),
        (words("report.dataset"), card.dataset),
        (words("report.input"), words.input_spec(card.input.shape, card.input.color_mode, card.input.range)),
        (words("report.preprocessing"), words.preprocessing(card.preprocessing.kind, card.preprocessing.invert,
                                                            card.preprocessing.normalisation,
                                                            card.preprocessing.resize)),
        (words("report.classes"), words.class_list(list(card.class_names))),
        (words("report.parameters"), words.count(card.parameters) if card.parameters is not None else None),
        (words("report.file_size"), words.file_size(card.file_size) if card.file_size is not None else None),
        (words("report.measured") if card.is_classifier else words("report.measured_error"), words.score(card)),
    ]
    if metrics is not None:
        rows += [
            (words("report.macro_f1"), words.decimal(metrics.macro_f1) if metrics.macro_f1 is not None else None),
            (words("report.roc_auc"), words.decimal(metrics.roc_auc, 4) if metrics.roc_auc is not None else None),
            (words("report.top5"),
             words.percent(metrics.top5_accuracy) if metrics.top5_accuracy is not None else None),
        ]
    if training is not None and training.config:
        rows.append((words("report.trained"), words.training_summary(
            training.config, training.seconds, training.samples_per_second, training.train_samples,
            training.validation_samples)))
        rows += [(words("report.data_source"), training.dataset_source), (words("report.machine"), training.machine)]
    if card.source is not None:
        rows.append((words("report.weights_source"),
                     words.weights_source(card.source.package, card.source.version, card.source.licence)))
    if card.imported is not None:
        rows.append((words("report.imported"), words.imported_from(card.imported.file_name, card.imported.file_size)))
    rows += [
        (words("report.created"), words.created(card.created, card.keras_version)),
        (words("report.sha256"), card.sha256),
    ]
    return document.facts(rows)


def card_section(card, words=text.ENGLISH):
    """The card's section: its facts as a table."""
    return document.section(words("report.card"), card_facts(card, words), name="card")


# The series of the curves: (the history's key, its label's catalog key, which chart).
CLASSIFIER_SERIES = (("loss", "report.training_loss", "loss"), ("val_loss", "report.validation_loss", "loss"),
                     ("accuracy", "report.training_accuracy", "accuracy"),
                     ("val_accuracy", "report.validation_accuracy", "accuracy"))
# An autoencoder's loss is its reconstruction error: the lines are named by the images they were measured on.
RECONSTRUCTION_SERIES = (("loss", "report.training_error", "loss"), ("val_loss", "report.validation_error", "loss"))


def curves(epochs, batches=(), words=text.ENGLISH, *, reconstruction=False):
    """The curves per epoch, training against validation (and the smoothed batch loss).

    A classifier's loss and accuracy are two charts side by side; an autoencoder's
    (`reconstruction=True`) is one chart of its reconstruction error.
    """
    epochs = [record for record in epochs or () if isinstance(record, dict)]
    numbers = [int(record.get("epoch", index + 1)) for index, record in enumerate(epochs)]
    series = {"loss": [], "accuracy": []}
    for key, name, chart in RECONSTRUCTION_SERIES if reconstruction else CLASSIFIER_SERIES:
        if any(key in record for record in epochs):
            series[chart].append((words(name), numbers, [record.get(key, float("nan")) for record in epochs]))
    batches = [record for record in batches or () if isinstance(record, dict) and "loss" in record]
    if batches:
        steps = max(int(record.get("batch", 1)) for record in batches) or 1
        positions = [int(record.get("epoch", 1)) - 1 + int(record.get("batch", 0)) / steps for record in batches]
        smoothed = figures.smooth([float(record["loss"]) for record in batches])
        series["loss"].append((words("report.batch_loss"), positions, smoothed))
    x_range = (0 if batches else min(numbers, default=1), max(numbers, default=1))
    if reconstruction:
        return document.figure(charts.lines(
            series["loss"], title=words("report.reconstruction_loss"), x_label=words("report.epoch"),
            y_label=words("report.reconstruction_axis"), x_range=x_range, width=640, height=280))
    loss = charts.lines(series["loss"], title=words("report.loss"), x_label=words("report.epoch"),
                        y_label=words("report.loss_axis"), x_range=x_range)
    accuracy = charts.lines(series["accuracy"], title=words("report.accuracy"), x_label=words("report.epoch"),
                            y_label=words("report.accuracy_axis"), y_range=(0, 1), x_range=x_range)
    return document.row(document.figure(loss), document.figure(accuracy))


def training_section(card, words=text.ENGLISH):
    """The training curves the card records, or a sentence saying it records none."""
    history = card.training.history if card.training is not None else None
    if not history:
        return document.section(words("report.training"),
                                document.paragraph(words("report_text.no_history"), note=True), name="training")
    if not card.is_classifier:
        return document.section(words("report.training"), curves(history, (), words, reconstruction=True),
                                document.paragraph(words("report_text.reconstruction_curves_note"), note=True),
                                name="training")
    return document.section(words("report.training"), curves(history, (), words),
                            document.paragraph(words("report_text.curves_note"), note=True), name="training")


def f1_bars(per_class_f1, words=text.ENGLISH):
    """F1 per class as bars, in the card's order, each score written beside its bar."""
    names = list(per_class_f1)
    return charts.bars([words.class_name(name) for name in names], [per_class_f1[name] for name in names],
                       title=words("report.f1_per_class"), value_text=words.decimal)


def per_class_section(card, words=text.ENGLISH):
    """F1 per class on the test split (an autoencoder's error per class), or a sentence saying the card records none."""
    if not card.is_classifier:
        bars = rebuilt.error_bars(card.metrics.per_class_mse if card.metrics is not None else None, words)
        if bars:
            return document.section(words("report.per_class"), *bars, name="per-class")
    per_class = card.metrics.per_class_f1 if card.metrics is not None else None
    if not per_class:
        return document.section(words("report.per_class"),
                                document.paragraph(words("report_text.no_per_class"), note=True), name="per-class")
    return document.section(words("report.per_class"),
                            document.figure(f1_bars(per_class, words), words("report.f1_per_class")),
                            name="per-class")


def model_report(card, *, when=None, language="en"):
    """Returns the report of a model's card as one self-contained HTML document.

    Args:
        card: a `registry.ModelCard`.
        when: the time it was made (`datetime`, UTC). Defaults to `None`: now.
        language: the report's language, one of `texts.LANGUAGES` ("en", "zh-CN"). Defaults to `"en"`.

    Returns:
        The HTML as a `str`.

    Raises:
        ValueError: for a language the catalogs do not have.
    """
    words = text.words(language)
    title = card.display_title or card.name
    return document.page(
        words("report_text.model_title", model=title), words.model_subtitle(card.summary, words.score(card)),
        [card_section(card, words), training_section(card, words), per_class_section(card, words)],
        facts_line=words.made_by(imgrec.__version__, when), language=words.language,
    )
