"""The sidebar's language switch, a refused `?lang=` said at the top of the page, and `lang` kept in the address."""

import streamlit as st

from pages._ui import i18n, links

_SWITCH = "i18n-switch"


def _switched():
    chosen = st.session_state[_SWITCH]
    i18n.choose(chosen)
    if chosen == i18n.DEFAULT:
        if i18n.PARAMETER in st.query_params:
            del st.query_params[i18n.PARAMETER]
    else:
        st.query_params[i18n.PARAMETER] = chosen


def apply():
    """Draws the switch and writes `lang` back into the address; `presenter.apply` calls it on every page.

    It runs after `links.begin`, so a refused `?lang=` is said at the top of the page like any
    other refused link parameter.
    """
    asked = links.requested(i18n.PARAMETER)  # Taken once, when a link arrives on this page.
    language = i18n.language()
    if asked is not None and i18n.named(asked) is None:
        links.refused(i18n.PARAMETER, asked, i18n.t("common.lang_refused", languages=", ".join(i18n.LANGUAGES)),
                      i18n.NAMES[language])
    st.session_state[_SWITCH] = language
    st.sidebar.radio(i18n.t("common.language"), i18n.LANGUAGES, format_func=i18n.NAMES.get, key=_SWITCH,
                     horizontal=True, on_change=_switched)
    links.write(**{i18n.PARAMETER: None if language == i18n.DEFAULT else language})
