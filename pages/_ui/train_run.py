"""The Train page's Run tab: a run live while it trains (progress, curves, cancel), its results once done, saving it.

A queued or running run is drawn by a fragment that polls the run's folder every two seconds;
nothing trains in the web server. Watching must cost the server next to nothing, whoever
watches: the run's events are parsed once per process (`jobs.progress`, only the new lines),
and its curves are drawn once per update for every viewer (`live_curves`).
"""

import re

import streamlit as st

from imgrec import figures, jobs, paths, registry, texts
from imgrec.jobs import tensorboard_server
from pages._ui import charts, compute, i18n, models, train_results, train_runs, train_settings
from pages._ui.i18n import t

SMOOTHING = train_results.SMOOTHING
GALLERY_SHOWN = train_results.GALLERY_SHOWN
STATUS_ICONS = {"queued": ":material/hourglass_empty:", "running": ":material/directions_run:",
                "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}
PHASE_TEXTS = {"starting": "train_run.phase_starting", "training": "train_run.phase_training",
               "evaluating": "train_run.phase_evaluating"}
PHASES = {phase: texts.ENGLISH(key) for phase, key in PHASE_TEXTS.items()}  # The phases' sentences in English.
# How a run that ended without a model ended, in words (jobs.STATE_PHRASES's, in the session's language).
ENDED = {"failed": "train_run.ended_failed", "cancelled": "train_run.ended_cancelled"}
# The reasons imgrec.jobs gives a cancelled run (queue.py, worker.py), in the session's language.
CANCEL_REASONS = {"Cancelled.": "train_run.ended_cancelled", "Cancelled before it started.": "train_run.cancelled_queued",
                  "Cancelled before training started.": "train_run.cancelled_starting",
                  "Cancelled while evaluating.": "train_run.cancelled_evaluating"}
_CANCELLED_AFTER = re.compile(r"Cancelled after (\d+) of (\d+) epochs?\.")


@st.cache_resource(max_entries=16, show_spinner=False)
def _curves(runs_folder, run_id, version, language):
    """The training-curves figure of a run's events at one version in one language, drawn once for every session
    watching it."""
    progress = jobs.progress(run_id, runs_dir=runs_folder)
    return figures.training_curves(progress.epochs, progress.batches, SMOOTHING, texts=texts.Texts(language))


def live_curves(run_id, progress):
    """The figure of a run's curves as `progress` has them (shared between sessions: never change it)."""
    return _curves(str(paths.runs_dir()), run_id, progress.version, i18n.language())


def progress_text(view, batches):
    """The progress fraction and a sentence with epochs, batches, elapsed time and ETA."""
    if not batches:
        phase = view.get("phase")
        return 0.0, t(PHASE_TEXTS[phase]) if phase in PHASE_TEXTS else t("train_run.starting")
    last = batches[-1]
    fraction = min(1.0, last["step"] / max(1, last["total_steps"]))
    elapsed = float(last.get("elapsed", 0.0))
    if view.get("phase") == "evaluating":
        return 1.0, t(PHASE_TEXTS["evaluating"])
    values = {"epoch": last["epoch"], "step": f"{last['step']:,}", "steps": f"{last['total_steps']:,}",
              "elapsed": f"{elapsed:.0f}"}
    if fraction > 0.02:
        # The remaining steps at the average pace so far (validation passes included).
        return fraction, t("train_run.progress_left", left=f"{elapsed * (1 - fraction) / fraction:.0f}", **values)
    return fraction, t("train_run.progress", **values)


@st.fragment(run_every=train_runs.POLL_SECONDS)
def live_view(run_id, config):
    """Polls a queued or running run's folder every two seconds; reruns the page once it has finished."""
    try:
        view = jobs.status(run_id)
    except jobs.JobError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return
    if view["status"] in jobs.FINISHED_STATES:
        st.rerun()
    run_header(view, config)
    if view["status"] == jobs.QUEUED:
        position = view.get("queue_position")
        st.info(t("train_run.queued", position=position, at_once=jobs.max_runs()), icon=":material/hourglass_empty:")
    progress = jobs.progress(run_id)
    if view["status"] == jobs.RUNNING:
        fraction, text = progress_text(view, progress.batches)
        st.progress(fraction, text=text)
    if progress.epochs or progress.batches:
        charts.show(live_curves(run_id, progress), key=f"live-curves-{run_id}")
        if progress.epochs:
            st.caption(epoch_text(progress.epochs[-1]))
    cancelling = jobs.cancel_requested(run_id)
    if st.button(t("train_run.stopping") if cancelling else t("train_run.cancel"), icon=":material/stop:", disabled=cancelling,
                 key=f"cancel-{run_id}"):
        jobs.cancel(run_id, wait=False)
        st.rerun(scope="fragment")


def epoch_text(last):
    """How the last finished epoch went, in words: accuracies, or an autoencoder's reconstruction errors."""
    if "accuracy" not in last:
        if "val_loss" in last:
            return t("train_run.epoch_error_both", epoch=last["epoch"], train=f"{last.get('loss', 0):.4f}",
                     validation=f"{last['val_loss']:.4f}")
        return t("train_run.epoch_error", epoch=last["epoch"], train=f"{last.get('loss', 0):.4f}")
    if "val_accuracy" in last:
        return t("train_run.epoch_accuracy_both", epoch=last["epoch"], train=f"{last.get('accuracy', 0):.1%}",
                 validation=f"{last['val_accuracy']:.1%}")
    return t("train_run.epoch_accuracy", epoch=last["epoch"], train=f"{last.get('accuracy', 0):.1%}")


def run_header(view, config):
    optimizer = train_settings.optimizer_title(config.get("optimizer"))
    samples = (t("train_run.samples", count=f"{config['max_samples']:,}") if config.get("max_samples")
               else t("train_run.all_samples"))
    st.markdown(f"#### {STATUS_ICONS.get(view['status'], '')} "
                + t("train_run.header", run=view["id"], status=train_runs.status_text(view["status"])))
    if view.get("executor") == "ray":
        host = f" ({view['node_host']})" if view.get("node_host") else ""
        node = (t("train_run.ray_node", node=view["node_id"][:12], host=host) if view.get("node_id")
                else t("train_run.a_ray_node"))
        st.caption(":material/hub: " + t("train_run.on_ray", node=node, job=view.get("ray_job_id")))
    elif view.get("executor") == "local":
        st.caption(":material/dns: " + t("train_run.on_local", node=view.get("node_id")))
    epochs = config.get("epochs")
    extra = (t("train_run.code_of", count=config.get("latent_dim")) if config.get("architecture") == "autoencoder"
             else t("train_run.dropout", dropout=config.get("dropout")))
    st.caption(t("train_run.summary_one" if epochs == 1 else "train_run.summary", architecture=config.get("architecture"),
                 dataset=config.get("dataset"), samples=samples, epochs=epochs, batch=config.get("batch_size"),
                 optimizer=optimizer, rate=f"{config.get('learning_rate'):g}", extra=extra, l2=f"{config.get('l2'):g}"))


def results_view(run_id, view, config):
    outcome = jobs.result(run_id)
    if outcome is None:
        st.error(t("train_run.no_result"), icon=":material/error:")
        return
    if outcome.get("task") == "reconstruction":
        train_results.reconstruction_results(run_id, outcome)
    else:
        train_results.classification_results(run_id, outcome)
    save_view(run_id, config)


def tensorboard_view(run_id):
    """The command that opens the run's TensorBoard logs, which every run writes as it trains."""
    st.caption(t("train_run.tensorboard"))
    st.code(tensorboard_server.command(run_id), language="bash")


def default_model_name(run_id, config):
    base = f"{config.get('architecture', 'model')}-{str(config.get('dataset', 'data')).split(':', 1)[0]}"
    name = "".join(character if character.isalnum() or character in "-_" else "-" for character in base.lower())
    return f"{name}-{run_id[-6:]}"[:64]


def save_view(run_id, config):
    st.subheader(t("train_run.save_title"))
    with st.form(f"save-{run_id}", border=True):
        name = st.text_input(t("train_run.model_name"), value=default_model_name(run_id, config), max_chars=64,
                             help=t("train_run.model_name_help"))
        saved = st.form_submit_button(t("train_run.save"), icon=":material/save:", type="primary")
    if saved:
        try:
            registry.validate_name(name)
            card = compute.save_run_as_model(run_id, name)
        except (registry.RegistryError, jobs.JobError) as error:
            st.error(i18n.error_text(error), icon=":material/error:")
            return
        models.model_cards.clear()  # Every page lists the new model at once, not after the list's TTL.
        st.session_state.model_name = card.name
        st.success(t("train_run.saved", name=card.name, accuracy=models.score_text(card)), icon=":material/check_circle:")
        left, right, _ = st.columns([1, 1, 2])
        with left:
            st.page_link("pages/predict.py", label=t("train_run.try_on_predict"), icon=":material/image_search:")
        with right:
            st.page_link("pages/models.py", label=t("train_run.see_on_models"), icon=":material/inventory_2:")


def run_tab():
    run_id = train_runs.selected_run()
    if not run_id:
        st.info(t("train_run.no_run"), icon=":material/arrow_back:")
        return
    try:
        view = jobs.status(run_id)
        config = jobs.read_config(run_id)
    except jobs.JobError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
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


def cancel_reason(reason):
    """Why a run was cancelled, in the session's language (`jobs`'s sentence as it is in English)."""
    after = _CANCELLED_AFTER.fullmatch(reason or "")
    if i18n.language() == i18n.DEFAULT:
        return reason or t("train_run.ended_cancelled")
    if after:
        return t("train_run.cancelled_after", done=after[1], epochs=after[2])
    return t(CANCEL_REASONS.get(reason, "train_run.ended_cancelled"))


def ended_view(run_id, view):
    """A run that ended without a model: cancelled (someone chose to; no error) or failed (why), and its curves."""
    if view["status"] == jobs.CANCELLED:
        st.info(t("train_run.cancelled", reason=cancel_reason(view.get("reason"))), icon=":material/block:")
    else:
        st.error(i18n.error_text(view["reason"]) if view.get("reason")
                 else t(ENDED.get(view["status"], "train_run.ended_failed")), icon=":material/error:")
    progress = jobs.progress(run_id)
    if progress.epochs or progress.batches:
        charts.show(live_curves(run_id, progress), key="ended-curves")
        tensorboard_view(run_id)
