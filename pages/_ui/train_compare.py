"""The Train page's Compare tab: the curves of several runs overlaid, and the optimizer race."""

import streamlit as st

from imgrec import figures, jobs, training
from pages._ui import charts, i18n, train_runs, train_settings, views
from pages._ui.i18n import t

METRIC_TITLES = {"val_accuracy": "train_compare.val_accuracy", "val_loss": "train_compare.val_loss",
                 "accuracy": "train_compare.accuracy", "loss": "train_compare.loss"}


def run_history(run):
    """A run's epoch records: from its result when done, else from its metrics so far."""
    if run["status"] == jobs.DONE:
        outcome = jobs.result(run["id"]) or {}
        return (outcome.get("training") or {}).get("history") or []
    return list(jobs.progress(run["id"]).epochs)


def race(values):
    """Submits the same settings once per optimizer; returns the new run ids."""
    run_ids = []
    for optimizer in training.OPTIMIZERS:
        run_id = train_settings.submit_run({**values, "optimizer": optimizer})
        if run_id is None:
            break
        run_ids.append(run_id)
    return run_ids


# The settings a comparison can differ in, as the table names them.
SETTINGS = {"architecture": "train_compare.architecture", "dataset": "train_compare.dataset",
            "max_samples": "train_compare.samples", "learning_rate": "train_compare.learning_rate",
            "dropout": "train_compare.dropout", "l2": "train_compare.l2"}
# The table's other columns.
COLUMNS = {"run": "train_compare.column_run", "status": "train_compare.column_status",
           "optimizer": "train_compare.column_optimizer", "epochs": "train_compare.column_epochs",
           "validation": "train_compare.column_validation", "test": "train_compare.column_test",
           "seconds": "train_compare.column_seconds"}


def comparison_rows(chosen):
    """One row per run; the settings they share go into a sentence instead, so the table fits the page."""
    configs = {run["id"]: jobs.read_config(run["id"]) for run in chosen}
    differing = [key for key in SETTINGS if len({str(config.get(key)) for config in configs.values()}) > 1]
    rows = []
    for run in chosen:
        config = configs[run["id"]]
        history = run_history(run)
        last = history[-1] if history else {}
        rows.append({
            t(COLUMNS["run"]): run["id"][-6:], t(COLUMNS["status"]): train_runs.status_text(run["status"]),
            t(COLUMNS["optimizer"]): train_settings.optimizer_title(config.get("optimizer")),
            # Samples as text ("all" or "600"): one column holds one type.
            **{t(SETTINGS[key]): _setting_text(key, config.get(key)) if key == "max_samples" else config.get(key)
               for key in differing},
            t(COLUMNS["epochs"]): t("train_compare.epochs_of", done=len(history), epochs=config.get("epochs")),
            t(COLUMNS["validation"]): views.in_percent(last.get("val_accuracy")),
            t(COLUMNS["test"]): views.in_percent(run.get("test_accuracy")), t(COLUMNS["seconds"]): run.get("train_seconds"),
        })
    shared = [t("train_compare.shared_setting", setting=t(SETTINGS[key]).lower(),
                value=_setting_text(key, configs[chosen[0]['id']].get(key)))
              for key in SETTINGS if key not in differing] if chosen else []
    return rows, shared


def _setting_text(key, value):
    if key == "max_samples":
        return f"{value:,}" if value else t("train_compare.all")
    return f"{value:g}" if isinstance(value, float) else str(value)


def race_label(run, config):
    return t("train_compare.race_label", optimizer=train_settings.optimizer_title(config.get("optimizer")),
             rate=f"{config.get('learning_rate'):g}", run=run["id"][-6:])


def comparison_chart(run_ids, metric, *, live=False):
    """The overlaid curves and the table of the chosen runs; `live` while some still train (polled)."""
    by_id = {run["id"]: run for run in jobs.list_runs()}
    chosen = [by_id[run_id] for run_id in run_ids if run_id in by_id]
    still_going = any(run["status"] in (jobs.QUEUED, jobs.RUNNING) for run in chosen)
    if live and not still_going:
        st.rerun()  # Everything finished: draw it once more, without polling.
    histories = {race_label(run, jobs.read_config(run["id"])): run_history(run) for run in chosen}
    charts.show(figures.runs_overlay(histories, metric, texts=i18n.texts_now()), key="compare-chart")
    rows, shared = comparison_rows(chosen)
    st.dataframe(rows, hide_index=True, column_config={
        t(COLUMNS["validation"]): views.percent_column(), t(COLUMNS["test"]): views.percent_column(),
        t(SETTINGS["learning_rate"]): st.column_config.NumberColumn(format="%g"),
        t(SETTINGS["l2"]): st.column_config.NumberColumn(format="%g"),
        t(COLUMNS["seconds"]): st.column_config.NumberColumn(t("train_compare.train_seconds"), format="%.1f"),
    })
    if shared:
        st.caption(t("train_compare.shared", settings=", ".join(shared)))
    if still_going:
        st.caption(t("train_compare.still_going"))


# The same view, polled while any chosen run is still queued or training (the optimizer race).
live_comparison_chart = st.fragment(run_every=2 * train_runs.POLL_SECONDS)(comparison_chart)


def compare_tab(runs):
    st.markdown(t("train_compare.intro"))
    values = dict(train_settings.settings())
    problem = train_settings.config_problem(values)
    with st.container(border=True):
        st.caption(t("train_compare.race_settings_one" if values["epochs"] == 1 else "train_compare.race_settings",
                     architecture=values["architecture"], dataset=values["dataset"], epochs=values["epochs"],
                     rate=f"{values['learning_rate']:g}"))
        if st.button(t("train_compare.race"), icon=":material/sports_score:", disabled=bool(problem), key="race",
                     help=problem):
            started = race(values)
            if started:
                st.session_state["compare-runs"] = started
                st.rerun()
    choices = [run for run in runs if run["status"] != jobs.FAILED or run.get("started")]
    labels = {run["id"]: train_runs.run_label(run) for run in choices}
    if "compare-runs" not in st.session_state:
        st.session_state["compare-runs"] = [run["id"] for run in choices if run["status"] == jobs.DONE][:3]
    st.session_state["compare-runs"] = [run_id for run_id in st.session_state["compare-runs"] if run_id in labels]
    chosen = st.multiselect(t("train_compare.runs"), list(labels), key="compare-runs", format_func=labels.get)
    metric = st.segmented_control(t("train_compare.curve"), list(METRIC_TITLES),
                                  format_func={name: t(key) for name, key in METRIC_TITLES.items()}.get,
                                  default="val_accuracy",
                                  key="compare-metric") or "val_accuracy"
    if not chosen:
        st.info(t("train_compare.choose"), icon=":material/arrow_upward:")
        return
    in_flight = {run["id"] for run in runs if run["status"] in (jobs.QUEUED, jobs.RUNNING)}
    if in_flight & set(chosen):
        live_comparison_chart(tuple(chosen), metric, live=True)
    else:
        comparison_chart(tuple(chosen), metric)
