"""The Models page's import form: a visitor's own Keras model, checked, measured and added to the registry."""

import streamlit as st

from imgrec import datasets, preprocess, registry
from pages._ui import compute, i18n, models
from pages._ui.i18n import t

SESSION_IMPORTS = "imports-this-session"  # Models this session imported, for its quota.
# The radio's values (English, as tests and session state know them) and the catalog keys that show them.
BY_DATASET, BY_NAMES = "One of imgrec's datasets", "Its own class names"
CLASSIFIES = {BY_DATASET: "models_import.by_dataset", BY_NAMES: "models_import.by_names"}
AUTOMATIC = "automatic"


def import_form():
    """The form in an expander: the file, a name, what it classifies and its preprocessing; imports on submit."""
    imported = st.session_state.get(SESSION_IMPORTS, 0)
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    with st.expander(text("models_import.title"), icon=":material/upload:"):
        st.markdown(text("models_import.intro", size=registry.MAX_IMPORT_BYTES // 2**20))
        with st.form("import-form"):
            upload = st.file_uploader(text("models_import.file"), type=["keras"], key="import-file",
                                      max_upload_size=registry.MAX_IMPORT_BYTES // 2**20)
            name = st.text_input(text("models_import.name"), key="import-name", placeholder="my-cnn",
                                 help=text("models_import.name_help"))
            classifies = st.radio(text("models_import.classifies"), (BY_DATASET, BY_NAMES), key="import-classifies",
                                  horizontal=True, format_func=lambda item: text(CLASSIFIES[item]))
            left, right = st.columns(2)
            dataset = left.selectbox(text("models_import.dataset"), datasets.names(), key="import-dataset",
                                     help=text("models_import.dataset_help"))
            classes = right.text_input(text("models_import.classes"), key="import-classes",
                                       placeholder=text("models_import.classes_placeholder"),
                                       help=text("models_import.classes_help"))
            preprocessing = st.selectbox(
                text("models_import.preprocessing"), (AUTOMATIC, *preprocess.KINDS), key="import-preprocessing",
                format_func=lambda item: text("models_import.automatic") if item == AUTOMATIC else item,
                help=text("models_import.preprocessing_help"))
            submitted = st.form_submit_button(text("models_import.submit"), icon=":material/upload:", type="primary")
        st.caption(text("models_import.quota", count=max(0, registry.max_imports_per_session() - imported)))
    if submitted:
        import_upload(upload, name.strip(), dataset if classifies == BY_DATASET else None,
                      split_class_names(classes) if classifies == BY_NAMES else None,
                      None if preprocessing == AUTOMATIC else preprocessing)


def split_class_names(text):
    """The class names typed in the form, comma-separated; an empty box gives an empty list."""
    return [part.strip() for part in text.split(",")] if text.strip() else []


def import_upload(upload, name, dataset, class_names, preprocessing):
    """Imports the uploaded file, then opens its card; a refusal is one sentence on the page."""
    if upload is None:
        st.error(t("models_import.no_file"), icon=":material/error:")
        return
    imported = st.session_state.get(SESSION_IMPORTS, 0)
    try:
        with st.spinner(t("models_import.checking")):
            card = compute.import_model(upload.getvalue(), upload.name, name, dataset, class_names, preprocessing,
                                        imported)
    except registry.RegistryError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return
    st.session_state[SESSION_IMPORTS] = imported + 1
    models.model_cards.clear()  # Every page lists it at once.
    st.session_state.model_name = card.name
    st.session_state["models-imported"] = t("models_import.imported", name=card.name,
                                            accuracy=models.score_text(card))
    st.rerun()
