"""A finished run's results on the Train page: a classifier's scores, curves, confusion matrix, ROC and mistakes,
or what an autoencoder rebuilds."""

import streamlit as st

from imgrec import datasets, figures, jobs, registry
from pages._ui import (
    autoencoder,
    charts,
    compute,
    compute_learned,
    confusion,
    data_map_view,
    i18n,
    report_download,
    views,
)
from pages._ui.i18n import t

# What showing a run's model can raise: its file gone or changed, a refused model, its dataset gone.
MODEL_ERRORS = (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable)
SMOOTHING = 0.9  # TensorBoard's default smoothing of the per-batch loss.
GALLERY_SHOWN = 12  # Misclassified test images drawn with their heatmaps (jobs keeps the 32 most confident).
# The per-class table's columns as the page names them (the result's own keys stay as they are).
PER_CLASS_COLUMNS = {"class": "train_results.column_class", "precision": "train_results.column_precision",
                     "recall": "train_results.column_recall", "f1": "train_results.column_f1",
                     "support": "train_results.column_support"}


def reconstruction_results(run_id, outcome):
    """An autoencoder run's results: its curves, then what it rebuilds, its latent space and the walk over it."""
    batches = jobs.progress(run_id).batches
    report_download.run_button(run_id, outcome, 0)  # The report rebuilds its own test images beside their originals.
    charts.show(figures.training_curves(outcome["training"]["history"], batches, SMOOTHING, texts=i18n.texts_now()),
                key="result-curves")
    sha256 = (outcome.get("model") or {}).get("sha256")
    try:
        autoencoder.autoencoder_view(compute_learned.run_source(run_id), sha256, outcome["dataset"],
                                     mse=outcome["reconstruction_mse"], n=outcome["n"],
                                     per_class={row["class"]: row["mse"] for row in outcome["per_class"]},
                                     worst=[row["index"] for row in outcome.get("worst", [])])
    except MODEL_ERRORS as error:
        st.warning(t("train_results.no_model_rebuilds", error=i18n.error_text(error)), icon=":material/warning:")


def score_cards(outcome):
    """Test accuracy, macro F1, ROC AUC and training time, side by side."""
    cards = st.columns(4)
    cards[0].metric(t("train_results.test_accuracy"), views.percent(outcome["accuracy"]),
                    help=t("train_results.test_accuracy_help", count=f"{outcome['n']:,}", split=outcome["split"]))
    cards[1].metric(t("train_results.macro_f1"), f"{outcome['macro_f1']:.3f}", help=t("train_results.macro_f1_help"))
    cards[2].metric(t("train_results.roc_auc"),
                    f"{outcome['roc_auc']:.4f}" if outcome.get("roc_auc") is not None else "-")
    training = outcome["training"]
    cards[3].metric(t("train_results.training_time"), f"{training['seconds']:.1f} s",
                    help=t("train_results.training_time_help", speed=f"{training['samples_per_second']:,.0f}",
                           train=f"{training['train_samples']:,}", validation=f"{training['validation_samples']:,}"))


def per_class_view(per_class):
    """The per-class scores as bars, and the numbers in a table under them."""
    texts = i18n.texts_now()
    shown = [{**row, "class": i18n.class_name(row["class"])} for row in per_class]
    charts.show(figures.per_class_bars(shown, texts=texts), key="result-per-class")
    with st.expander(t("train_results.per_class_numbers")):
        columns = {key: t(PER_CLASS_COLUMNS[key]) if key in PER_CLASS_COLUMNS else key for row in shown for key in row}
        st.dataframe([{columns[key]: value for key, value in row.items()} for row in shown], hide_index=True,
                     column_config={columns[key]: st.column_config.NumberColumn(format="%.3f")
                                    for key in ("precision", "recall", "f1") if key in columns})


def classification_results(run_id, outcome):
    """A classifier run's results: scores, curves, the clickable confusion matrix, ROC, mistakes and the data map."""
    history = outcome["training"]["history"]
    batches = jobs.progress(run_id).batches
    texts = i18n.texts_now()
    score_cards(outcome)
    report_download.run_button(run_id, outcome, GALLERY_SHOWN)
    charts.show(figures.training_curves(history, batches, SMOOTHING, texts=texts), key="result-curves")
    names = outcome["class_names"]
    source, sha256 = compute_learned.run_source(run_id), (outcome.get("model") or {}).get("sha256")
    # The confusion matrix takes the full width: its cells and its title need the room.
    try:
        confusion.confusion_view(source, sha256, outcome["dataset"], names, "result-confusion")
    except MODEL_ERRORS as error:
        charts.show(figures.confusion_matrix(outcome["confusion"], [i18n.class_name(name) for name in names],
                                             texts=texts), key="result-confusion")
        st.warning(t("train_results.no_model_cells", error=i18n.error_text(error)), icon=":material/warning:")
    per_class_view(outcome["per_class"])
    roc_view(outcome.get("roc_curves"))
    try:
        mistakes_view(run_id, outcome)
        st.subheader(t("train_results.where_images_lie"))
        data_map_view.map_view(source, sha256, outcome["dataset"], names, chart_key="result-map")
    except MODEL_ERRORS as error:
        st.warning(t("train_results.no_model_mistakes", error=i18n.error_text(error)), icon=":material/warning:")


def roc_view(curves):
    """The one-vs-rest ROC curves the worker recorded in the run's result."""
    if curves is None:
        st.caption(t("train_results.no_roc"))
        return
    shown = [{**curve, "class": i18n.class_name(curve["class"])} for curve in curves]
    charts.show(figures.roc_curves(shown, texts=i18n.texts_now()), key="result-roc")
    st.caption(t("train_results.roc_caption"))


def mistakes_view(run_id, outcome):
    """The mistakes the model was most sure of: each test image beside the heatmap of the class it chose."""
    mistakes = outcome.get("misclassified") or []
    st.subheader(t("train_results.mistakes", count=f"{outcome.get('misclassified_count', len(mistakes)):,}",
                   total=f"{outcome['n']:,}"))
    if not mistakes:
        st.success(t("train_results.no_mistakes"), icon=":material/celebration:")
        return
    sha256 = (outcome.get("model") or {}).get("sha256")
    indices = tuple(mistake["index"] for mistake in mistakes[:GALLERY_SHOWN])
    cases = compute.run_mistakes(run_id, sha256, outcome["dataset"], indices)
    st.caption(t("train_results.mistakes_caption", explainer=cases[0].explainer))
    columns = st.columns(4)
    for position, case in enumerate(cases):
        with columns[position % 4]:
            st.image(views.case_image(case), caption=t("train_results.mistake", true=i18n.class_name(case.true_label),
                                                       predicted=i18n.class_name(case.predicted_label),
                                                       confidence=views.percent(case.confidence)))
