"""Models: the registry as a table, a model's card, its test set, architecture, comparisons, downloads and exports."""

import streamlit as st

from pages._ui import (
    models,
    models_architecture,
    models_card,
    models_compare,
    models_files,
    models_test_set,
    navigation,
)

TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES = (
    ":material/badge: Card", ":material/account_tree: Architecture", ":material/compare_arrows: Compare",
    ":material/download: Download and delete",
)


def main():
    st.title("Models")
    st.markdown("Every model this server knows, with the accuracy it measured on images it never trained on. "
                "Choose one in the sidebar to read its card, open its test set, see its layers, compare it, download "
                "or export it.")
    deleted = st.session_state.pop("models-deleted", None)
    if deleted:
        st.success(f"Deleted {deleted}.", icon=":material/delete:")
    cards = models.model_cards()
    models_card.registry_table(cards)
    name = models.model_picker()
    card = models.card_for(name)
    st.subheader(card.display_title)
    test_set = models_test_set.tab_title(card)
    if st.session_state.get("models-tab") in models_test_set.TITLES:  # The tab follows the model's task.
        st.session_state["models-tab"] = test_set
    card_container, test_container, architecture_container, compare_container, files_container = st.tabs(
        [TAB_CARD, test_set, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES], key="models-tab", on_change="rerun")
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
