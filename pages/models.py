"""Models: the registry as a table, importing a model, a model's card, test set, architecture, comparisons, files."""

import streamlit as st

from pages._ui import (
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

TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES = (
    ":material/badge: Card", ":material/account_tree: Architecture", ":material/compare_arrows: Compare",
    ":material/download: Download and delete",
)
# The tabs as the address names them (`?tab=card`).
TAB_NAMES = {"card": TAB_CARD, "architecture": TAB_ARCHITECTURE, "compare": TAB_COMPARE, "files": TAB_FILES}
TEST_SET_NAMES = {"mistakes": models_test_set.TAB_MISTAKES, "reconstructions": models_test_set.TAB_RECONSTRUCTIONS}


def tab_names(card):
    """The tabs a model has, by the names the address gives them: its test-set tab follows its task."""
    test_set = models_test_set.tab_title(card)
    test_name = next(short for short, label in TEST_SET_NAMES.items() if label == test_set)
    others = {short: label for short, label in TAB_NAMES.items() if short != "card"}
    return {"card": TAB_CARD, test_name: test_set, **others}


def tab_ui(names):
    """The open tab from a link's `?tab=` (a name not offered is refused with a sentence)."""
    if st.session_state.get("models-tab") in models_test_set.TITLES:  # Another model's test set: this one's.
        st.session_state["models-tab"] = next(label for label in names.values() if label in models_test_set.TITLES)
    if st.session_state.get("models-tab") not in names.values():
        st.session_state["models-tab"] = TAB_CARD
    current = next(short for short, label in names.items() if label == st.session_state["models-tab"])
    asked = links.choice("tab", list(names), problem=f"the tabs here are {', '.join(names)}",
                         instead=f"the {current} tab")
    if asked is not None:
        st.session_state["models-tab"] = names[asked]


def main():
    st.title("Models")
    links.begin("models")
    presenter.apply()
    st.markdown("Every model this server knows, with the accuracy it measured on images it never trained on. "
                "Choose one in the sidebar to read its card, open its test set, see its layers, compare it, download "
                "or export it.")
    models.cleaned_registry()
    deleted = st.session_state.pop("models-deleted", None)
    if deleted:
        st.success(f"Deleted {deleted}.", icon=":material/delete:")
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
