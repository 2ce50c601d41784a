"""The Train page's Search tab: a grid, random or Bayesian search over the learning rate, dropout, L2 and optimizer.

Each trial is a run of its own. A search runs in the background like a run (its own driver
process advances it), so it finishes with no page open; this tab starts searches and only
reads them, polling the search's file while it runs. The chosen search survives tab
switches (session state) and refreshes or shared links (`?search=ID`).
"""

import time

import streamlit as st

from imgrec import figures, search, training
from pages._ui import links, train_runs, train_settings, views

SEARCH_POLL_SECONDS = 2.0  # The table of a running search refreshes this often; its driver advances it every second.
SELECTED = "search-selected"  # The chosen search, kept while the tab's widgets are not drawn (other tabs).
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
                                    format_func=train_settings.OPTIMIZER_TITLES.get, key="search-optimizers")
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
    values = dict(train_settings.settings())
    st.markdown(f"Each trial trains the settings of **New run** ({values['architecture']} on {values['dataset']}, "
                f"{figures.plural(values['epochs'], 'epoch')}, {values['max_samples'] or 'all'} samples) with the searched settings "
                "changed, and is ranked by its **validation** accuracy: choosing on the test set would make the "
                "test score a flattering guess. Smaller runs make quicker searches.")
    kind, budget, space = search_space_ui()
    if st.button("Start the search", type="primary", icon=":material/travel_explore:", key="start-search"):
        try:
            search_id = search.submit(kind, space, budget, values, seed=int(values.get("seed", 0)))
        except (search.SearchError, *train_settings.SUBMIT_ERRORS) as error:
            st.error(str(error), icon=":material/error:")
            return
        select_search(search_id)
        st.rerun()


def trial_rows(current):
    rows = []
    for trial in current.trials:
        params = trial["params"]
        rows.append({
            "Trial": trial["number"] + 1, "Status": trial["status"],
            "Optimizer": train_settings.optimizer_title(params.get("optimizer", current.base_config.get("optimizer"))),
            "Learning rate": params.get("learning_rate", current.base_config["learning_rate"]),
            "Dropout": params.get("dropout", current.base_config["dropout"]),
            "L2": params.get("l2", current.base_config["l2"]),
            "Validation accuracy": views.in_percent(trial.get("value")),
            "Test accuracy": views.in_percent(trial.get("test_accuracy")),
            # The run's id is long: its last six characters name it in the sidebar's list too.
            "Run": (trial.get("run_id") or "")[-6:],
        })
    return rows


def trial_notes(current):
    """One line per trial that has a note (why it failed or was skipped), under the table where it is not cut."""
    notes = [f"Trial {trial['number'] + 1}: {trial['reason']}" for trial in current.trials if trial.get("reason")]
    if notes:
        st.caption("  \n".join(notes))


def search_view(search_id, *, live=False):
    """A search's progress, trials and best settings, as its driver recorded them; `live` (polled) while it runs."""
    try:
        current = search.load(search_id)
    except search.SearchError as error:
        st.error(str(error), icon=":material/error:")
        return
    if live and current.settled:
        st.rerun()  # Ended: draw it once more, without polling.
    done = sum(trial["status"] not in (*search.IN_FLIGHT, search.PLANNED) for trial in current.trials)
    st.progress(done / max(1, current.budget), text=f"{search.KIND_TITLES[current.kind]}: {done} of {current.budget} "
                                                     f"trials finished ({current.state}).")
    if current.note:
        st.caption(current.note)
    st.dataframe(trial_rows(current), hide_index=True, column_config={
        "Validation accuracy": views.percent_column(),
        "Test accuracy": views.percent_column(),
        "Learning rate": st.column_config.NumberColumn(format="%.3g"),
        "Dropout": st.column_config.NumberColumn(format="%.2f"),
        "L2": st.column_config.NumberColumn(format="%.3g"),
    })
    trial_notes(current)
    best = current.best()
    if best is not None:
        params = best["params"]
        described = ", ".join(f"{name.replace('_', ' ')} {value:.3g}" if isinstance(value, float)
                              else f"{name} {train_settings.optimizer_title(value)}" for name, value in params.items())
        st.success(f"Best so far: trial {best['number'] + 1}, validation accuracy {views.percent(best['value'])} "
                   f"(test {views.percent(best['test_accuracy'])}): {described}.", icon=":material/emoji_events:")
        if st.button("Use these settings for a new run", icon=":material/tune:", key=f"use-best-{search_id}"):
            # Four significant digits: the form shows them in full, and the fifth never matters.
            train_settings.apply_settings({name: float(f"{value:.4g}") if isinstance(value, float) else value
                            for name, value in params.items()})
            train_runs.open_tab(train_runs.TAB_NEW)
            st.rerun(scope="app")
    if not current.finished and st.button("Cancel the search", icon=":material/stop:", key=f"cancel-{search_id}"):
        current.cancel()
        st.rerun(scope="fragment")
    elif current.state == "cancelled" and current.in_flight():
        st.caption("Stopping the trials that were training...")


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
        links.refuse(str(error))
        links.write(search=None)
        return
    select_search(requested)


def _picked_search():
    st.session_state[SELECTED] = st.session_state["search-id"]


def search_tab():
    st.markdown("Let the computer try settings for you: a small **search** over the learning rate, dropout, L2 and "
                "optimizer, each trial a run of its own. The table fills in as trials finish.")
    found = search.list_searches()
    # Fixed labels (no state): a widget matches its options by their labels.
    labels = {values["id"]: f"{time.strftime('%H:%M:%S', time.localtime(values.get('created') or 0))} "
                            f"{search.KIND_TITLES.get(values.get('kind'), values.get('kind'))}, "
                            f"{values.get('budget')} trials ({values['id'][-6:]})" for values in found}
    options = ["new", *labels]
    # The widget's own state is dropped while another tab is open; the choice is kept apart from it.
    wanted = st.session_state.pop("pending-search", st.session_state.get(SELECTED, "new"))
    if wanted not in options:
        if wanted != "new":
            st.warning(f"There is no search {wanted!r} on this server; showing the form for a new one.",
                       icon=":material/warning:")
        wanted = "new"
    st.session_state["search-id"] = st.session_state[SELECTED] = wanted
    chosen = st.selectbox("Search", options, key="search-id", on_change=_picked_search,
                          format_func=lambda item: "A new search" if item == "new" else labels[item])
    if chosen == "new":
        links.write(search=None)
        new_search_ui()
        return
    links.write(search=chosen)
    try:
        running = not search.load(chosen).settled
    except search.SearchError as error:
        st.error(str(error), icon=":material/error:")
        return
    if running:
        live_search_view(chosen, live=True)
    else:
        search_view(chosen)
