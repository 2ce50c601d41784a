"""The Models page's Compare tab: models of the same dataset measured side by side on the same test images."""

import streamlit as st

from imgrec import datasets
from pages._ui import compute, i18n, models, views
from pages._ui.i18n import t

COMPARE_SAMPLES = 2000  # Test images per model in a comparison: quick on 2 cores, still +-1% on accuracy.


def compatible(card, cards):
    """Models that can be measured on the same test set as `card`: same dataset and input shape."""
    return [other.name for other in cards if other.dataset == card.dataset and other.input.shape == card.input.shape]


def models_ui(card, cards):
    """The models to compare and the button that measures them; returns the names once measured, else []."""
    names = compatible(card, cards)
    dataset = card.dataset
    if len(names) < 2:
        st.info(t("models_compare.alone", dataset=dataset), icon=":material/info:")
    chosen = st.multiselect(t("models_compare.models"), names, default=names[:4], key=f"compare-{card.name}")
    st.caption(t("models_compare.measured", count=f"{COMPARE_SAMPLES:,}", dataset=dataset))
    if st.button(t("models_compare.compare"), type="primary", icon=":material/compare_arrows:", key="compare-run",
                 disabled=not chosen):
        st.session_state["compare-measured"] = True
    return chosen if chosen and st.session_state.get("compare-measured") else []


def reports_view(reports):
    """The measured numbers: one row per model, then F1 per class with one column per model."""
    model_column, accuracy, macro_f1, latency, images = (
        t("models_compare.column_model"), t("models_compare.column_accuracy"), t("models_compare.column_macro_f1"),
        t("models_compare.column_latency"), t("models_compare.column_images"))
    st.dataframe([{model_column: name, accuracy: views.in_percent(report["accuracy"]), macro_f1: report["macro_f1"],
                   latency: report["latency_ms"], images: report["n"]}
                  for name, report in reports.items()], hide_index=True, column_config={
        accuracy: views.percent_column(bar=True),
        macro_f1: st.column_config.NumberColumn(format="%.3f"),
        latency: st.column_config.NumberColumn(format="%.1f"),
    })
    classes = [row["class"] for row in next(iter(reports.values()))["per_class"]]
    st.markdown(t("models_compare.per_class"))
    class_column = t("models_compare.column_class")
    st.dataframe([{class_column: i18n.class_name(name),
                   **{model: report["per_class"][index]["f1"] for model, report in reports.items()}}
                  for index, name in enumerate(classes)], hide_index=True,
                 column_config={model: st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)
                                for model in reports})


def compare_tab(card, cards):
    if not card.is_classifier:
        st.info(t("models_compare.autoencoder", title=card.display_title), icon=":material/info:")
        return
    cards = [other for other in cards if other.is_classifier]
    dataset = card.dataset
    if dataset not in datasets.names() and dataset.split(":", 1)[0] not in datasets.names():
        st.info(t("models_compare.unknown_dataset", name=card.name, dataset=dataset), icon=":material/info:")
        return
    chosen = models_ui(card, cards)
    if not chosen:
        return
    reports = {}
    with st.spinner(t("models_compare.measuring", models=len(chosen), count=f"{COMPARE_SAMPLES:,}")):
        for name in chosen:
            reports[name] = compute.evaluation(name, models.model_or_stop(name), dataset, COMPARE_SAMPLES)
    reports_view(reports)
