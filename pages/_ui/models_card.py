"""The Models page's registry table and its Card tab: what each model is and what it measured."""

import streamlit as st

from imgrec import figures, registry
from pages._ui import report_download, views


def registry_table(cards):
    """Every model as a row: name, architecture, dataset, classes, size, measured accuracy and where it came from.

    Seven columns, each as wide as its content, fit the page at 1280 pixels; where the accuracy
    was measured, the file size and the creation time are on the model's card below.
    """
    rows = []
    for card in cards:
        rows.append({
            "Name": card.name, "Architecture": card.architecture, "Dataset": card.dataset,
            "Classes": len(card.class_names), "Parameters": card.parameters,
            "Test accuracy": views.in_percent(card.accuracy), "Origin": origin(card),
        })
    st.dataframe(rows, hide_index=True, column_config={
        "Parameters": st.column_config.NumberColumn(format="localized"),
        "Test accuracy": views.percent_column(bar=True, width=130),
        "Origin": st.column_config.TextColumn(help="Shipped models are protected: they cannot be deleted. Imported "
                                                   "ones were uploaded by a visitor (Import a model, below)."),
    })


def origin(card):
    """Where a model came from, in a word: shipped (protected), imported (uploaded by a visitor) or trained here."""
    if registry.is_protected(card):
        return "shipped"
    return "imported" if card.imported is not None else "trained here"


def card_tab(card):
    """The card: headline numbers, the training curves, F1 per class and the card in full."""
    columns = st.columns(4)
    columns[0].metric("Test accuracy", views.percent(card.accuracy), help=card.accuracy_text())
    columns[1].metric("Parameters", f"{card.parameters:,}" if card.parameters is not None else "-")
    columns[2].metric("File size", views.size_text(card.file_size) or "-")
    columns[3].metric("Classes", len(card.class_names))
    report_download.model_button(card)
    st.markdown(f"**{card.display_title}.** {card.summary or ''}")
    st.caption(f"Accuracy: {card.accuracy_text()}. Created {card.created or 'at an unknown time'}"
               + (f" with Keras {card.keras_version}" if card.keras_version else "") + ".")
    if card.imported is not None:
        upload = card.imported
        st.caption(f":material/upload: Imported: uploaded as `{upload.file_name or 'a file'}` "
                   f"({views.size_text(upload.file_size)}, saved by Keras {upload.keras_version}, sha256 "
                   f"`{(upload.sha256 or '')[:16]}...`); imgrec did not train it, and checked it before keeping it.")
    history = card.training.history if card.training is not None else None
    per_class = card.metrics.per_class_f1 if card.metrics is not None else None
    curves, scores = st.columns([3, 1], gap="medium")
    if history:
        with curves:
            st.plotly_chart(figures.training_curves(history), key="card-curves", config=views.CHART_CONFIG)
    if per_class:
        with scores:
            st.dataframe([{"Class": name, "F1": value} for name, value in per_class.items()], hide_index=True,
                         column_config={"F1": st.column_config.NumberColumn(format="%.3f")})
            st.caption("F1 per class on the test split: 1 is perfect.")
    with st.expander("The card in full (models/NAME.json)"):
        st.json(card.to_json(), expanded=2)
