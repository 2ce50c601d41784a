"""Runs a page under the app's navigation, even on a fresh server's first, deep-linked request."""

import pathlib
import runpy

import streamlit as st

ENTRY_SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "streamlit_app.py"


def run_inside_navigation():
    """Makes sure a page runs under the app's navigation, even on a fresh server's first, deep-linked request.

    Streamlit 1.67 still runs a script of `pages/` on its own (its old, directory-based
    multipage mode, with every file listed in the sidebar) until some session has run
    `st.navigation`, so the first visitor of a shared link like `/predict?model=...` after a
    restart would get that. Here the page then runs the entry script instead, whose
    navigation switches the old mode off for good and runs this page again properly.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # A Streamlit that has dropped the old mode has nothing to work around.
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        runpy.run_path(str(ENTRY_SCRIPT), run_name="__main__")
        st.stop()
