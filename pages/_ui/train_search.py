"""The Train page's Search tab: a grid, random or Bayesian search over the learning rate, dropout, L2 and optimizer.

Each trial is a run of its own. A search runs in the background like a run (its own driver
process advances it), so it finishes with no page open; this tab starts searches and only
reads them, polling the search's file while it runs. The chosen search survives tab
switches (session state) and refreshes or shared links (`?search=ID`).
"""

import time

import streamlit as st

from imgrec import search, training
from pages._ui import i18n, links, train_runs, train_settings, views
from pages._ui.i18n import t

SEARCH_POLL_SECONDS = 2.0  # The table of a running search refreshes this often; its driver advances it every second.
SELECTED = "search-selected"  # The chosen search, kept while the tab's widgets are not drawn (other tabs).
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
L2_VALUES = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]
# The kinds of search (search.KIND_TITLES) and what each does, in the session's language.
KIND_TITLES = {"grid": "train_search.kind_grid", "random": "train_search.kind_random",
               "bayesian": "train_search.kind_bayesian"}
KIND_ABOUT = {"grid": "train_search.about_grid", "random": "train_search.about_random",
              "bayesian": "train_search.about_bayesian"}
# The trial table's columns.
COLUMNS = {"trial": "train_search.column_trial", "status": "train_search.column_status",
           "optimizer": "train_search.column_optimizer", "learning_rate": "train_search.column_learning_rate",
           "dropout": "train_search.column_dropout", "l2": "train_search.column_l2",
           "validation": "train_search.column_validation", "test": "train_search.column_test",
           "run": "train_search.column_run"}
# The searched settings as the best trial's sentence names them.
PARAMETERS = {"learning_rate": "train_search.learning_rate", "dropout": "train_search.dropout",
              "l2": "train_search.l2", "optimizer": "train_search.optimizer"}


def kind_title(kind):
    """A kind of search as people name it ("Random search"); an unknown kind as it is."""
    return t(KIND_TITLES[kind]) if kind in KIND_TITLES else str(kind)


def parameter_name(name):
    """A searched setting as people name it ("learning rate")."""
    return t(PARAMETERS[name]) if name in PARAMETERS else name.replace("_", " ")


def search_space_ui():
    """The ranges and the kind of search; returns (kind, budget, space)."""
    kind = st.segmented_control(t("train_search.kind"), list(search.KINDS), default="random", key="search-kind",
                                format_func={kind: kind_title(kind) for kind in search.KINDS}.get) or "random"
    st.caption(t(KIND_ABOUT[kind]))
    left, right = st.columns(2)
    with left:
        low_lr, high_lr = st.select_slider(t("train_search.learning_rate_range"), LEARNING_RATES, value=(1e-4, 3e-2),
                                           format_func=lambda value: f"{value:g}", key="search-lr")
        low_l2, high_l2 = st.select_slider(t("train_search.l2_range"), L2_VALUES, value=(1e-6, 1e-3),
                                           format_func=lambda value: f"{value:g}", key="search-l2")
        low_dropout, high_dropout = st.slider(t("train_search.dropout_range"), 0.0, 0.9, (0.0, 0.6), 0.05, key="search-dropout")
    with right:
        optimizers = st.multiselect(t("train_search.optimizers"), list(training.OPTIMIZERS), default=list(training.OPTIMIZERS),
                                    format_func=train_settings.OPTIMIZER_TITLES.get, key="search-optimizers")
        budget = st.number_input(t("train_search.budget"), min_value=1, max_value=search.MAX_BUDGET, value=8,
                                 key="search-budget")
        grid_points = 2
        if kind == "grid":
            grid_points = st.number_input(t("train_search.grid_points"), min_value=2, max_value=10, value=2,
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
    values = dict(train_settings.settings())
    st.markdown(t("train_search.intro_one" if values["epochs"] == 1 else "train_search.intro",
                  architecture=values["architecture"], dataset=values["dataset"], epochs=values["epochs"],
                  samples=values["max_samples"] or t("train_search.all")))
    kind, budget, space = search_space_ui()
    if st.button(t("train_search.start"), type="primary", icon=":material/travel_explore:", key="start-search"):
        try:
            search_id = search.submit(kind, space, budget, values, seed=int(values.get("seed", 0)))
        except (search.SearchError, *train_settings.SUBMIT_ERRORS) as error:
            st.error(i18n.error_text(error), icon=":material/error:")
            return
        select_search(search_id)
        st.rerun()


def trial_rows(current):
    rows = []
    for trial in current.trials:
        params = trial["params"]
        base = current.base_config
        rows.append({
            t(COLUMNS["trial"]): trial["number"] + 1, t(COLUMNS["status"]): train_runs.status_text(trial["status"]),
            t(COLUMNS["optimizer"]): train_settings.optimizer_title(params.get("optimizer", base.get("optimizer"))),
            t(COLUMNS["learning_rate"]): params.get("learning_rate", base["learning_rate"]),
            t(COLUMNS["dropout"]): params.get("dropout", base["dropout"]),
            t(COLUMNS["l2"]): params.get("l2", base["l2"]),
            t(COLUMNS["validation"]): views.in_percent(trial.get("value")),
            t(COLUMNS["test"]): views.in_percent(trial.get("test_accuracy")),
            # The run's id is long: its last six characters name it in the sidebar's list too.
            t(COLUMNS["run"]): (trial.get("run_id") or "")[-6:],
        })
    return rows


def trial_notes(current):
    """One line per trial that has a note (why it failed or was skipped), under the table where it is not cut."""
    notes = [t("train_search.trial_note", number=trial["number"] + 1, reason=i18n.error_text(trial["reason"]))
             for trial in current.trials if trial.get("reason")]
    if notes:
        st.caption("  \n".join(notes))


def search_state(state):
    """A search's state in words: running, done or cancelled."""
    return t(STATES[state]) if state in STATES else str(state)


STATES = {"running": "train_search.state_running", "done": "train_search.state_done",
          "cancelled": "train_search.state_cancelled"}


def search_view(search_id, *, live=False):
    """A search's progress, trials and best settings, as its driver recorded them; `live` (polled) while it runs."""
    try:
        current = search.load(search_id)
    except search.SearchError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return
    if live and current.settled:
        st.rerun()  # Ended: draw it once more, without polling.
    done = sum(trial["status"] not in (*search.IN_FLIGHT, search.PLANNED) for trial in current.trials)
    st.progress(done / max(1, current.budget), text=t("train_search.progress", kind=kind_title(current.kind), done=done,
                                                      budget=current.budget, state=search_state(current.state)))
    if current.note:  # The only note a search has: a grid larger than its budget (search.state).
        st.caption(t("train_search.grid_note", points=current.space.grid_size(), tried=current.budget))
    st.dataframe(trial_rows(current), hide_index=True, column_config={
        t(COLUMNS["validation"]): views.percent_column(),
        t(COLUMNS["test"]): views.percent_column(),
        t(COLUMNS["learning_rate"]): st.column_config.NumberColumn(format="%.3g"),
        t(COLUMNS["dropout"]): st.column_config.NumberColumn(format="%.2f"),
        t(COLUMNS["l2"]): st.column_config.NumberColumn(format="%.3g"),
    })
    trial_notes(current)
    best = current.best()
    if best is not None:
        params = best["params"]
        described = ", ".join(f"{parameter_name(name)} {value:.3g}" if isinstance(value, float)
                              else f"{parameter_name(name)} {train_settings.optimizer_title(value)}"
                              for name, value in params.items())
        st.success(t("train_search.best", number=best["number"] + 1, validation=views.percent(best["value"]),
                     test=views.percent(best["test_accuracy"]), settings=described), icon=":material/emoji_events:")
        if st.button(t("train_search.use_best"), icon=":material/tune:", key=f"use-best-{search_id}"):
            # Four significant digits: the form shows them in full, and the fifth never matters.
            train_settings.apply_settings({name: float(f"{value:.4g}") if isinstance(value, float) else value
                            for name, value in params.items()})
            train_runs.open_tab(train_runs.TAB_NEW)
            st.rerun(scope="app")
    if not current.finished and st.button(t("train_search.cancel"), icon=":material/stop:", key=f"cancel-{search_id}"):
        current.cancel()
        st.rerun(scope="fragment")
    elif current.state == "cancelled" and current.in_flight():
        st.caption(t("train_search.stopping"))


# The same view, polled while the search runs: each look reads the search's file, nothing more.
live_search_view = st.fragment(run_every=SEARCH_POLL_SECONDS)(search_view)


def select_search(search_id):
    """Makes a search the one shown (or "new"), here and in the address."""
    st.session_state[SELECTED] = search_id
    st.session_state["pending-search"] = search_id


def search_from_url():
    """A link's `?search=ID` wins over the session's choice (a refresh, or a shared link)."""
    requested = links.requested("search")
    if not requested:
        return
    try:
        search.validate_search_id(requested)
    except search.SearchError as error:
        links.refuse(i18n.error_text(error))
        links.write(search=None)
        return
    select_search(requested)


def _picked_search():
    st.session_state[SELECTED] = st.session_state["search-id"]


def search_tab():
    st.markdown(t("train_search.intro_tab"))
    found = search.list_searches()
    # Fixed labels (no state): a widget matches its options by their labels.
    labels = {values["id"]: t("train_search.label", created=time.strftime("%H:%M:%S",
                                                                          time.localtime(values.get("created") or 0)),
                              kind=kind_title(values.get("kind")), budget=values.get("budget"), id=values["id"][-6:])
              for values in found}
    options = ["new", *labels]
    # The widget's own state is dropped while another tab is open; the choice is kept apart from it.
    wanted = st.session_state.pop("pending-search", st.session_state.get(SELECTED, "new"))
    if wanted not in options:
        if wanted != "new":
            st.warning(t("train_search.no_such_search", search=repr(wanted)), icon=":material/warning:")
        wanted = "new"
    st.session_state["search-id"] = st.session_state[SELECTED] = wanted
    chosen = st.selectbox(t("train_search.search"), options, key="search-id", on_change=_picked_search,
                          format_func={"new": t("train_search.new_search"), **labels}.get)
    if chosen == "new":
        links.write(search=None)
        new_search_ui()
        return
    links.write(search=chosen)
    try:
        running = not search.load(chosen).settled
    except search.SearchError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return
    if running:
        live_search_view(chosen, live=True)
    else:
        search_view(chosen)
