"""The models a visitor can choose: the card list, the model picker and its URL state, and checking a model loads."""

import re

import streamlit as st

from imgrec import registry
from pages._ui import compute, links

# The model a first visit starts with, in order of preference (the first one present wins).
PREFERRED_MODELS = ("mnist-cnn", "fashion-cnn", "imagenet-efficientnet-lite0")
# Characters of a title the sidebar's picker shows whole at 1280x800 (it is 240 pixels wide).
PICKER_CHARACTERS = 30


@st.cache_resource(show_spinner=False)
def cleaned_registry():
    """Removes the temporary files of saves killed midway (a server killed while importing), once per server process."""
    return registry.clean_temporary_files()


@st.cache_data(ttl=10, show_spinner=False)
def model_cards():
    """Every model's card; refreshed every few seconds so a newly saved model shows up."""
    return registry.list_models()


def model_key(card):
    """Names a model's exact weights: its name and the sha256 of its file (a retrained model gets a new key)."""
    return f"{card.name}@{(card.sha256 or 'unbuilt')[:16]}"


def card_for(name):
    """The card of one model from the cached list, or None."""
    return next((card for card in model_cards() if card.name == name), None)


def model_or_stop(name):
    """Loads a model (once per key) and returns its key, or shows why it cannot be loaded and stops the page."""
    card = card_for(name)
    key = model_key(card) if card else name
    try:
        compute.ensure_loaded(name, key)
    except registry.RegistryError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    return key


def classifier_or_stop(card, what):
    """Stops the page with one sentence when the model has no class scores (an autoencoder), for pages that need them."""
    if not card.is_classifier:
        st.info(f"**{card.display_title}** is an autoencoder, not a classifier: it rebuilds images and has no class "
                f"scores, so there are no {what} to show. Its reconstructions are on Models, its latent space on "
                "Data map.", icon=":material/info:")
        st.stop()


def has_attention(card):
    """Whether a model has attention layers to show; a model not built yet (ImageNet's) is not loaded to ask."""
    if card.built is False:
        return False
    try:
        return compute.has_attention(card.name, model_key(card))
    except registry.RegistryError:  # A model that cannot be loaded has nothing to show either.
        return False


def picker_label(card):
    """A model's title as the narrow picker shows it: whole when it fits, else without its parenthesis, else cut."""
    title = card.display_title
    if len(title) <= PICKER_CHARACTERS:
        return title
    shorter = re.sub(r"\s*\(.*\)\s*$", "", title)
    return shorter if 0 < len(shorter) <= PICKER_CHARACTERS else title[: PICKER_CHARACTERS - 3].rstrip() + "..."


def remember(state_key, widget_key):
    """A widget callback: keeps the widget's value under a session key that outlives the widget (other pages)."""
    st.session_state[state_key] = st.session_state[widget_key]


def _default_model(names):
    return next((name for name in PREFERRED_MODELS if name in names), names[0])


def model_picker(where=None, *, key="model-picker"):
    """Shows the model chooser (in the sidebar) with the card's summary and accuracy; returns the model name.

    The choice is kept in session state, so it carries from page to page, and it is written
    into the URL (`?model=NAME`), so a teacher can share a link to a prepared view.
    """
    where = where or st.sidebar
    cards = model_cards()
    names = [card.name for card in cards]
    if not names:
        st.error("There are no models yet; train one with `python -m imgrec train --preset quickstart --save mnist-cnn`.")
        st.stop()
    if st.session_state.get("model_name") not in names:
        st.session_state.model_name = _default_model(names)
    titles = {card.name: picker_label(card) for card in cards}
    asked = links.choice("model", names, problem="this server has no model by that name",
                         instead=cards[names.index(st.session_state.model_name)].display_title)
    if asked is not None:
        st.session_state.model_name = asked  # Arrived through a link: the link wins over the session's choice.
    # The widget is set from the shared value each run; its callback writes the visitor's choice back.
    st.session_state[key] = st.session_state.model_name
    with where:
        name = st.selectbox(
            "Model", names, format_func=lambda item: titles[item], key=key,
            on_change=remember, args=("model_name", key),
        )
        card = cards[names.index(name)]
        whole = f"**{card.display_title}**: " if titles[name] != card.display_title else ""
        st.caption(f"{whole}{card.summary or ''}  \n**{card.score_text()}**")
        st.caption(":material/link: The address in the browser keeps this view: copy it to share it with a class.")
    links.write(model=name)
    return name
