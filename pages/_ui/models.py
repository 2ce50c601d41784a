"""The models a visitor can choose: the card list, the model picker and its URL state, and checking a model loads."""

import re

import streamlit as st

from imgrec import architectures, registry
from imgrec.report import text as report_text
from pages._ui import compute, i18n, links
from pages._ui.i18n import t

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
        st.error(i18n.error_text(error), icon=":material/error:")
        st.stop()
    return key


def classifier_or_stop(card, what):
    """Stops the page with one sentence when the model has no class scores (an autoencoder), for pages that need them.

    `what` names what the page would show, in the session's language (e.g. "predictions or explanations").
    """
    if not card.is_classifier:
        st.info(t("models_picker.not_a_classifier", title=card.display_title, what=what), icon=":material/info:")
        st.stop()


def _words():
    """The report's words in this run's language: the one place a card's numbers are put in words."""
    return report_text.Words(i18n.texts_now())


# Each architecture's one-line description (`architectures.DESCRIPTIONS`) in the catalogs: the summary of a
# card that is that description (every shipped model's) is shown in the session's language.
ARCHITECTURES = {"cnn": "architectures.cnn", "cnn-deep": "architectures.cnn_deep", "cnn-gap": "architectures.cnn_gap",
                 "crnn": "architectures.crnn", "rnn": "architectures.rnn", "vit": "architectures.vit",
                 "mlp": "architectures.mlp", "autoencoder": "architectures.autoencoder"}


def summary_text(card):
    """A card's summary in this run's language when it is its architecture's description; else as its author wrote it."""
    summary = card.summary or ""
    if card.architecture in ARCHITECTURES and summary == architectures.DESCRIPTIONS.get(card.architecture):
        return t(ARCHITECTURES[card.architecture])
    return summary


def score_text(card):
    """`card.score_text()` in the session's language: its accuracy, or an autoencoder's reconstruction error."""
    return _words().score(card)


def measured_on_text(card):
    """`card.measured_on_text()` in the session's language: "test (n = 10,000)", or "not measured"."""
    metrics = card.metrics
    where = _words().split(metrics.split) if metrics is not None and metrics.split else t("models_picker.not_measured")
    count = t("models_picker.measured_count", n=f"{metrics.n:,}") if metrics is not None and metrics.n is not None else ""
    return f"{where}{count}"


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
        st.error(t("models_picker.none_yet"))
        st.stop()
    if st.session_state.get("model_name") not in names:
        st.session_state.model_name = _default_model(names)
    titles = {card.name: picker_label(card) for card in cards}
    asked = links.choice("model", names, problem=t("models_picker.no_such_model"),
                         instead=cards[names.index(st.session_state.model_name)].display_title)
    if asked is not None:
        st.session_state.model_name = asked  # Arrived through a link: the link wins over the session's choice.
    # The widget is set from the shared value each run; its callback writes the visitor's choice back.
    st.session_state[key] = st.session_state.model_name
    with where:
        name = st.selectbox(
            t("models_picker.model"), names, format_func=lambda item: titles[item], key=key,
            on_change=remember, args=("model_name", key),
        )
        card = cards[names.index(name)]
        whole = f"**{card.display_title}**: " if titles[name] != card.display_title else ""
        st.caption(f"{whole}{summary_text(card)}  \n**{score_text(card)}**")
        st.caption(t("models_picker.address_keeps"))
    links.write(model=name)
    return name
