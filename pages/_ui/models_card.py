"""The Models page's registry table and its Card tab: what each model is and what it measured."""

import streamlit as st

from imgrec import figures, registry
from pages._ui import charts, i18n, models, report_download, views
from pages._ui.i18n import t

ORIGINS = {"shipped": "models_card.shipped", "imported": "models_card.imported", "trained": "models_card.trained"}


def registry_table(cards):
    """Every model as a row: name, architecture, dataset, classes, size, its measured score and where it came from.

    The score is a classifier's test accuracy or an autoencoder's reconstruction error (MSE),
    as text in one column, so the seven columns fit the page at 1280 pixels; where it was
    measured, the file size and the creation time are on the model's card below.
    """
    name, architecture, dataset, classes, parameters, test_score, origin_column = (
        t("models_card.column_name"), t("models_card.column_architecture"), t("models_card.column_dataset"),
        t("models_card.column_classes"), t("models_card.column_parameters"), t("models_card.column_score"),
        t("models_card.column_origin"))
    rows = []
    for card in cards:
        rows.append({
            name: card.name, architecture: card.architecture, dataset: card.dataset,
            classes: len(card.class_names) if card.is_classifier else None, parameters: card.parameters,
            test_score: score(card), origin_column: t(ORIGINS[origin(card)]),
        })
    st.dataframe(rows, hide_index=True, column_config={
        parameters: st.column_config.NumberColumn(format="localized"),
        test_score: st.column_config.TextColumn(help=t("models_card.score_help")),
        origin_column: st.column_config.TextColumn(help=t("models_card.origin_help")),
    })


def score(card):
    """A model's measured score in a few characters: "99.4%" (accuracy), "MSE 0.0438", or "-" when unmeasured."""
    if card.is_classifier:
        return views.percent(card.accuracy)
    return f"MSE {card.reconstruction_mse:.4f}" if card.reconstruction_mse is not None else "-"


def origin(card):
    """Where a model came from, in one word (the column fits 1280 pixels): shipped, imported or trained (here).

    The word is an id (`ORIGINS` names it in the session's language).
    """
    if registry.is_protected(card):
        return "shipped"
    return "imported" if card.imported is not None else "trained"


def card_tab(card):
    """The card: headline numbers, the training curves, F1 per class and the card in full."""
    columns = st.columns(4)
    if card.is_classifier:
        columns[0].metric(t("models_card.accuracy"), views.percent(card.accuracy), help=models.score_text(card))
    else:
        error = card.reconstruction_mse
        columns[0].metric(t("models_card.error"), f"{error:.4f}" if error is not None else "-",
                          help=models.score_text(card))
    columns[1].metric(t("models_card.parameters"), f"{card.parameters:,}" if card.parameters is not None else "-")
    columns[2].metric(t("models_card.file_size"), views.size_text(card.file_size) or "-")
    columns[3].metric(t("models_card.classes"), len(card.class_names) if card.is_classifier
                      else t("models_card.no_classes"))
    report_download.model_button(card)
    st.markdown(f"**{card.display_title}.** {models.summary_text(card)}")
    created = t("models_card.created", when=card.created) if card.created else t("models_card.created_unknown")
    keras = t("models_card.with_keras", version=card.keras_version) if card.keras_version else ""
    st.caption(t("models_card.measured", score=models.score_text(card), created=created, keras=keras))
    if card.imported is not None:
        upload = card.imported
        st.caption(t("models_card.imported_from", file=upload.file_name or t("models_card.a_file"),
                     size=views.size_text(upload.file_size), keras=upload.keras_version,
                     sha=(upload.sha256 or "")[:16]))
    history = card.training.history if card.training is not None else None
    metrics = card.metrics
    per_class = (metrics.per_class_f1 if card.is_classifier else metrics.per_class_mse) if metrics else None
    score, meaning = (t("models_card.f1"), t("models_card.f1_meaning")) if card.is_classifier else (
        t("models_card.error_column"), t("models_card.error_meaning"))
    curves, scores = st.columns([3, 1], gap="medium")
    if history:
        charts.show(figures.training_curves(history, texts=i18n.texts_now()), key="card-curves", where=curves)
    if per_class:
        with scores:
            class_column = t("models_card.class")
            number_format = "%.3f" if card.is_classifier else "%.4f"
            st.dataframe([{class_column: i18n.class_name(name), score: value} for name, value in per_class.items()],
                         hide_index=True, column_config={score: st.column_config.NumberColumn(format=number_format)})
            st.caption(meaning)
    with st.expander(t("models_card.in_full")):
        st.json(card.to_json(), expanded=2)
