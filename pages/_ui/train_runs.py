"""Which run the Train page shows: the selected run in session state and the URL, and the sidebar's list of runs.

The selected run lives in session state and in the URL (`?run=ID`), so a refresh or a shared
link finds it; the sidebar lists every run on this server, so any session can watch any run.
"""

import time

import streamlit as st

from imgrec import jobs, paths, search
from pages._ui import links, train_settings

POLL_SECONDS = 2.0  # The live view's refresh: a curve still grows smoothly, and a viewer costs the server little.
# The sidebar looks this often for runs that were queued, started or ended, and redraws only then:
# redrawing its table on every look would grey it out each time.
SIDEBAR_POLL_SECONDS = 5.0
RUNS_LISTED = 60  # Runs offered in the picker, newest first.
TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH = (
    ":material/tune: New run", ":material/monitoring: Run", ":material/stacked_line_chart: Compare runs",
    ":material/travel_explore: Search",
)
TABS = [TAB_NEW, TAB_RUN, TAB_COMPARE, TAB_SEARCH]
# The tabs as the address names them (`?tab=run`).
TAB_NAMES = {"new": TAB_NEW, "run": TAB_RUN, "compare": TAB_COMPARE, "search": TAB_SEARCH}


@st.cache_resource(show_spinner=False)
def recovered():
    """Cleans up runs left behind by a crash or restart, and restarts searches' drivers, once per server process."""
    return jobs.recover(), search.recover()


def selected_run():
    return st.session_state.get("train_run")


def select_run(run_id):
    """Makes a run the one shown under Run, and opens that tab (at the next script run)."""
    st.session_state.train_run = run_id
    links.write(run=run_id)
    open_tab(TAB_RUN)


def open_tab(label):
    # A widget's state cannot change once it is drawn: the tab is switched as the next run starts.
    st.session_state["pending-tab"] = label


def run_from_url():
    """A link's `?run=ID` that names a run wins over the session's choice (a refresh, or a link from someone else)."""
    requested = links.requested("run")
    if not requested:
        return
    try:
        jobs.status(requested)
    except jobs.JobError:
        current = selected_run()
        links.refused("run", requested, "this server has no run of that name (see the list of runs in the sidebar)",
                      f"run {current}" if current else "no run")
        return
    select_run(requested)


def tab_from_url():
    """A link's `?tab=new|run|compare|search` opens that tab; another name is refused with a sentence."""
    current = st.session_state.get("train-tab", TAB_NEW)
    name = next((short for short, label in TAB_NAMES.items() if label == current), "new")
    asked = links.choice("tab", list(TAB_NAMES), problem=f"the tabs here are {', '.join(TAB_NAMES)}",
                         instead=f"the {name} tab")
    if asked is not None:
        open_tab(TAB_NAMES[asked])


def write_tab(label):
    """Writes the open tab into the address, as `?tab=` names it."""
    links.write(tab=next(short for short, known in TAB_NAMES.items() if known == label))


def run_label(run):
    """A run as the pickers name it; fixed for the run's life (a widget matches its options by these labels)."""
    config = run.get("config") or {}
    created = time.strftime("%H:%M:%S", time.localtime(run.get("created") or 0))
    optimizer = train_settings.optimizer_title(config.get("optimizer"))
    return f"{created} {config.get('architecture')} on {config.get('dataset')}, {optimizer} ({run['id'][-6:]})"


def short_run_label(run):
    """A run as the sidebar's narrow picker names it, e.g. "12:00:16 cnn-deep (5c3932)": it fits in 240 pixels."""
    config = run.get("config") or {}
    created = time.strftime("%H:%M:%S", time.localtime(run.get("created") or 0))
    return f"{created} {config.get('architecture')} ({run['id'][-6:]})"


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
        labels = {run["id"]: short_run_label(run) for run in runs}
        current = selected_run()
        if current not in ids:
            ids = [current, *ids] if current else ids
        st.session_state["run-picker"] = current if current in ids else None
        st.selectbox("Watch a run", ids, key="run-picker", index=None, placeholder="Choose a run",
                     format_func=lambda run_id: labels.get(run_id, run_id), on_change=_picked_run,
                     help="Every run on this server, newest first: yours, a classmate's, or one started from the "
                          "command line. Choosing one shows it under Run.")
        shown = next((run for run in runs if run["id"] == current), None)
        if shown is not None:
            st.caption(run_label(shown).split(" ", 1)[1].rsplit(" (", 1)[0])  # The full description, under it.
        runs_summary(runs)
        if any(run["status"] in (jobs.QUEUED, jobs.RUNNING) for run in runs):
            st.session_state["runs-drawn"] = runs_signature(runs)
            watch_runs()


def runs_signature(runs):
    """What the sidebar shows of the runs: their ids, states and places in the queue."""
    return tuple((run["id"], run["status"], run.get("queue_position")) for run in runs)


@st.cache_data(ttl=1.0, show_spinner=False)
def current_signature(runs_folder):
    """`runs_signature` of every run now; one look at the runs folder a second serves every session."""
    return runs_signature(jobs.list_runs(runs_folder))


@st.fragment(run_every=SIDEBAR_POLL_SECONDS)
def watch_runs():
    # Draws nothing, so nothing greys out while it looks; a run that was queued, started or ended
    # redraws the page, and with it the sidebar's table.
    if current_signature(str(paths.runs_dir())) != st.session_state.get("runs-drawn"):
        st.rerun()


def runs_summary(runs):
    """The newest runs with their status, and how many train and wait (in the sidebar)."""
    # Short cells: the sidebar is 240 pixels wide, and a longer one was cut.
    st.dataframe([{"Run": short_run_label(run).rsplit(" (", 1)[0][:-3], "Status": run_status_text(run)}
                  for run in runs[:8]], hide_index=True,
                 column_config={"Run": st.column_config.TextColumn(width=140),
                                "Status": st.column_config.TextColumn(width=90)})
    running = sum(run["status"] == jobs.RUNNING for run in runs)
    queued = sum(run["status"] == jobs.QUEUED for run in runs)
    st.caption(f"{running} training, {queued} waiting; this server trains {jobs.max_runs()} at a time.")


def _picked_run():
    if st.session_state.get("run-picker"):
        select_run(st.session_state["run-picker"])
