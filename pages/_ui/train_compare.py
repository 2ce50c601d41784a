"""The Train page's Compare tab: the curves of several runs overlaid, and the optimizer race."""

import streamlit as st

from imgrec import figures, jobs, training
from pages._ui import train_runs, train_settings, views

METRIC_TITLES = {"val_accuracy": "Validation accuracy", "val_loss": "Validation loss",
                 "accuracy": "Training accuracy", "loss": "Training loss"}


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
SETTINGS = {"architecture": "Architecture", "dataset": "Dataset", "max_samples": "Samples",
            "learning_rate": "Learning rate", "dropout": "Dropout", "l2": "L2"}


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
            "Run": run["id"][-6:], "Status": run["status"],
            "Optimizer": train_settings.optimizer_title(config.get("optimizer")),
            # Samples as text ("all" or "600"): one column holds one type.
            **{SETTINGS[key]: _setting_text(key, config.get(key)) if key == "max_samples" else config.get(key)
               for key in differing},
            "Epochs": f"{len(history)} of {config.get('epochs')}",
            "Validation accuracy": views.in_percent(last.get("val_accuracy")),
            "Test accuracy": views.in_percent(run.get("test_accuracy")), "Seconds": run.get("train_seconds"),
        })
    shared = [f"{SETTINGS[key].lower()} {_setting_text(key, configs[chosen[0]['id']].get(key))}"
              for key in SETTINGS if key not in differing] if chosen else []
    return rows, shared


def _setting_text(key, value):
    if key == "max_samples":
        return f"{value:,}" if value else "all"
    return f"{value:g}" if isinstance(value, float) else str(value)


def race_label(run, config):
    return f"{train_settings.optimizer_title(config.get('optimizer'))} " \
           f"(lr {config.get('learning_rate'):g}, {run['id'][-6:]})"


def comparison_chart(run_ids, metric, *, live=False):
    """The overlaid curves and the table of the chosen runs; `live` while some still train (polled)."""
    by_id = {run["id"]: run for run in jobs.list_runs()}
    chosen = [by_id[run_id] for run_id in run_ids if run_id in by_id]
    still_going = any(run["status"] in (jobs.QUEUED, jobs.RUNNING) for run in chosen)
    if live and not still_going:
        st.rerun()  # Everything finished: draw it once more, without polling.
    histories = {race_label(run, jobs.read_config(run["id"])): run_history(run) for run in chosen}
    st.plotly_chart(figures.runs_overlay(histories, metric), key="compare-chart", config=views.CHART_CONFIG)
    rows, shared = comparison_rows(chosen)
    st.dataframe(rows, hide_index=True, column_config={
        "Validation accuracy": views.percent_column(), "Test accuracy": views.percent_column(),
        "Learning rate": st.column_config.NumberColumn(format="%g"), "L2": st.column_config.NumberColumn(format="%g"),
        "Seconds": st.column_config.NumberColumn("Train seconds", format="%.1f"),
    })
    if shared:
        st.caption(f"Every run here: {', '.join(shared)}.")
    if still_going:
        st.caption("Runs still queued or training; the chart follows them as they go.")


# The same view, polled while any chosen run is still queued or training (the optimizer race).
live_comparison_chart = st.fragment(run_every=2 * train_runs.POLL_SECONDS)(comparison_chart)


def compare_tab(runs):
    st.markdown("Overlay the curves of several runs. The **optimizer race** trains the settings of *New run* five "
                "times, once with each optimizer, so you can watch which one learns fastest (as in ConvNetJS).")
    values = dict(train_settings.settings())
    problem = train_settings.config_problem(values)
    with st.container(border=True):
        st.caption(f"Race settings: {values['architecture']} on {values['dataset']}, "
                   f"{figures.plural(values['epochs'], 'epoch')}, "
                   f"learning rate {values['learning_rate']:g} for all five. Plain SGD usually needs a larger rate "
                   "(0.01 to 0.1); run the race twice to see it catch up.")
        if st.button("Start the optimizer race", icon=":material/sports_score:", disabled=bool(problem), key="race",
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
