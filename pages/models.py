"""Models: the registry as a table, importing a model, a model's card, test set, architecture, comparisons, files."""

import streamlit as st

from imgrec import texts
from pages._ui import (
    i18n,
    links,
    models,
    models_architecture,
    models_card,
    models_compare,
    models_files,
    models_import,
    models_test_set,
    navigation,
    presenter,
)
from pages._ui.i18n import t

# The tabs as the address names them (`?tab=card`): their icon and title. A model has one test-set tab, by its task.
TABS = {
    "card": (":material/badge:", "models.tab_card"),
    "mistakes": (":material/grid_on:", "models.tab_mistakes"),
    "reconstructions": (":material/blur_on:", "models.tab_reconstructions"),
    "architecture": (":material/account_tree:", "models.tab_architecture"),
    "compare": (":material/compare_arrows:", "models.tab_compare"),
    "files": (":material/download:", "models.tab_files"),
}
TEST_SETS = ("mistakes", "reconstructions")


def tab_label(short, language=None):
    """A tab's label, ":material/badge: Card", in `language` (default: this run's)."""
    icon, key = TABS[short]
    return f"{icon} {texts.Texts(language)(key) if language else t(key)}"


def tab_names(card):
    """The tabs a model has, `{name in the address: label}`: its test-set tab follows its task."""
    test_set = models_test_set.tab_name(card)
    return {short: tab_label(short) for short in ("card", test_set, "architecture", "compare", "files")}


def tab_ui(names):
    """The open tab from a link's `?tab=` (a name not offered is refused with a sentence)."""
    # The open tab by its label, in either language (the switch may have just changed it).
    shown = st.session_state.get("models-tab")
    current = next((short for short in TABS for language in i18n.LANGUAGES if tab_label(short, language) == shown),
                   "card")
    if current in TEST_SETS:  # Perhaps another model's test set: this one's.
        current = next(short for short in names if short in TEST_SETS)
    st.session_state["models-tab"] = names[current]
    asked = links.choice("tab", list(names), problem=t("models.tabs_refused", tabs=", ".join(names)),
                         instead=t("models.tab_instead", tab=current))
    if asked is not None:
        st.session_state["models-tab"] = names[asked]


def main():
    st.title(t("nav.models"))
    links.begin("models")
    presenter.apply()
    st.markdown(t("models.intro"))
    models.cleaned_registry()
    deleted = st.session_state.pop("models-deleted", None)
    if deleted:
        st.success(t("models.deleted", name=deleted), icon=":material/delete:")
    imported = st.session_state.pop("models-imported", None)
    if imported:
        st.success(imported, icon=":material/upload:")
    cards = models.model_cards()
    models_card.registry_table(cards)
    models_import.import_form()
    name = models.model_picker()
    card = models.card_for(name)
    st.subheader(card.display_title)
    names = tab_names(card)
    tab_ui(names)
    card_container, test_container, architecture_container, compare_container, files_container = st.tabs(
        list(names.values()), key="models-tab", on_change="rerun")
    links.write(tab=next(short for short, label in names.items() if label == st.session_state["models-tab"]))
    if card_container.open:
        with card_container:
            models_card.card_tab(card)
    if test_container.open:
        with test_container:
            models_test_set.test_set_tab(card, models.model_or_stop(name))
    if architecture_container.open:
        with architecture_container:
            models_architecture.architecture_tab(name, models.model_or_stop(name))
    if compare_container.open:
        with compare_container:
            models_compare.compare_tab(card, cards)
    if files_container.open:
        with files_container:
            models_files.files_tab(card, models.model_or_stop(name))


navigation.run_inside_navigation()
main()
