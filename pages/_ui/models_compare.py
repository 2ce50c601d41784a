"""The Models page's Compare tab: models of the same dataset measured side by side on the same test images."""

import streamlit as st

from imgrec import datasets
from pages._ui import compute, models, views

COMPARE_SAMPLES = 2000  # Test images per model in a comparison: quick on 2 cores, still +-1% on accuracy.


def compatible(card, cards):
    """Models that can be measured on the same test set as `card`: same dataset and input shape."""
    return [other.name for other in cards if other.dataset == card.dataset and other.input.shape == card.input.shape]


def models_ui(card, cards):
    """The models to compare and the button that measures them; returns the names once measured, else []."""
    names = compatible(card, cards)
    dataset = card.dataset
    if len(names) < 2:
        st.info(f"No other model was trained on {dataset} with the same input shape; train one on the Train page "
                "to compare them.", icon=":material/info:")
    chosen = st.multiselect("Models to compare", names, default=names[:4], key=f"compare-{card.name}")
    st.caption(f"Measured here on the first {COMPARE_SAMPLES:,} images of the {dataset} test split, for speed (the "
               "accuracy on the cards uses the whole split). Latency is the median time of one image through the "
               "model on this server, with others using it too.")
    if st.button("Compare", type="primary", icon=":material/compare_arrows:", key="compare-run", disabled=not chosen):
        st.session_state["compare-measured"] = True
    return chosen if chosen and st.session_state.get("compare-measured") else []


def reports_view(reports):
    """The measured numbers: one row per model, then F1 per class with one column per model."""
    st.dataframe([{"Model": name, "Accuracy": views.in_percent(report["accuracy"]), "Macro F1": report["macro_f1"],
                   "Latency per image (ms)": report["latency_ms"], "Images": report["n"]}
                  for name, report in reports.items()], hide_index=True, column_config={
        "Accuracy": views.percent_column(bar=True),
        "Macro F1": st.column_config.NumberColumn(format="%.3f"),
        "Latency per image (ms)": st.column_config.NumberColumn(format="%.1f"),
    })
    classes = [row["class"] for row in next(iter(reports.values()))["per_class"]]
    st.markdown("**F1 per class** (1 is perfect): where one model beats another.")
    st.dataframe([{"Class": name, **{model: report["per_class"][index]["f1"] for model, report in reports.items()}}
                  for index, name in enumerate(classes)], hide_index=True,
                 column_config={model: st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)
                                for model in reports})


def compare_tab(card, cards):
    if not card.is_classifier:
        st.info(f"{card.display_title} is an autoencoder: it has no class scores to compare accuracy with; its "
                "reconstruction error is on its card.", icon=":material/info:")
        return
    cards = [other for other in cards if other.is_classifier]
    dataset = card.dataset
    if dataset not in datasets.names() and dataset.split(":", 1)[0] not in datasets.names():
        st.info(f"{card.name} was measured on {dataset}, which is not a dataset this app can load; there is "
                "nothing to compare it on here.", icon=":material/info:")
        return
    chosen = models_ui(card, cards)
    if not chosen:
        return
    reports = {}
    with st.spinner(f"Measuring {len(chosen)} models on {COMPARE_SAMPLES:,} test images..."):
        for name in chosen:
            reports[name] = compute.evaluation(name, models.model_or_stop(name), dataset, COMPARE_SAMPLES)
    reports_view(reports)
