"""A page's view in its address: what a shared link asks for, checked, and the view written back.

Every page writes what it shows into the URL (`st.query_params`), so a teacher can copy the
address and a student's fresh browser opens the same view. A page's run starts with `begin`.
When the address is not what this session last wrote there, someone arrived through a link
(or the back button, or an edited address, or the menu): its parameters wait until the widget
they set is drawn (`requested`, `choice`, `number`), so a run cut short by a click loses none,
and a value that cannot be restored is named in one sentence at the top of the page, with
what the page shows instead, never dropped in silence.

Streamlit's own `bind="query-params"` is not used: it drops a bad value without a word and
ties one widget to one parameter, while some of ours span widgets (an attention query is a
row and a column) or are set by a chart (Predict's class).
"""

import math

import streamlit as st

from pages._ui import views
from pages._ui.i18n import t

_WRITTEN = "links-written"  # {page: the address this session last wrote while on that page}
_PENDING = "links-pending"  # {page: {name: value}}: a link's parameters not yet restored
_PAGE = "links-page"  # The page of the current run.
_NOTES = "links-notes"  # Where this run's sentences about a link go (the top of the page).


def begin(page):
    """Starts a page's run: takes a link that has just arrived, and marks where sentences about it go.

    Call it right under the page's title, before any widget.
    """
    written = st.session_state.setdefault(_WRITTEN, {})
    address = st.query_params.to_dict()
    if address != written.get(page):
        st.session_state.setdefault(_PENDING, {})[page] = dict(address)
        written[page] = address
    st.session_state[_PAGE] = page
    st.session_state[_NOTES] = st.container()


def requested(name):
    """The text a link that has just arrived gives parameter `name`, taken once; None when there is none."""
    pending = st.session_state.get(_PENDING, {}).get(st.session_state.get(_PAGE), {})
    return pending.pop(name, None)


def refuse(sentence):
    """Shows one sentence about a link's parameter the page could not restore, at the top of the page."""
    notes = st.session_state.get(_NOTES)
    (notes if notes is not None else st).warning(sentence, icon=":material/link_off:")


def refused(name, value, problem, instead):
    """Says that the link's `name=value` could not be restored, why, and what the page shows instead."""
    refuse(t("links.refused", name=name, value=views.plain(value, 40), problem=problem, instead=instead))


def unused(name, problem, instead):
    """Takes a link's parameter that does not apply to what the page shows, and says so (when the link gave it)."""
    value = requested(name)
    if value is not None:
        refused(name, value, problem, instead)


def choice(name, options, *, problem, instead, aliases=None):
    """The option a link asks for (matched as text, ignoring case), or None; a value not offered is refused.

    Args:
        name: the URL parameter.
        options: what the widget offers (written into the URL as `str(option)`).
        problem: why a value is refused, e.g. "this server has no model by that name".
        instead: what the page shows instead, for the sentence.
        aliases: `{text: option}` other spellings the link may use. Defaults to `None`.
    """
    value = requested(name)
    if value is None:
        return None
    # A "+" typed into an address arrives as a space ("gradcam++" as "gradcam  ").
    # In this order: the "+" reading first, so "gradcam  " finds Grad-CAM++, not Grad-CAM.
    spellings = [value.replace(" ", "+").lower(), value.strip().replace(" ", "+").lower(), value.strip().lower()]
    lookup = {str(option).lower(): option for option in options}
    lookup.update({str(text).lower(): option for text, option in (aliases or {}).items()})
    found = next((lookup[text] for text in spellings if text in lookup), None)
    if found is None:
        refused(name, value, problem, instead)
    return found


def number(name, low, high, *, instead, step=None, integer=False, what=None):
    """The number a link asks for when it lies in [low, high] (rounded to `step`), or None; others are refused.

    Args:
        name: the URL parameter.
        low: the smallest value allowed.
        high: the largest value allowed.
        instead: what the page shows instead, for the sentence.
        step: the widget's step; the value is rounded to it. Defaults to `None`.
        integer: whether only whole numbers are allowed. Defaults to `False`.
        what: the range in words, e.g. "conv2 has channels 0 to 63". Defaults to "it must be
            a (whole) number from LOW to HIGH".
    """
    value = requested(name)
    if value is None:
        return None
    try:
        parsed = float(value)
    except ValueError:
        parsed = math.nan
    if integer and math.isfinite(parsed) and parsed != int(parsed):
        parsed = math.nan
    if not (math.isfinite(parsed) and low <= parsed <= high):
        refused(name, value, what or t("links.whole_number" if integer else "links.number", low=f"{low:g}",
                                       high=f"{high:g}"), instead)
        return None
    if integer:
        return int(parsed)
    if step:
        parsed = round(round((parsed - low) / step) * step + low, 10)
    return parsed


def write(**values):
    """Writes the page's view into the address: `name=value` for each, and a `None` value removes its parameter."""
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)
    page = st.session_state.get(_PAGE)
    if page is not None:
        st.session_state.setdefault(_WRITTEN, {})[page] = st.query_params.to_dict()
