"""Presenter mode (`?present=1`): larger type, the sidebar collapsed, secondary controls hidden, a light theme.

For a teacher in front of a projector. Secondary controls are the ones a presenter never uses
in front of a room: Streamlit's header toolbar and main menu, the charts' own toolbars (zoom,
pan, download) and the "?" help icons beside widgets; every control that changes what the page
shows stays. The mode is a property of the session: once a link turns it on, it stays on from
page to page (the menu's links drop the address's parameters, so each page writes
`present=1` back), until a link with `present=0` turns it off.
"""

import streamlit as st

from pages._ui import i18n, language, links

PARAMETER = "present"
_ON = "presenter-mode"
_OFF_WORDS = ("0", "false", "no", "off")
# Type that reads from the back of a classroom: the root size scales every rem-sized text and
# widget (Streamlit's default is 16 px); pure black on white keeps its contrast on a washed-out
# projector, where the default grey text (#31333F) and light borders fade.
STYLE = """
<style>
html { font-size: 22px; }
.stApp, .stApp [data-testid="stHeader"], .stApp [data-testid="stSidebar"] { background-color: #ffffff; color: #000000; }
.stApp p, .stApp li, .stApp label, .stApp [data-testid="stCaptionContainer"],
.stApp [data-testid="stCaptionContainer"] * { color: #000000 !important; opacity: 1 !important; }
.stApp h1 { font-size: 2.2rem; }
.stApp [data-testid="stToolbarActions"], .stApp [data-testid="stAppDeployButton"], .stApp [data-testid="stMainMenu"], .stApp [data-testid="stStatusWidget"],
.stApp .modebar-container, .stApp [data-testid="stTooltipIcon"], .stApp [data-testid="stElementToolbar"] {
  display: none !important;
}
</style>
"""


def active():
    """Whether this session is in presenter mode (a link's `?present=` turns it on or off)."""
    asked = st.query_params.get(PARAMETER)
    if asked is not None:
        st.session_state[_ON] = asked.strip().lower() not in _OFF_WORDS
    return bool(st.session_state.get(_ON, False))


def apply():
    """Applies presenter mode to the page when it is on, and keeps `present=1` in the address; call it once per page.

    It also draws the language switch (`language.apply`), the other setting every page keeps.
    Call it right after `links.begin` (or first thing on a page without a view in its address).
    """
    language.apply()
    if not active():
        links.write(**{PARAMETER: None})
        return
    links.write(**{PARAMETER: "1"})
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(STYLE)


def keep(parameters):
    """The parameters of a link the app shows, with `present=1` added when this session presents, and its `lang`."""
    parameters = i18n.keep(parameters)
    return {**parameters, PARAMETER: "1"} if st.session_state.get(_ON) else parameters
