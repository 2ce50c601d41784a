"""Which run the Train page shows: the selected run in session state and the URL, and the sidebar's list of runs.

The selected run lives in session state and in the URL (`?run=ID`), so a refresh or a shared
link finds it; the sidebar lists every run on this server, so any session can watch any run.
"""

import time

import streamlit as st

from imgrec import jobs, paths, search
from pages._ui import i18n, links, train_settings
from pages._ui.i18n import t

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
# Each tab's words; a tab is known by its English label above (tests and session state), and shown in
# the session's language: the tab widget's state is the label it shows.
_TAB_TEXTS = {TAB_NEW: "train_runs.tab_new", TAB_RUN: "train_runs.tab_run", TAB_COMPARE: "train_runs.tab_compare",
              TAB_SEARCH: "train_runs.tab_search"}
# A run's state as the page writes it ("running"); the value itself stays English in data and links.
STATUS_TEXTS = {"queued": "train_runs.status_queued", "running": "train_runs.status_running",
                "done": "train_runs.status_done", "failed": "train_runs.status_failed",
                "cancelled": "train_runs.status_cancelled",
                "planned": "train_runs.status_planned"}


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


def status_text(status):
    """A run's or trial's state in the session's language ("running"); an unknown state as it is."""
    return t(STATUS_TEXTS[status]) if status in STATUS_TEXTS else str(status)


def tab_label(tab, language=None):
    """The label a tab (`TAB_NEW`...) shows in `language` (default: the session's), its icon kept."""
    icon, _ = tab.split(" ", 1)
    words = i18n.texts_now() if language is None else i18n.texts.Texts(language)
    return f"{icon} {words(_TAB_TEXTS[tab])}"


def tab_of(label):
    """The tab (`TAB_NEW`...) a label names in either language, or None."""
    return next((tab for tab in TABS for language in i18n.LANGUAGES if tab_label(tab, language) == label), None)


def labels():
    """The tabs' labels in the session's language, in order."""
    return [tab_label(tab) for tab in TABS]


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
        links.refused("run", requested, t("train_runs.no_such_run"),
                      t("train_runs.run_instead", run=current) if current else t("train_runs.no_run"))
        return
    select_run(requested)


def tab_from_url():
    """A link's `?tab=new|run|compare|search` opens that tab; another name is refused with a sentence."""
    current = tab_of(st.session_state.get("train-tab")) or TAB_NEW
    name = next((short for short, label in TAB_NAMES.items() if label == current), "new")
    asked = links.choice("tab", list(TAB_NAMES), problem=t("train_runs.tab_refused", tabs=", ".join(TAB_NAMES)),
                         instead=t("train_runs.tab_instead", tab=name))
    if asked is not None:
        open_tab(TAB_NAMES[asked])


def write_tab(label):
    """Writes the open tab (its label in either language) into the address, as `?tab=` names it."""
    links.write(tab=next(short for short, known in TAB_NAMES.items() if known == tab_of(label)))


def run_label(run):
    """A run as the pickers name it; fixed for the run's life (a widget matches its options by these labels)."""
    config = run.get("config") or {}
    created = time.strftime("%H:%M:%S", time.localtime(run.get("created") or 0))
    optimizer = train_settings.optimizer_title(config.get("optimizer"))
    return t("train_runs.run_label", created=created, architecture=config.get("architecture"),
             dataset=config.get("dataset"), optimizer=optimizer, run=run["id"][-6:])


def run_description(run):
    """What a run trains, in words ("cnn on mnist, Adam"), without its time and id."""
    config = run.get("config") or {}
    return t("train_runs.run_description", architecture=config.get("architecture"), dataset=config.get("dataset"),
             optimizer=train_settings.optimizer_title(config.get("optimizer")))


def short_run_label(run):
    """A run as the sidebar's narrow picker names it, e.g. "12:00:16 cnn-deep (5c3932)": it fits in 240 pixels."""
    config = run.get("config") or {}
    created = time.strftime("%H:%M:%S", time.localtime(run.get("created") or 0))
    return f"{created} {config.get('architecture')} ({run['id'][-6:]})"


def run_status_text(run):
    if run["status"] == jobs.DONE and isinstance(run.get("test_accuracy"), float):
        return t("train_runs.done_accuracy", accuracy=f"{run['test_accuracy']:.1%}")
    if run["status"] == jobs.DONE and isinstance(run.get("reconstruction_mse"), float):
        return t("train_runs.done_mse", mse=f"{run['reconstruction_mse']:.4f}")
    if run["status"] == jobs.QUEUED and run.get("queue_position"):
        return t("train_runs.queued_at", position=run["queue_position"])
    return status_text(run["status"])


def run_picker(runs):
    """The sidebar list of every run on this server, so any session can watch any run."""
    with st.sidebar:
        st.subheader(t("train_runs.runs_here"))
        if not runs:
            st.caption(t("train_runs.no_runs"))
            return
        ids = [run["id"] for run in runs[:RUNS_LISTED]]
        labels = {run["id"]: short_run_label(run) for run in runs}
        current = selected_run()
        if current not in ids:
            ids = [current, *ids] if current else ids
        st.session_state["run-picker"] = current if current in ids else None
        st.selectbox(t("train_runs.watch"), ids, key="run-picker", index=None, placeholder=t("train_runs.choose_run"),
                     format_func=lambda run_id: labels.get(run_id, run_id), on_change=_picked_run,
                     help=t("train_runs.watch_help"))
        shown = next((run for run in runs if run["id"] == current), None)
        if shown is not None:
            st.caption(run_description(shown))  # The full description, under it.
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
    run_column, status_column = t("train_runs.column_run"), t("train_runs.column_status")
    st.dataframe([{run_column: short_run_label(run).rsplit(" (", 1)[0][:-3], status_column: run_status_text(run)}
                  for run in runs[:8]], hide_index=True,
                 column_config={run_column: st.column_config.TextColumn(width=140),
                                status_column: st.column_config.TextColumn(width=90)})
    running = sum(run["status"] == jobs.RUNNING for run in runs)
    queued = sum(run["status"] == jobs.QUEUED for run in runs)
    st.caption(t("train_runs.summary", running=running, queued=queued, at_once=jobs.max_runs()))


def _picked_run():
    if st.session_state.get("run-picker"):
        select_run(st.session_state["run-picker"])
