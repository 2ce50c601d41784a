"""Train: configure a run, watch it learn live, read its results, compare runs, search hyperparameters.

Nothing trains in this script: a run is submitted to `imgrec.jobs`, which trains it in a worker
process, and the page polls the run's folder once a second. So the page stays responsive, a
refresh or another browser finds the same run (`?run=ID`), and Cancel really stops it.
"""

import streamlit as st

from imgrec import jobs
from pages._ui import (
    links,
    navigation,
    presenter,
    train_compare,
    train_new,
    train_run,
    train_runs,
    train_search,
)
from pages._ui.i18n import t


def main():
    st.title(t("nav.train"))
    links.begin("train")
    presenter.apply()
    st.markdown(t("train.intro"))
    train_runs.recovered()
    train_runs.run_from_url()
    train_search.search_from_url()
    train_runs.tab_from_url()
    selected = train_runs.selected_run()
    links.write(run=selected)  # Back from another page: the address names the run again.
    runs = jobs.list_runs()
    train_runs.run_picker(runs)
    if "pending-tab" in st.session_state:
        st.session_state["train-tab"] = st.session_state.pop("pending-tab")
    if "train-tab" not in st.session_state:
        # A fresh session: a search in the address was being watched on the Search tab.
        st.session_state["train-tab"] = (train_runs.TAB_SEARCH if st.query_params.get("search")
                                         else train_runs.TAB_RUN if selected else train_runs.TAB_NEW)
    # The tab as the session's language labels it (a test, a callback or the other language may have set another).
    st.session_state["train-tab"] = train_runs.tab_label(train_runs.tab_of(st.session_state["train-tab"])
                                                         or train_runs.TAB_NEW)
    new_tab, run_tab, compare_tab, search_tab = st.tabs(train_runs.labels(), key="train-tab", on_change="rerun")
    train_runs.write_tab(st.session_state["train-tab"])
    if new_tab.open:
        with new_tab:
            train_new.new_run_tab()
    if run_tab.open:
        with run_tab:
            train_run.run_tab()
    if compare_tab.open:
        with compare_tab:
            train_compare.compare_tab(runs)
    if search_tab.open:
        with search_tab:
            train_search.search_tab()
    else:
        links.write(search=None)  # The address names a search only while it is on screen.


navigation.run_inside_navigation()
main()
