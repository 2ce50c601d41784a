"""The Train page's Run tab: a run live while it trains (progress, curves, cancel), its results once done, saving it.

A queued or running run is drawn by a fragment that polls the run's folder every two seconds;
nothing trains in the web server. Watching must cost the server next to nothing, whoever
watches: the run's events are parsed once per process (`jobs.progress`, only the new lines),
and its curves are drawn once per update for every viewer (`live_curves`).
"""

import streamlit as st

from imgrec import datasets, figures, jobs, paths, registry
from imgrec.jobs import tensorboard_server
from pages._ui import (
    autoencoder,
    compute,
    compute_learned,
    confusion,
    data_map_view,
    models,
    report_download,
    train_runs,
    train_settings,
    views,
)

# What showing a run's model can raise: its file gone or changed, a refused model, its dataset gone.
MODEL_ERRORS = (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable)
SMOOTHING = 0.9  # TensorBoard's default smoothing of the per-batch loss.
GALLERY_SHOWN = 12  # Misclassified test images drawn with their heatmaps (jobs keeps the 32 most confident).
STATUS_ICONS = {"queued": ":material/hourglass_empty:", "running": ":material/directions_run:",
                "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}
PHASES = {
    "starting": "Starting: the worker process is loading TensorFlow and the data (a few seconds).",
    "training": "Training.",
    "evaluating": "Measuring the trained model on the test set.",
}


@st.cache_resource(max_entries=16, show_spinner=False)
def _curves(runs_folder, run_id, version):
    """The training-curves figure of a run's events at one version, drawn once for every session watching it."""
    progress = jobs.progress(run_id, runs_dir=runs_folder)
    return figures.training_curves(progress.epochs, progress.batches, SMOOTHING)


def live_curves(run_id, progress):
    """The figure of a run's curves as `progress` has them (shared between sessions: never change it)."""
    return _curves(str(paths.runs_dir()), run_id, progress.version)


def progress_text(view, batches):
    """The progress fraction and a sentence with epochs, batches, elapsed time and ETA."""
    if not batches:
        return 0.0, PHASES.get(view.get("phase"), "Starting.")
    last = batches[-1]
    fraction = min(1.0, last["step"] / max(1, last["total_steps"]))
    elapsed = float(last.get("elapsed", 0.0))
    text = f"Epoch {last['epoch']}, step {last['step']:,} of {last['total_steps']:,}; {elapsed:.0f} s elapsed"
    if view.get("phase") == "evaluating":
        return 1.0, PHASES["evaluating"]
    if fraction > 0.02:
        # The remaining steps at the average pace so far (validation passes included).
        text += f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
    return fraction, text + "."


@st.fragment(run_every=train_runs.POLL_SECONDS)
def live_view(run_id, config):
    """Polls a queued or running run's folder every two seconds; reruns the page once it has finished."""
    try:
        view = jobs.status(run_id)
    except jobs.JobError as error:
        st.error(str(error), icon=":material/error:")
        return
    if view["status"] in jobs.FINISHED_STATES:
        st.rerun()
    run_header(view, config)
    if view["status"] == jobs.QUEUED:
        position = view.get("queue_position")
        st.info(f"Waiting in the queue: position {position}. This server trains {jobs.max_runs()} run(s) at a time; "
                "yours starts when one ahead of it finishes.", icon=":material/hourglass_empty:")
    progress = jobs.progress(run_id)
    if view["status"] == jobs.RUNNING:
        fraction, text = progress_text(view, progress.batches)
        st.progress(fraction, text=text)
    if progress.epochs or progress.batches:
        st.plotly_chart(live_curves(run_id, progress), key=f"live-curves-{run_id}", config=views.CHART_CONFIG)
        if progress.epochs:
            st.caption(epoch_text(progress.epochs[-1]))
    cancelling = jobs.cancel_requested(run_id)
    if st.button("Stopping..." if cancelling else "Cancel run", icon=":material/stop:", disabled=cancelling,
                 key=f"cancel-{run_id}"):
        jobs.cancel(run_id, wait=False)
        st.rerun(scope="fragment")


def epoch_text(last):
    """How the last finished epoch went, in words: accuracies, or an autoencoder's reconstruction errors."""
    if "accuracy" not in last:
        return (f"After epoch {last['epoch']}: reconstruction error {last.get('loss', 0):.4f} on training images"
                + (f", {last['val_loss']:.4f} on validation images" if "val_loss" in last else "") + ".")
    return (f"After epoch {last['epoch']}: training accuracy {last.get('accuracy', 0):.1%}"
            + (f", validation accuracy {last['val_accuracy']:.1%}" if "val_accuracy" in last else "")
            + ". When validation falls behind training, the model is starting to memorise.")


def run_header(view, config):
    optimizer = train_settings.optimizer_title(config.get("optimizer"))
    samples = f"{config['max_samples']:,} samples" if config.get("max_samples") else "all samples"
    st.markdown(f"#### {STATUS_ICONS.get(view['status'], '')} Run `{view['id']}`: {view['status']}")
    if view.get("executor") == "ray":
        host = f" ({view['node_host']})" if view.get("node_host") else ""
        node = f"Ray node `{view['node_id'][:12]}`{host}" if view.get("node_id") else "a Ray node"
        st.caption(f":material/hub: On {node}, as Ray job `{view.get('ray_job_id')}`.")
    elif view.get("executor") == "local":
        st.caption(f":material/dns: On this server's machine, `{view.get('node_id')}`.")
    epochs = config.get("epochs")
    st.caption(f"{config.get('architecture')} on {config.get('dataset')} ({samples}), {epochs} epoch{'s' * (epochs != 1)}, "
               f"batch {config.get('batch_size')}, {optimizer} at learning rate {config.get('learning_rate'):g}, "
               + (f"a code of {config.get('latent_dim')} numbers" if config.get("architecture") == "autoencoder"
                  else f"dropout {config.get('dropout')}") + f", L2 {config.get('l2'):g}.")


def results_view(run_id, view, config):
    outcome = jobs.result(run_id)
    if outcome is None:
        st.error("This run has no result file; it cannot be shown.", icon=":material/error:")
        return
    if outcome.get("task") == "reconstruction":
        reconstruction_results(run_id, outcome)
    else:
        classification_results(run_id, outcome)
    save_view(run_id, config)


def reconstruction_results(run_id, outcome):
    """An autoencoder run's results: its curves, then what it rebuilds, its latent space and the walk over it."""
    batches = jobs.progress(run_id).batches
    st.plotly_chart(figures.training_curves(outcome["training"]["history"], batches, SMOOTHING),
                    key="result-curves", config=views.CHART_CONFIG)
    sha256 = (outcome.get("model") or {}).get("sha256")
    try:
        autoencoder.autoencoder_view(compute_learned.run_source(run_id), sha256, outcome["dataset"],
                                     mse=outcome["reconstruction_mse"], n=outcome["n"],
                                     per_class={row["class"]: row["mse"] for row in outcome["per_class"]},
                                     worst=[row["index"] for row in outcome.get("worst", [])])
    except MODEL_ERRORS as error:
        st.warning(f"The run's model could not be loaded, so what it rebuilds is not shown: {error}",
                   icon=":material/warning:")


def classification_results(run_id, outcome):
    """A classifier run's results: scores, curves, the clickable confusion matrix, ROC, mistakes and the data map."""
    history = outcome["training"]["history"]
    batches = jobs.progress(run_id).batches
    cards = st.columns(4)
    cards[0].metric("Test accuracy", views.percent(outcome["accuracy"]), help=f"On the {outcome['n']:,} images of the "
                    f"{outcome['split']} split, never seen in training.")
    cards[1].metric("Macro F1", f"{outcome['macro_f1']:.3f}", help="The mean of the classes' F1 scores.")
    cards[2].metric("ROC AUC", f"{outcome['roc_auc']:.4f}" if outcome.get("roc_auc") is not None else "-")
    cards[3].metric("Training time", f"{outcome['training']['seconds']:.1f} s",
                    help=f"{outcome['training']['samples_per_second']:,.0f} samples per second; "
                         f"{outcome['training']['train_samples']:,} training and "
                         f"{outcome['training']['validation_samples']:,} validation samples.")
    report_download.run_button(run_id, outcome, GALLERY_SHOWN)
    st.plotly_chart(figures.training_curves(history, batches, SMOOTHING),
                    key="result-curves", config=views.CHART_CONFIG)
    names = outcome["class_names"]
    source, sha256 = compute_learned.run_source(run_id), (outcome.get("model") or {}).get("sha256")
    # The confusion matrix takes the full width: its cells and its title need the room.
    try:
        confusion.confusion_view(source, sha256, outcome["dataset"], names, "result-confusion")
    except MODEL_ERRORS as error:
        st.plotly_chart(figures.confusion_matrix(outcome["confusion"], names), key="result-confusion",
                        config=views.CHART_CONFIG)
        st.warning(f"The run's model could not be loaded, so the cells do not open: {error}", icon=":material/warning:")
    st.plotly_chart(figures.per_class_bars(outcome["per_class"]), key="result-per-class", config=views.CHART_CONFIG)
    with st.expander("Per-class numbers"):
        st.dataframe(outcome["per_class"], hide_index=True,
                     column_config={key: st.column_config.NumberColumn(format="%.3f")
                                    for key in ("precision", "recall", "f1")})
    roc_view(outcome.get("roc_curves"))
    try:
        mistakes_view(run_id, outcome)
        st.subheader("Where the test images lie")
        data_map_view.map_view(source, sha256, outcome["dataset"], names, chart_key="result-map")
    except MODEL_ERRORS as error:
        st.warning(f"The run's model could not be loaded, so its mistakes are not shown: {error}",
                   icon=":material/warning:")


def roc_view(curves):
    """The one-vs-rest ROC curves the worker recorded in the run's result."""
    if curves is None:
        st.caption("This run finished before runs recorded their ROC curves, so its result has none.")
        return
    st.plotly_chart(figures.roc_curves(curves), key="result-roc", config=views.CHART_CONFIG)
    st.caption("Each curve sweeps the threshold on one class's probability, from flagging nothing (bottom left) "
               "to flagging everything (top right). The area under it (AUC) is 1 for a perfect ranking and 0.5 "
               "for a coin toss.")


def mistakes_view(run_id, outcome):
    """The mistakes the model was most sure of: each test image beside the heatmap of the class it chose."""
    mistakes = outcome.get("misclassified") or []
    st.subheader(f"Mistakes: {outcome.get('misclassified_count', len(mistakes)):,} of {outcome['n']:,} test images")
    if not mistakes:
        st.success("The model got every test image right.", icon=":material/celebration:")
        return
    sha256 = (outcome.get("model") or {}).get("sha256")
    indices = tuple(mistake["index"] for mistake in mistakes[:GALLERY_SHOWN])
    cases = compute.run_mistakes(run_id, sha256, outcome["dataset"], indices)
    st.caption(f"The mistakes the model was most sure of. Left: the test image; right: its {cases[0].explainer} for "
               "the class the model wrongly chose, the regions that spoke most for that class.")
    columns = st.columns(4)
    for position, case in enumerate(cases):
        with columns[position % 4]:
            st.image(views.case_image(case), caption=f"true {case.true_label}, predicted {case.predicted_label} "
                                                     f"({views.percent(case.confidence)})")


def tensorboard_view(run_id):
    """The command that opens the run's TensorBoard logs, which every run writes as it trains."""
    st.caption("TensorBoard shows the same loss and accuracy, batch by batch and epoch by epoch, from the logs every "
               "run writes. In a terminal on this server, run this and open the address it prints (Ctrl-C stops it):")
    st.code(tensorboard_server.command(run_id), language="bash")


def default_model_name(run_id, config):
    base = f"{config.get('architecture', 'model')}-{str(config.get('dataset', 'data')).split(':', 1)[0]}"
    name = "".join(character if character.isalnum() or character in "-_" else "-" for character in base.lower())
    return f"{name}-{run_id[-6:]}"[:64]


def save_view(run_id, config):
    st.subheader("Save this model")
    with st.form(f"save-{run_id}", border=True):
        name = st.text_input("Model name", value=default_model_name(run_id, config), max_chars=64,
                             help="Lower-case letters, digits, '-' and '_'. The model then appears on every page.")
        saved = st.form_submit_button("Save as a model", icon=":material/save:", type="primary")
    if saved:
        try:
            registry.validate_name(name)
            card = compute.save_run_as_model(run_id, name)
        except (registry.RegistryError, jobs.JobError) as error:
            st.error(str(error), icon=":material/error:")
            return
        models.model_cards.clear()  # Every page lists the new model at once, not after the list's TTL.
        st.session_state.model_name = card.name
        st.success(f"Saved as **{card.name}** ({card.accuracy_text()}).", icon=":material/check_circle:")
        left, right, _ = st.columns([1, 1, 2])
        with left:
            st.page_link("pages/predict.py", label="Try it on Predict", icon=":material/image_search:")
        with right:
            st.page_link("pages/models.py", label="See it on Models", icon=":material/inventory_2:")


def run_tab():
    run_id = train_runs.selected_run()
    if not run_id:
        st.info("Start a run under **New run**, or choose any run on this server in the sidebar.",
                icon=":material/arrow_back:")
        return
    try:
        view = jobs.status(run_id)
        config = jobs.read_config(run_id)
    except jobs.JobError as error:
        st.error(str(error), icon=":material/error:")
        return
    if view["status"] in (jobs.QUEUED, jobs.RUNNING):
        live_view(run_id, config)
        tensorboard_view(run_id)
        return
    run_header(view, config)
    if view["status"] == jobs.DONE:
        results_view(run_id, view, config)
        tensorboard_view(run_id)
    else:
        ended_view(run_id, view)


def ended_view(run_id, view):
    """A run that ended without a model: cancelled (someone chose to; no error) or failed (why), and its curves."""
    if view["status"] == jobs.CANCELLED:
        st.info(f"{view.get('reason') or 'The run was cancelled.'} It saved no model; start a new run under "
                "**New run** whenever you like.", icon=":material/block:")
    else:
        st.error(view.get("reason") or f"The run {jobs.STATE_PHRASES[view['status']]}.", icon=":material/error:")
    progress = jobs.progress(run_id)
    if progress.epochs or progress.batches:
        st.plotly_chart(live_curves(run_id, progress), key="ended-curves", config=views.CHART_CONFIG)
        tensorboard_view(run_id)
