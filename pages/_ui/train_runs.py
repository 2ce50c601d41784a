"""Which run the Train page shows: the selected run in session state and the URL, and the sidebar's list of runs.

The selected run lives in session state and in the URL (`?run=ID`), so a refresh or a shared
link finds it; the sidebar lists every run on this server, so any session can watch any run.
"""

import time

import streamlit as st

from imgrec import jobs
from pages._ui import train_settings

POLL_SECONDS = 1.0  # The live view's refresh: often enough to watch a curve grow, cheap for the server.
RUNS_LISTED = 60  # Runs offered in the picker, newest first.
TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH = (
    ":material/tune: New run", ":material/monitoring: Run", ":material/stacked_line_chart: Compare runs",
    ":material/travel_explore: Search",
)
TABS = [TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH]


@st.cache_resource(show_spinner=False)
def recovered():
    """Cleans up runs left behind by a crash or restart, once per server process."""
    return jobs.recover()


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
    optimizer = train_settings.optimizer_title(config.get("optimizer"))
    return f"{created} {config.get('architecture')} on {config.get('dataset')}, {optimizer} ({run['id'][-6:]})"


def run_status_text(run):
    if run["status"] == jobs.DONE and isinstance(run.get("test_accuracy"), float):
        return f"done, {run['test_accuracy']:.1%}"
    if run["status"] == jobs.DONE and isinstance(run.get("reconstruction_mse"), float):
        return f"done, MSE {run['reconstruction_mse']:.4f}"
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
