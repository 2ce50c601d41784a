"""Models: the registry as a table, importing a model, a model's card and architecture, comparisons, downloads, deletion."""

import streamlit as st

from pages._ui import (
    links,
    models,
    models_architecture,
    models_card,
    models_compare,
    models_files,
    models_import,
    navigation,
    presenter,
)

TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES = (
    ":material/badge: Card", ":material/account_tree: Architecture", ":material/compare_arrows: Compare",
    ":material/download: Download and delete",
)
# The tabs as the address names them (`?tab=card`).
TAB_NAMES = {"card": TAB_CARD, "architecture": TAB_ARCHITECTURE, "compare": TAB_COMPARE, "files": TAB_FILES}


def tab_ui():
    """The open tab from a link's `?tab=` (a name not offered is refused with a sentence)."""
    if st.session_state.get("models-tab") not in TAB_NAMES.values():
        st.session_state["models-tab"] = TAB_CARD
    current = next(short for short, label in TAB_NAMES.items() if label == st.session_state["models-tab"])
    asked = links.choice("tab", list(TAB_NAMES), problem=f"the tabs here are {', '.join(TAB_NAMES)}",
                         instead=f"the {current} tab")
    if asked is not None:
        st.session_state["models-tab"] = TAB_NAMES[asked]


def main():
    st.title("Models")
    links.begin("models")
    presenter.apply()
    st.markdown("Every model this server knows, with the accuracy it measured on images it never trained on. "
                "Choose one in the sidebar to read its card, see its layers, compare it, download or export it.")
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
    tab_ui()
    card_container, architecture_container, compare_container, files_container = st.tabs(
        [TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES], key="models-tab", on_change="rerun")
    links.write(tab=next(short for short, label in TAB_NAMES.items() if label == st.session_state["models-tab"]))
    if card_container.open:
        with card_container:
            models_card.card_tab(card)
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
