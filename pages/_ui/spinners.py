"""A cached computation's spinner in the session's language (`st.cache_data`'s `show_spinner` takes one fixed text)."""

import functools

import streamlit as st

from pages._ui import i18n


def spoken(key):
    """Decorates an `st.cache_data` function (made with `show_spinner=False`) to show the text of `key` while it runs.

    Like Streamlit's own, the spinner appears only after half a second, so a cache hit shows none.
    The decorated function keeps the cached one's `clear`.
    """

    def decorate(cached):
        @functools.wraps(cached)
        def call(*args, **kwargs):
            with st.spinner(i18n.t(key)):
                return cached(*args, **kwargs)

        call.clear = cached.clear
        return call

    return decorate
