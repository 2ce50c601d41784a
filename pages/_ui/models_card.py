"""The Models page's registry table and its Card tab: what each model is and what it measured."""

import streamlit as st

from imgrec import figures, registry
from pages._ui import report_download, views


def registry_table(cards):
    """Every model as a row: name, architecture, dataset, classes, size, its measured score and where it came from.

    The score is a classifier's test accuracy or an autoencoder's reconstruction error (MSE),
    as text in one column, so the seven columns fit the page at 1280 pixels; where it was
    measured, the file size and the creation time are on the model's card below.
    """
    rows = []
    for card in cards:
        rows.append({
            "Name": card.name, "Architecture": card.architecture, "Dataset": card.dataset,
            "Classes": len(card.class_names) if card.is_classifier else None, "Parameters": card.parameters,
            "Test score": score(card), "Origin": origin(card),
        })
    st.dataframe(rows, hide_index=True, column_config={
        "Parameters": st.column_config.NumberColumn(format="localized"),
        "Test score": st.column_config.TextColumn(
            help="A classifier's accuracy on images it never trained on; an autoencoder's reconstruction error, "
                 "the mean squared error per pixel (pixels 0..1: lower is better)."),
        "Origin": st.column_config.TextColumn(help="Shipped models are protected: they cannot be deleted. Imported "
                                                   "ones were uploaded by a visitor (Import a model, below); "
                                                   "trained ones were trained on this server."),
    })


def score(card):
    """A model's measured score in a few characters: "99.4%" (accuracy), "MSE 0.0438", or "-" when unmeasured."""
    if card.is_classifier:
        return views.percent(card.accuracy)
    return f"MSE {card.reconstruction_mse:.4f}" if card.reconstruction_mse is not None else "-"


def origin(card):
    """Where a model came from, in one word (the column fits 1280 pixels): shipped, imported or trained (here)."""
    if registry.is_protected(card):
        return "shipped"
    return "imported" if card.imported is not None else "trained"


def card_tab(card):
    """The card: headline numbers, the training curves, F1 per class and the card in full."""
    columns = st.columns(4)
    if card.is_classifier:
        columns[0].metric("Test accuracy", views.percent(card.accuracy), help=card.accuracy_text())
    else:
        error = card.reconstruction_mse
        columns[0].metric("Reconstruction error (MSE)", f"{error:.4f}" if error is not None else "-",
                          help=card.score_text())
    columns[1].metric("Parameters", f"{card.parameters:,}" if card.parameters is not None else "-")
    columns[2].metric("File size", views.size_text(card.file_size) or "-")
    columns[3].metric("Classes", len(card.class_names) if card.is_classifier else "none (autoencoder)")
    report_download.model_button(card)
    st.markdown(f"**{card.display_title}.** {card.summary or ''}")
    st.caption(f"Measured: {card.score_text()}. Created {card.created or 'at an unknown time'}"
               + (f" with Keras {card.keras_version}" if card.keras_version else "") + ".")
    if card.imported is not None:
        upload = card.imported
        st.caption(f":material/upload: Imported: uploaded as `{upload.file_name or 'a file'}` "
                   f"({views.size_text(upload.file_size)}, saved by Keras {upload.keras_version}, sha256 "
                   f"`{(upload.sha256 or '')[:16]}...`); imgrec did not train it, and checked it before keeping it.")
    history = card.training.history if card.training is not None else None
    metrics = card.metrics
    per_class = (metrics.per_class_f1 if card.is_classifier else metrics.per_class_mse) if metrics else None
    score, meaning = ("F1", "F1 per class on the test split: 1 is perfect.") if card.is_classifier else (
        "Error", "Reconstruction error per class on the test split: lower is better.")
    curves, scores = st.columns([3, 1], gap="medium")
    if history:
        with curves:
            st.plotly_chart(figures.training_curves(history), key="card-curves", config=views.CHART_CONFIG)
    if per_class:
        with scores:
            st.dataframe([{"Class": name, score: value} for name, value in per_class.items()], hide_index=True,
                         column_config={score: st.column_config.NumberColumn(format="%.3f" if card.is_classifier
                                                                            else "%.4f")})
            st.caption(meaning)
    with st.expander("The card in full (models/NAME.json)"):
        st.json(card.to_json(), expanded=2)
