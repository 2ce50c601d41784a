"""The Models page's registry table and its Card tab: what each model is and what it measured."""

import streamlit as st

from imgrec import figures, registry
from pages._ui import models, views


def registry_table(cards):
    """Every model as a row: name, architecture, dataset, size, measured accuracy and whether it is shipped."""
    rows = []
    for card in cards:
        measured = card.get("metrics") or {}
        rows.append({
            "Name": card["name"], "Architecture": card.get("architecture", ""),
            "Dataset": card.get("dataset", ""), "Parameters": card.get("parameters"),
            "File size": views.size_text(card.get("file_size")),
            "Test accuracy": measured.get("test_accuracy"),
            "Measured on": str(measured.get("split", "not measured"))
                           + (f" (n = {measured['n']:,})" if isinstance(measured.get("n"), int) else ""),
            "Created": (card.get("created") or "")[:16].replace("T", " "),
            "Shipped": registry.is_protected(card),
        })
    st.dataframe(rows, hide_index=True, column_config={
        "Parameters": st.column_config.NumberColumn(format="localized"),
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Shipped": st.column_config.CheckboxColumn(help="Shipped models are protected: they cannot be deleted."),
    })


def card_tab(card):
    """The card: headline numbers, the training curves, F1 per class and the card in full."""
    measured = card.get("metrics") or {}
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{measured['test_accuracy']:.2%}"
                      if isinstance(measured.get("test_accuracy"), float) else "-", help=models.accuracy_text(card))
    columns[1].metric("Parameters", f"{card['parameters']:,}" if isinstance(card.get("parameters"), int) else "-")
    columns[2].metric("File size", views.size_text(card.get("file_size")) or "-")
    columns[3].metric("Classes", len(card.get("class_names") or []))
    st.markdown(f"**{card.get('title', card['name'])}.** {card.get('summary', '')}")
    st.caption(f"Accuracy: {models.accuracy_text(card)}. Created {card.get('created', 'at an unknown time')}"
               + (f" with Keras {card['keras_version']}" if card.get("keras_version") else "") + ".")
    history = (card.get("training") or {}).get("history")
    per_class = measured.get("per_class_f1")
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
        st.json(card, expanded=2)
