"""The report of a model: its card (what it is, what it measured), its training curves and its F1 per class.

Everything comes from the card (`registry.ModelCard`): no model is loaded. The card's
section is shared with the report of a prediction.
"""

import imgrec
from imgrec import figures
from imgrec.report import charts, document, text


def card_facts(card):
    """Returns the card as a table: what the model is, what it takes, what it measured and where it comes from."""
    metrics = card.metrics
    training = card.training
    rows = [
        (text.label("name"), card.name),
        (text.label("title"), card.title),
        (text.label("summary"), card.summary),
        (text.label("architecture"), card.architecture),
        (text.label("dataset"), card.dataset),
        (text.label("input"), text.input_spec(card.input.shape, card.input.color_mode, card.input.range)),
        (text.label("preprocessing"), text.preprocessing(card.preprocessing.kind, card.preprocessing.invert,
                                                         card.preprocessing.normalisation, card.preprocessing.resize)),
        (text.label("classes"), text.class_list(list(card.class_names))),
        (text.label("parameters"), text.count(card.parameters) if card.parameters is not None else None),
        (text.label("file_size"), text.file_size(card.file_size) if card.file_size is not None else None),
        (text.label("measured"), card.score_text()),  # An autoencoder: its reconstruction error.
    ]
    if metrics is not None:
        rows += [
            (text.label("macro_f1"), text.decimal(metrics.macro_f1) if metrics.macro_f1 is not None else None),
            (text.label("roc_auc"), text.decimal(metrics.roc_auc, 4) if metrics.roc_auc is not None else None),
            (text.label("top5"), text.percent(metrics.top5_accuracy) if metrics.top5_accuracy is not None else None),
        ]
    if training is not None and training.config:
        rows.append((text.label("trained"), text.training_summary(
            training.config, training.seconds, training.samples_per_second, training.train_samples,
            training.validation_samples)))
        rows += [(text.label("data_source"), training.dataset_source), (text.label("machine"), training.machine)]
    if card.source is not None:
        rows.append((text.label("weights_source"),
                     text.weights_source(card.source.package, card.source.version, card.source.licence)))
    if card.imported is not None:
        rows.append((text.label("imported"), text.imported_from(card.imported.file_name, card.imported.file_size)))
    rows += [
        (text.label("created"), text.created(card.created, card.keras_version)),
        (text.label("sha256"), card.sha256),
    ]
    return document.facts(rows)


def card_section(card):
    """The card's section: its facts as a table."""
    return document.section(text.label("card"), card_facts(card), name="card")


def curves(epochs, batches=()):
    """Loss and accuracy per epoch, training against validation (and the smoothed batch loss), as two charts side by side."""
    epochs = [record for record in epochs or () if isinstance(record, dict)]
    numbers = [int(record.get("epoch", index + 1)) for index, record in enumerate(epochs)]
    loss_series, accuracy_series = [], []
    for key, name, target in (("loss", "training_loss", loss_series), ("val_loss", "validation_loss", loss_series),
                              ("accuracy", "training_accuracy", accuracy_series),
                              ("val_accuracy", "validation_accuracy", accuracy_series)):
        if any(key in record for record in epochs):
            target.append((text.label(name), numbers, [record.get(key, float("nan")) for record in epochs]))
    batches = [record for record in batches or () if isinstance(record, dict) and "loss" in record]
    if batches:
        steps = max(int(record.get("batch", 1)) for record in batches) or 1
        positions = [int(record.get("epoch", 1)) - 1 + int(record.get("batch", 0)) / steps for record in batches]
        smoothed = figures.smooth([float(record["loss"]) for record in batches])
        loss_series.append((text.label("batch_loss"), positions, smoothed))
    x_range = (0 if batches else min(numbers, default=1), max(numbers, default=1))
    loss = charts.lines(loss_series, title=text.label("loss"), x_label=text.label("epoch"),
                        y_label=text.label("loss_axis"), x_range=x_range)
    accuracy = charts.lines(accuracy_series, title=text.label("accuracy"), x_label=text.label("epoch"),
                            y_label=text.label("accuracy_axis"), y_range=(0, 1), x_range=x_range)
    return document.row(document.figure(loss), document.figure(accuracy))


def training_section(card):
    """The training curves the card records, or a sentence saying it records none."""
    history = card.training.history if card.training is not None else None
    if not history:
        return document.section(text.label("training"), document.paragraph(text.no_history(), note=True),
                                name="training")
    return document.section(text.label("training"), curves(history),
                            document.paragraph(text.curves_note(), note=True), name="training")


def f1_bars(per_class_f1):
    """F1 per class as bars, in the card's order, each score written beside its bar."""
    names = list(per_class_f1)
    return charts.bars(names, [per_class_f1[name] for name in names], title=text.label("f1_per_class"),
                       value_text=text.decimal)


def per_class_section(card):
    """F1 per class on the test split, or a sentence saying the card records none."""
    per_class = card.metrics.per_class_f1 if card.metrics is not None else None
    if not per_class:
        return document.section(text.label("per_class"), document.paragraph(text.no_per_class(), note=True),
                                name="per-class")
    return document.section(text.label("per_class"),
                            document.figure(f1_bars(per_class), text.label("f1_per_class")), name="per-class")


def model_report(card, *, when=None):
    """Returns the report of a model's card as one self-contained HTML document.

    Args:
        card: a `registry.ModelCard`.
        when: the time it was made (`datetime`, UTC). Defaults to `None`: now.

    Returns:
        The HTML as a `str`.
    """
    title = card.display_title or card.name
    return document.page(
        text.model_title(title), text.model_subtitle(card.summary, card.score_text()),
        [card_section(card), training_section(card), per_class_section(card)],
        facts_line=text.made_by(imgrec.__version__, when),
    )
