"""Train: configure a run, watch it learn live, read its results, compare runs, search hyperparameters.

Nothing trains in this script: a run is submitted to `imgrec.jobs`, which trains it in a worker
process, and the page polls the run's folder once a second. So the page stays responsive, a
refresh or another browser finds the same run (`?run=ID`), and Cancel really stops it.
"""

import secrets
import time

import numpy as np
import streamlit as st

from imgrec import (
    architectures,
    datasets,
    explain,
    figures,
    jobs,
    metrics,
    overlays,
    registry,
    search,
    training,
)
from pages import _ui

POLL_SECONDS = 1.0  # The live view's refresh: often enough to watch a curve grow, cheap for the server.
SEARCH_POLL_SECONDS = 2.0  # A search advances (and its table refreshes) this often while it is on screen.
PREVIEW_IMAGES = 8  # Training images in the augmentation preview...
PREVIEW_COPIES = 3  # ...each shown with this many augmented versions.
GALLERY_SHOWN = 12  # Misclassified test images drawn with Grad-CAM (jobs keeps the 32 most confident).
RUNS_LISTED = 60  # Runs offered in the picker, newest first.
SMOOTHING = 0.9  # TensorBoard's default smoothing of the per-batch loss.

TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH = (
    ":material/tune: New run", ":material/monitoring: Run", ":material/stacked_line_chart: Compare runs",
    ":material/travel_explore: Search",
)
TABS = [TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH]
OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "SGD + momentum", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                    "adam": "Adam"}
STATUS_ICONS = {"queued": ":material/hourglass_empty:", "running": ":material/directions_run:",
                "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}
PHASES = {
    "starting": "Starting: the worker process is loading TensorFlow and the data (a few seconds).",
    "training": "Training.",
    "evaluating": "Measuring the trained model on the test set.",
}
METRIC_TITLES = {"val_accuracy": "Validation accuracy", "val_loss": "Validation loss",
                 "accuracy": "Training accuracy", "loss": "Training loss"}


# ---------------------------------------------------------------------------------------
# Cached reads (shared by every session).


@st.cache_resource(show_spinner=False)
def recovered():
    """Cleans up runs left behind by a crash or restart, once per server process."""
    return jobs.recover()


@st.cache_data(ttl=60, show_spinner=False)
def dataset_info():
    """`datasets.info()` by name; it checks the network once a minute, so it is cached as long."""
    return {row["name"]: row for row in datasets.info()}


@st.cache_data(max_entries=32, show_spinner="Drawing augmented images...")
def augmentation_preview(dataset, rotate, shift, flip, noise, seed):
    """Training images (first row) and augmented versions of them, as one uint8 grid image."""
    data = datasets.load(dataset, max_train=PREVIEW_IMAGES, seed=seed)
    config = training.TrainConfig(dataset=dataset, augment_rotate=rotate, augment_shift=shift, augment_flip=flip,
                                  augment_noise=noise, seed=seed)
    augmented = training.augment_preview(data.x_train, training.make_augmenter(config), copies=PREVIEW_COPIES,
                                         seed=seed)
    return _ui.enlarge(training.augmentation_grid(data.x_train, augmented), 640)


@st.cache_resource(max_entries=4, show_spinner="Loading the run's model...")
def run_model(run_id, sha256):
    """The Keras model of a finished run, loaded through the registry's checks (allow-list, safe mode)."""
    # The sha256 keys the cache: a run id never changes its model, but a deleted and re-made run could.
    return jobs.load_run_model(run_id)


@st.cache_data(max_entries=8, show_spinner="Running the model over the test set for the ROC curves...")
def run_roc_curves(run_id, sha256, dataset):
    """One-vs-rest ROC curves of a finished run on its dataset's whole test split."""
    from imgrec import inference

    data = datasets.load(dataset)
    probabilities = inference.predict_probabilities(run_model(run_id, sha256), data.x_test.astype(np.float32))
    return metrics.roc_curves(data.y_test, probabilities, data.class_names)


@st.cache_data(max_entries=8, show_spinner="Computing Grad-CAM for the mistakes...")
def mistakes_gallery(run_id, sha256, dataset, mistakes):
    """Each shown mistake as one image: the test image and its Grad-CAM for the predicted class, side by side."""
    model = run_model(run_id, sha256)
    test_images = datasets.load(dataset).x_test
    shown = []
    for mistake in mistakes:
        image = test_images[mistake["index"]].astype(np.float32)
        seen = _ui.enlarge(_ui.model_view(image), 112)
        heatmap = explain.explain(model, image, "gradcam", int(mistake["predicted"]))
        pair = np.concatenate([seen, np.full((seen.shape[0], 4, 3), 255, np.uint8),
                               overlays.overlay(seen, heatmap, 0.5)], axis=1)
        shown.append(pair)
    return shown


# ---------------------------------------------------------------------------------------
# The selected run: in session state and in the URL, so a refresh or a shared link finds it.


def selected_run():
    return st.session_state.get("train_run")


def select_run(run_id):
    """Makes a run the one shown under Run, and opens that tab (at the next script run)."""
    st.session_state.train_run = run_id
    st.session_state["run-in-url"] = run_id
    st.query_params["run"] = run_id
    open_tab(TAB_RUN)


def open_tab(label):
    # A widget's state cannot change once it is drawn: the tab is switched as the next run starts.
    st.session_state["pending-tab"] = label


def run_from_url():
    """A `?run=ID` that names a run wins over the session's choice (a refresh, or a link from someone else)."""
    requested = st.query_params.get("run")
    if requested and requested != st.session_state.get("run-in-url"):
        try:
            jobs.status(requested)
        except jobs.JobError as error:
            st.warning(f"{error}", icon=":material/warning:")
            del st.query_params["run"]
            return
        select_run(requested)


def run_label(run):
    """A run as the pickers name it; fixed for the run's life (a widget matches its options by these labels)."""
    config = run.get("config") or {}
    created = time.strftime("%H:%M:%S", time.localtime(run.get("created") or 0))
    optimizer = OPTIMIZER_TITLES.get(config.get("optimizer"), config.get("optimizer"))
    return f"{created} {config.get('architecture')} on {config.get('dataset')}, {optimizer} ({run['id'][-6:]})"


def run_status_text(run):
    if run["status"] == jobs.DONE and isinstance(run.get("test_accuracy"), float):
        return f"done, {run['test_accuracy']:.1%}"
    if run["status"] == jobs.QUEUED and run.get("queue_position"):
        return f"queued ({run['queue_position']})"
    return run["status"]


def run_picker(runs):
    """The sidebar list of every run on this server, so any session can watch any run."""
    with st.sidebar:
        st.subheader("Runs on this server")
        if not runs:
            st.caption("No runs yet.")
            return
        ids = [run["id"] for run in runs[:RUNS_LISTED]]
        labels = {run["id"]: run_label(run) for run in runs}
        current = selected_run()
        if current not in ids:
            ids = [current, *ids] if current else ids
        st.session_state["run-picker"] = current if current in ids else None
        st.selectbox("Watch a run", ids, key="run-picker", index=None, placeholder="Choose a run",
                     format_func=lambda run_id: labels.get(run_id, run_id), on_change=_picked_run,
                     help="Every run on this server, newest first: yours, a classmate's, or one started from the "
                          "command line. Choosing one shows it under Run.")
        if any(run["status"] in (jobs.QUEUED, jobs.RUNNING) for run in runs):
            live_runs_summary()
        else:
            runs_summary(runs)


def runs_summary(runs=None, *, live=False):
    """The newest runs with their status, and how many train and wait (in the sidebar)."""
    runs = jobs.list_runs() if runs is None else runs
    st.dataframe([{"Run": run_label(run).split(" ", 1)[1].rsplit(" (", 1)[0], "Status": run_status_text(run)}
                  for run in runs[:8]], hide_index=True,
                 column_config={"Run": st.column_config.TextColumn(width=140),
                                "Status": st.column_config.TextColumn(width=90)})
    running = sum(run["status"] == jobs.RUNNING for run in runs)
    queued = sum(run["status"] == jobs.QUEUED for run in runs)
    st.caption(f"{running} training, {queued} waiting; this server trains {jobs.max_runs()} at a time.")
    if live and not running and not queued:
        st.rerun()  # All finished: the page shows them once more, without polling.


@st.fragment(run_every=3 * POLL_SECONDS)
def live_runs_summary():
    # Called inside the sidebar, so it draws there; polled only while some run is queued or training.
    runs_summary(live=True)


def _picked_run():
    if st.session_state.get("run-picker"):
        select_run(st.session_state["run-picker"])


# ---------------------------------------------------------------------------------------
# The settings form: kept in session state, so it survives switching tabs and pages.


def settings():
    """The settings of the next run, as a `TrainConfig` dict; the quickstart preset at first."""
    if "train_settings" not in st.session_state:
        st.session_state.train_settings = training.preset("quickstart").to_dict()
    return st.session_state.train_settings


def apply_settings(values):
    """Replaces some settings (e.g. a search's best) and resets their widgets to show them."""
    settings().update(values)
    for name in values:
        st.session_state.pop(f"cfg-{name}", None)


# Widgets show some settings differently: 0 stands for None (all samples, automatic patch size).
_TO_WIDGET = {"max_samples": lambda value: value or 0, "patch_size": lambda value: value or 0}
_FROM_WIDGET = {"max_samples": lambda value: int(value) or None, "patch_size": lambda value: int(value) or None}


def field(widget, name, label, **options):
    """Draws one setting's widget bound to the settings dict; returns the setting's value."""
    key = f"cfg-{name}"
    if key not in st.session_state:
        st.session_state[key] = _TO_WIDGET.get(name, lambda value: value)(settings()[name])
    value = widget(label, key=key, **options)
    settings()[name] = _FROM_WIDGET.get(name, lambda value: value)(value)
    return settings()[name]


def dataset_caption(name, info):
    base = name.split(":", 1)[0]
    base = datasets.ALIASES.get(base, base).split(":", 1)[0]
    row = info.get(base)
    if row is None:
        return None, None
    if row["present_source"] is None:
        return row, f"No copy of {row['title']} is on this machine."
    height, width, channels = row["shape"]
    sizes = f"{row['train_size']:,} training and {row['test_size']:,} test images" if row["train_size"] else "sizes unknown"
    kind = "grey" if channels == 1 else "colour"
    subset = f" Two classes: {name.split(':', 1)[-1] if ':' in name else datasets.ALIASES[name].split(':', 1)[1]}." \
        if name in datasets.ALIASES or ":" in name else ""
    return row, f"{sizes}, {width} x {height} {kind}, {row['num_classes']} classes, from {row['present_source']}.{subset}"


def dataset_title(name, info):
    if name not in info:
        return f"{name} (two classes)"
    row = info[name]
    return row["title"] + ("" if row["present_source"] else " (not on this machine)")


def data_and_model_ui(info):
    left, right = st.columns(2)
    with left:
        names = datasets.names()
        dataset = field(st.selectbox, "dataset", "Dataset", options=names,
                        format_func=lambda name: dataset_title(name, info))
        _, caption = dataset_caption(dataset, info)
        if caption:
            st.caption(caption)
        field(st.number_input, "max_samples", "Training samples (0 = all)", min_value=0, max_value=1_000_000,
              step=1000, help="A smaller, class-balanced subset trains faster; 20 at least.")
        field(st.slider, "validation_fraction", "Validation fraction", min_value=0.0, max_value=0.5, step=0.05,
              help="Training images held out to watch for overfitting; the test set is never touched in training.")
    with right:
        architecture = field(st.selectbox, "architecture", "Architecture", options=list(architectures.ARCHITECTURES))
        st.caption(architectures.DESCRIPTIONS.get(architecture, ""))
        epochs, batch = st.columns(2)
        with epochs:
            field(st.number_input, "epochs", "Epochs", min_value=1, max_value=500, step=1)
        with batch:
            field(st.number_input, "batch_size", "Batch size", min_value=1, max_value=4096, step=32)
        field(st.number_input, "seed", "Seed", min_value=0, max_value=2**31 - 1, step=1,
              help="The same seed gives the same split, initial weights, shuffling and augmentation.")
    return dataset, architecture


def optimizer_ui():
    left, middle, right = st.columns(3)
    with left:
        field(st.selectbox, "optimizer", "Optimizer", options=list(training.OPTIMIZERS),
              format_func=OPTIMIZER_TITLES.get)
        field(st.number_input, "learning_rate", "Learning rate", min_value=1e-6, max_value=100.0, step=1e-4,
              format="%g", help="The size of each step downhill. Too small learns slowly; 10 with SGD diverges (NaN).")
    with middle:
        field(st.number_input, "l1", "L1 penalty", min_value=0.0, max_value=1.0, step=1e-5, format="%g",
              help="Pushes weights to exactly zero (a sparse model).")
        field(st.number_input, "l2", "L2 penalty (weight decay)", min_value=0.0, max_value=1.0, step=1e-5,
              format="%g", help="Keeps weights small, which often generalises better.")
    with right:
        field(st.slider, "dropout", "Dropout", min_value=0.0, max_value=0.95, step=0.05,
              help="Share of units switched off at random in each training step: the network cannot rely on any one.")
        field(st.selectbox, "lr_schedule", "Learning-rate schedule", options=list(training.LR_SCHEDULES),
              help="cosine lowers the rate smoothly to 0 by the last step.")


def architecture_options_ui(architecture):
    if architecture in ("rnn", "crnn"):
        left, right = st.columns(2)
        with left:
            field(st.selectbox, "recurrent_cell", "Recurrent cell", options=list(architectures.RECURRENT_CELLS))
        with right:
            field(st.number_input, "recurrent_units", "Recurrent units", min_value=1, max_value=1024, step=16)
    elif architecture == "vit":
        columns = st.columns(4)
        with columns[0]:
            field(st.number_input, "patch_size", "Patch size (0 = automatic)", min_value=0, max_value=64, step=1)
        with columns[1]:
            field(st.number_input, "vit_dim", "Token width", min_value=4, max_value=512, step=8)
        with columns[2]:
            field(st.number_input, "vit_depth", "Blocks", min_value=1, max_value=12, step=1)
        with columns[3]:
            field(st.number_input, "vit_heads", "Heads", min_value=1, max_value=16, step=1)


def augmentation_ui():
    columns = st.columns(4)
    with columns[0]:
        field(st.slider, "augment_rotate", "Rotate (degrees either way)", min_value=0.0, max_value=90.0, step=1.0)
    with columns[1]:
        field(st.slider, "augment_shift", "Shift (share of the size)", min_value=0.0, max_value=0.5, step=0.01)
    with columns[2]:
        field(st.slider, "augment_noise", "Noise (grey levels)", min_value=0.0, max_value=64.0, step=1.0)
    with columns[3]:
        st.write("")
        field(st.toggle, "augment_flip", "Flip left-right", help="Right for clothes and photos, wrong for digits.")


def augmentation_preview_ui(values, present):
    if not present:
        return
    if not (values["augment_rotate"] or values["augment_shift"] or values["augment_flip"] or values["augment_noise"]):
        st.caption("Augmentation is off: the model sees the training images as they are. Turn on rotation, shift, "
                   "flip or noise to see what it would see instead.")
        return
    if "preview-seed" not in st.session_state:
        st.session_state["preview-seed"] = 0
    try:
        grid = augmentation_preview(values["dataset"], values["augment_rotate"], values["augment_shift"],
                                    values["augment_flip"], values["augment_noise"], st.session_state["preview-seed"])
    except (ValueError, datasets.DatasetUnavailable) as error:
        st.error(str(error), icon=":material/error:")
        return
    st.image(grid, caption="Top row: training images as stored. Below: three random versions of each, as the model "
                           "may see them in training (a new version every epoch).")
    if st.button("Show other random versions", icon=":material/shuffle:", key="preview-shuffle"):
        st.session_state["preview-seed"] += 1
        st.rerun()


def config_problem(values, info):
    """The one-sentence reason a config cannot start, or None."""
    try:
        training.TrainConfig.from_dict(dict(values))
    except training.ConfigError as error:
        return str(error)
    row, caption = dataset_caption(values["dataset"], info)
    if row is not None and row["present_source"] is None:
        return f"{caption} `python -m imgrec data` lists where each dataset can come from."
    return None


def session_owner():
    """This browser session's id as a run owner: a session may have IMGREC_MAX_RUNS_PER_SESSION runs at once."""
    if "run-owner" not in st.session_state:
        st.session_state["run-owner"] = secrets.token_hex(8)
    return st.session_state["run-owner"]


def submit_run(values, owner=None):
    """Submits a run (counted against `owner`'s limit when given); returns its id, or shows why it could not start."""
    try:
        return jobs.submit(dict(values), **({"owner": owner} if owner else {}))
    except (training.ConfigError, jobs.JobError) as error:
        st.error(str(error), icon=":material/error:")
        return None


def new_run_tab(info):
    st.markdown("Choose what to train and how. The defaults are the **quickstart**: a small convnet on MNIST that "
                "reaches about 98% test accuracy in under a minute.")
    with st.container(border=True):
        st.markdown("**Data and model**")
        dataset, architecture = data_and_model_ui(info)
        architecture_options_ui(architecture)
    with st.container(border=True):
        st.markdown("**Learning: optimizer and regularisation**")
        optimizer_ui()
    with st.container(border=True):
        st.markdown("**Augmentation: random changes to the training images**")
        augmentation_ui()
        values = dict(settings())
        row, _ = dataset_caption(dataset, info)
        augmentation_preview_ui(values, row is not None and row["present_source"] is not None)
    problem = config_problem(values, info)
    if problem:
        st.error(problem, icon=":material/error:")
    left, right = st.columns([1, 3])
    with left:
        start = st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=bool(problem),
                          key="start-run")
    with right:
        st.button("Reset to the quickstart", icon=":material/restart_alt:", key="reset-settings",
                  on_click=apply_settings, args=(training.preset("quickstart").to_dict(),))
    if start and not problem:
        run_id = submit_run(values, owner=session_owner())
        if run_id:
            select_run(run_id)
            st.rerun()


# ---------------------------------------------------------------------------------------
# One run: live while it trains, results once done.


def run_events(run_id):
    """Every progress event of a run, read incrementally: each poll reads only the new lines."""
    cache = st.session_state.setdefault("run-events", {})
    cursor, epochs, batches = cache.get(run_id, (0, [], []))
    events, cursor = jobs.read_metrics(run_id, cursor)
    epochs = epochs + [event for event in events if event.get("event") == "epoch"]
    batches = batches + [event for event in events if event.get("event") == "batch"]
    cache.clear()  # Only the watched run is kept: a long session must not hoard every run's events.
    cache[run_id] = (cursor, epochs, batches)
    return epochs, batches


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


@st.fragment(run_every=POLL_SECONDS)
def live_view(run_id, config):
    """Polls a queued or running run's folder every second; reruns the page once it has finished."""
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
    epochs, batches = run_events(run_id)
    if view["status"] == jobs.RUNNING:
        fraction, text = progress_text(view, batches)
        st.progress(fraction, text=text)
    if epochs or batches:
        st.plotly_chart(figures.training_curves(epochs, batches, SMOOTHING),
                        key=f"live-curves-{run_id}", config=_ui.CHART_CONFIG)
        if epochs:
            last = epochs[-1]
            st.caption(f"After epoch {last['epoch']}: training accuracy {last.get('accuracy', 0):.1%}"
                       + (f", validation accuracy {last['val_accuracy']:.1%}" if "val_accuracy" in last else "")
                       + ". When validation falls behind training, the model is starting to memorise.")
    cancelling = jobs.cancel_requested(run_id)
    if st.button("Stopping..." if cancelling else "Cancel run", icon=":material/stop:", disabled=cancelling,
                 key=f"cancel-{run_id}"):
        jobs.cancel(run_id, wait=False)
        st.rerun(scope="fragment")


def run_header(view, config):
    optimizer = OPTIMIZER_TITLES.get(config.get("optimizer"), config.get("optimizer"))
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
               f"dropout {config.get('dropout')}, L2 {config.get('l2'):g}.")


def results_view(run_id, view, config):
    outcome = jobs.result(run_id)
    if outcome is None:
        st.error("This run has no result file; it cannot be shown.", icon=":material/error:")
        return
    history = outcome["training"]["history"]
    _, batches = run_events(run_id)
    cards = st.columns(4)
    cards[0].metric("Test accuracy", f"{outcome['accuracy']:.2%}", help=f"On the {outcome['n']:,} images of the "
                    f"{outcome['split']} split, never seen in training.")
    cards[1].metric("Macro F1", f"{outcome['macro_f1']:.3f}", help="The mean of the classes' F1 scores.")
    cards[2].metric("ROC AUC", f"{outcome['roc_auc']:.4f}" if outcome.get("roc_auc") is not None else "-")
    cards[3].metric("Training time", f"{outcome['training']['seconds']:.1f} s",
                    help=f"{outcome['training']['samples_per_second']:,.0f} samples per second; "
                         f"{outcome['training']['train_samples']:,} training and "
                         f"{outcome['training']['validation_samples']:,} validation samples.")
    st.plotly_chart(figures.training_curves(history, batches, SMOOTHING),
                    key="result-curves", config=_ui.CHART_CONFIG)
    names = outcome["class_names"]
    # The confusion matrix takes the full width: its cells and its title need the room.
    normalize = st.toggle("Show each row as shares of its true class", key="confusion-normalize")
    st.plotly_chart(figures.confusion_matrix(outcome["confusion"], names, normalize=normalize),
                    key="result-confusion", config=_ui.CHART_CONFIG)
    st.plotly_chart(figures.per_class_bars(outcome["per_class"]), key="result-per-class", config=_ui.CHART_CONFIG)
    with st.expander("Per-class numbers"):
        st.dataframe(outcome["per_class"], hide_index=True,
                     column_config={key: st.column_config.NumberColumn(format="%.3f")
                                    for key in ("precision", "recall", "f1")})
    sha256 = (outcome.get("model") or {}).get("sha256")
    try:
        curves = run_roc_curves(run_id, sha256, outcome["dataset"])
        st.plotly_chart(figures.roc_curves(curves), key="result-roc", config=_ui.CHART_CONFIG)
        st.caption("Each curve sweeps the threshold on one class's probability, from flagging nothing (bottom left) "
                   "to flagging everything (top right). The area under it (AUC) is 1 for a perfect ranking and 0.5 "
                   "for a coin toss.")
        mistakes_view(run_id, sha256, outcome)
    except (OSError, jobs.JobError, registry.RegistryError, datasets.DatasetUnavailable) as error:
        st.warning(f"The run's model could not be loaded, so ROC curves and Grad-CAM are not shown: {error}",
                   icon=":material/warning:")
    save_view(run_id, config)


def mistakes_view(run_id, sha256, outcome):
    mistakes = outcome.get("misclassified") or []
    st.subheader(f"Mistakes: {outcome.get('misclassified_count', len(mistakes)):,} of {outcome['n']:,} test images")
    if not mistakes:
        st.success("The model got every test image right.", icon=":material/celebration:")
        return
    shown = mistakes[:GALLERY_SHOWN]
    pairs = mistakes_gallery(run_id, sha256, outcome["dataset"], shown)
    st.caption("The mistakes the model was most sure of. Left: the test image; right: its Grad-CAM for the class "
               "the model wrongly chose, the regions that spoke most for that class.")
    columns = st.columns(4)
    for position, (mistake, pair) in enumerate(zip(shown, pairs, strict=True)):
        with columns[position % 4]:
            st.image(pair, caption=f"true {mistake['true_label']}, predicted {mistake['predicted_label']} "
                                   f"({mistake['confidence']:.0%})")


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
            card = jobs.save_run_as_model(run_id, name)
        except (registry.RegistryError, jobs.JobError) as error:
            st.error(str(error), icon=":material/error:")
            return
        _ui.model_cards.clear()  # Every page lists the new model at once, not after the list's TTL.
        st.session_state.model_name = card["name"]
        st.success(f"Saved as **{card['name']}** ({_ui.accuracy_text(card)}).", icon=":material/check_circle:")
        left, right, _ = st.columns([1, 1, 2])
        with left:
            st.page_link("pages/predict.py", label="Try it on Predict", icon=":material/image_search:")
        with right:
            st.page_link("pages/models.py", label="See it on Models", icon=":material/inventory_2:")


def run_tab():
    run_id = selected_run()
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
        return
    run_header(view, config)
    if view["status"] == jobs.DONE:
        results_view(run_id, view, config)
    else:
        st.error(view.get("reason") or f"The run was {view['status']}.", icon=":material/error:")
        epochs, batches = run_events(run_id)
        if epochs or batches:
            st.plotly_chart(figures.training_curves(epochs, batches, SMOOTHING),
                            key="ended-curves", config=_ui.CHART_CONFIG)


# ---------------------------------------------------------------------------------------
# Comparing runs, and the optimizer race.


def run_history(run):
    """A run's epoch records: from its result when done, else from its metrics so far."""
    if run["status"] == jobs.DONE:
        outcome = jobs.result(run["id"]) or {}
        return (outcome.get("training") or {}).get("history") or []
    events, _ = jobs.read_metrics(run["id"])
    return [event for event in events if event.get("event") == "epoch"]


def race(values):
    """Submits the same settings once per optimizer; returns the new run ids."""
    run_ids = []
    for optimizer in training.OPTIMIZERS:
        run_id = submit_run({**values, "optimizer": optimizer})
        if run_id is None:
            break
        run_ids.append(run_id)
    return run_ids


def comparison_rows(chosen):
    rows = []
    for run in chosen:
        config = jobs.read_config(run["id"])
        history = run_history(run)
        last = history[-1] if history else {}
        rows.append({
            "Run": run["id"], "Status": run["status"],
            "Optimizer": OPTIMIZER_TITLES.get(config.get("optimizer"), config.get("optimizer")),
            "Learning rate": config.get("learning_rate"), "Dropout": config.get("dropout"), "L2": config.get("l2"),
            "Architecture": config.get("architecture"), "Dataset": config.get("dataset"),
            "Samples": config.get("max_samples") or "all", "Epochs": f"{len(history)} of {config.get('epochs')}",
            "Validation accuracy": last.get("val_accuracy"), "Test accuracy": run.get("test_accuracy"),
            "Train seconds": run.get("train_seconds"),
        })
    return rows


def race_label(run, config):
    return f"{OPTIMIZER_TITLES.get(config.get('optimizer'), config.get('optimizer'))} " \
           f"(lr {config.get('learning_rate'):g}, {run['id'][-6:]})"


def comparison_chart(run_ids, metric, *, live=False):
    """The overlaid curves and the table of the chosen runs; `live` while some still train (polled)."""
    by_id = {run["id"]: run for run in jobs.list_runs()}
    chosen = [by_id[run_id] for run_id in run_ids if run_id in by_id]
    still_going = any(run["status"] in (jobs.QUEUED, jobs.RUNNING) for run in chosen)
    if live and not still_going:
        st.rerun()  # Everything finished: draw it once more, without polling.
    histories = {race_label(run, jobs.read_config(run["id"])): run_history(run) for run in chosen}
    st.plotly_chart(figures.runs_overlay(histories, metric), key="compare-chart", config=_ui.CHART_CONFIG)
    st.dataframe(comparison_rows(chosen), hide_index=True, column_config={
        "Validation accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Learning rate": st.column_config.NumberColumn(format="%g"),
        "L2": st.column_config.NumberColumn(format="%g"),
    })
    if still_going:
        st.caption("Runs still queued or training; the chart follows them as they go.")


# The same view, polled while any chosen run is still queued or training (the optimizer race).
live_comparison_chart = st.fragment(run_every=2 * POLL_SECONDS)(comparison_chart)


def compare_tab(runs):
    st.markdown("Overlay the curves of several runs. The **optimizer race** trains the settings of *New run* five "
                "times, once with each optimizer, so you can watch which one learns fastest (as in ConvNetJS).")
    values = dict(settings())
    problem = config_problem(values, dataset_info())
    with st.container(border=True):
        st.caption(f"Race settings: {values['architecture']} on {values['dataset']}, {values['epochs']} epochs, "
                   f"learning rate {values['learning_rate']:g} for all five. Plain SGD usually needs a larger rate "
                   "(0.01 to 0.1); run the race twice to see it catch up.")
        if st.button("Start the optimizer race", icon=":material/sports_score:", disabled=bool(problem), key="race",
                     help=problem):
            started = race(values)
            if started:
                st.session_state["compare-runs"] = started
                st.rerun()
    choices = [run for run in runs if run["status"] != jobs.FAILED or run.get("started")]
    labels = {run["id"]: run_label(run) for run in choices}
    if "compare-runs" not in st.session_state:
        st.session_state["compare-runs"] = [run["id"] for run in choices if run["status"] == jobs.DONE][:3]
    st.session_state["compare-runs"] = [run_id for run_id in st.session_state["compare-runs"] if run_id in labels]
    chosen = st.multiselect("Runs to compare", list(labels), key="compare-runs", format_func=labels.get)
    metric = st.segmented_control("Curve", list(METRIC_TITLES), format_func=METRIC_TITLES.get, default="val_accuracy",
                                  key="compare-metric") or "val_accuracy"
    if not chosen:
        st.info("Choose runs above, or start the race.", icon=":material/arrow_upward:")
        return
    in_flight = {run["id"] for run in runs if run["status"] in (jobs.QUEUED, jobs.RUNNING)}
    if in_flight & set(chosen):
        live_comparison_chart(tuple(chosen), metric, live=True)
    else:
        comparison_chart(tuple(chosen), metric)


# ---------------------------------------------------------------------------------------
# Hyperparameter search.

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
L2_VALUES = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]


def search_space_ui():
    """The ranges and the kind of search; returns (kind, budget, space)."""
    kind = st.segmented_control("Kind", list(search.KINDS), format_func=search.KIND_TITLES.get, default="random",
                                key="search-kind") or "random"
    st.caption({
        "grid": "Tries every combination of a few values per setting (or a random share of them, within the budget).",
        "random": "Draws each setting at random from its range: with few trials it covers each setting better than "
                  "a grid (Bergstra and Bengio, 2012).",
        "bayesian": "Starts with a few random trials, then models which settings scored well and tries promising "
                    "ones next (Tree-structured Parzen Estimator, Bergstra et al., 2011).",
    }[kind])
    left, right = st.columns(2)
    with left:
        low_lr, high_lr = st.select_slider("Learning rate range", LEARNING_RATES, value=(1e-4, 3e-2),
                                           format_func=lambda value: f"{value:g}", key="search-lr")
        low_l2, high_l2 = st.select_slider("L2 range", L2_VALUES, value=(1e-6, 1e-3),
                                           format_func=lambda value: f"{value:g}", key="search-l2")
        low_dropout, high_dropout = st.slider("Dropout range", 0.0, 0.9, (0.0, 0.6), 0.05, key="search-dropout")
    with right:
        optimizers = st.multiselect("Optimizers", list(training.OPTIMIZERS), default=list(training.OPTIMIZERS),
                                    format_func=OPTIMIZER_TITLES.get, key="search-optimizers")
        budget = st.number_input("Trials (budget)", min_value=1, max_value=search.MAX_BUDGET, value=8,
                                 key="search-budget")
        grid_points = 2
        if kind == "grid":
            grid_points = st.number_input("Values per range (grid)", min_value=2, max_value=10, value=2,
                                          key="search-grid-points")
    space = search.SearchSpace(
        learning_rate=(low_lr, high_lr) if low_lr < high_lr else None,
        dropout=(low_dropout, high_dropout) if low_dropout < high_dropout else None,
        l2=(low_l2, high_l2) if low_l2 < high_l2 else None,
        optimizers=tuple(optimizers) or None,
        grid_points=int(grid_points),
    )
    return kind, int(budget), space


def new_search_ui():
    values = dict(settings())
    st.markdown(f"Each trial trains the settings of **New run** ({values['architecture']} on {values['dataset']}, "
                f"{values['epochs']} epochs, {values['max_samples'] or 'all'} samples) with the searched settings "
                "changed, and is ranked by its **validation** accuracy: choosing on the test set would make the "
                "test score a flattering guess. Smaller runs make quicker searches.")
    kind, budget, space = search_space_ui()
    if st.button("Start the search", type="primary", icon=":material/travel_explore:", key="start-search"):
        try:
            created = search.Search.create(kind, space, budget, values, seed=int(values.get("seed", 0)))
            created.advance()
        except (search.SearchError, training.ConfigError, jobs.JobError) as error:
            st.error(str(error), icon=":material/error:")
            return
        st.session_state["pending-search"] = created.id
        st.rerun()


def trial_rows(current):
    rows = []
    for trial in current.trials:
        params = trial["params"]
        rows.append({
            "Trial": trial["number"] + 1, "Status": trial["status"],
            "Optimizer": OPTIMIZER_TITLES.get(params.get("optimizer"), current.base_config.get("optimizer")),
            "Learning rate": params.get("learning_rate", current.base_config["learning_rate"]),
            "Dropout": params.get("dropout", current.base_config["dropout"]),
            "L2": params.get("l2", current.base_config["l2"]),
            "Validation accuracy": trial.get("value"), "Test accuracy": trial.get("test_accuracy"),
            "Run": trial.get("run_id") or "", "Note": trial.get("reason") or "",
        })
    return rows


def search_view(search_id, *, live=False):
    """A search's progress, trials and best settings; `live` (polled) while it runs, advancing it each time."""
    try:
        current = search.Search.load(search_id).advance()
    except (search.SearchError, jobs.JobError) as error:
        st.error(str(error), icon=":material/error:")
        return
    if live and current.finished:
        st.rerun()  # Finished: draw it once more, without polling.
    done = sum(trial["status"] not in (*search.IN_FLIGHT, search.PLANNED) for trial in current.trials)
    st.progress(done / max(1, current.budget), text=f"{search.KIND_TITLES[current.kind]}: {done} of {current.budget} "
                                                     f"trials finished ({current.state}).")
    if current.note:
        st.caption(current.note)
    st.dataframe(trial_rows(current), hide_index=True, column_config={
        "Validation accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Learning rate": st.column_config.NumberColumn(format="%.3g"),
        "Dropout": st.column_config.NumberColumn(format="%.2f"),
        "L2": st.column_config.NumberColumn(format="%.3g"),
    })
    best = current.best()
    if best is not None:
        params = best["params"]
        described = ", ".join(f"{name.replace('_', ' ')} {value:.3g}" if isinstance(value, float)
                              else f"{name} {OPTIMIZER_TITLES.get(value, value)}" for name, value in params.items())
        st.success(f"Best so far: trial {best['number'] + 1}, validation accuracy {best['value']:.2%} "
                   f"(test {best['test_accuracy']:.2%}): {described}.", icon=":material/emoji_events:")
        if st.button("Use these settings for a new run", icon=":material/tune:", key=f"use-best-{search_id}"):
            # Four significant digits: the form shows them in full, and the fifth never matters.
            apply_settings({name: float(f"{value:.4g}") if isinstance(value, float) else value
                            for name, value in params.items()})
            open_tab(TAB_NEW)
            st.rerun(scope="app")
    if not current.finished and st.button("Cancel the search", icon=":material/stop:", key=f"cancel-{search_id}"):
        current.cancel()
        st.rerun(scope="fragment")


# The same view, polled while the search runs: every look advances it (records results, submits trials).
live_search_view = st.fragment(run_every=SEARCH_POLL_SECONDS)(search_view)


def search_tab():
    st.markdown("Let the computer try settings for you: a small **search** over the learning rate, dropout, L2 and "
                "optimizer, each trial a run of its own. The table fills in as trials finish.")
    found = search.list_searches()
    # Fixed labels (no state): a widget matches its options by their labels.
    labels = {values["id"]: f"{time.strftime('%H:%M:%S', time.localtime(values.get('created') or 0))} "
                            f"{search.KIND_TITLES.get(values.get('kind'), values.get('kind'))}, "
                            f"{values.get('budget')} trials ({values['id'][-6:]})" for values in found}
    options = ["new", *labels]
    if "pending-search" in st.session_state:
        st.session_state["search-id"] = st.session_state.pop("pending-search")
    if st.session_state.get("search-id") not in options:
        st.session_state["search-id"] = "new"
    chosen = st.selectbox("Search", options, key="search-id",
                          format_func=lambda item: "A new search" if item == "new" else labels[item])
    if chosen == "new":
        new_search_ui()
    else:
        try:
            running = not search.Search.load(chosen).finished
        except search.SearchError as error:
            st.error(str(error), icon=":material/error:")
            return
        if running:
            live_search_view(chosen, live=True)
        else:
            search_view(chosen)


# ---------------------------------------------------------------------------------------


def main():
    st.title("Train")
    st.markdown("Train a network on your choice of data and settings, watch it learn, and read where it goes wrong. "
                "Runs train in the background on the server: you can leave this page, refresh it, or watch the same "
                "run from another browser.")
    recovered()
    run_from_url()
    if selected_run() and st.query_params.get("run") != selected_run():
        st.query_params["run"] = selected_run()  # Back from another page: the address names the run again.
    runs = jobs.list_runs()
    run_picker(runs)
    if "pending-tab" in st.session_state:
        st.session_state["train-tab"] = st.session_state.pop("pending-tab")
    if "train-tab" not in st.session_state:
        st.session_state["train-tab"] = TAB_RUN if selected_run() else TAB_NEW
    new_tab, run_tab_container, compare_container, search_container = st.tabs(TABS, key="train-tab", on_change="rerun")
    if new_tab.open:
        with new_tab:
            new_run_tab(dataset_info())
    if run_tab_container.open:
        with run_tab_container:
            run_tab()
    if compare_container.open:
        with compare_container:
            compare_tab(runs)
    if search_container.open:
        with search_container:
            search_tab()


_ui.run_inside_navigation()
main()
