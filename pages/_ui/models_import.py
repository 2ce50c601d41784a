"""The Models page's import form: a visitor's own Keras model, checked, measured and added to the registry."""

import streamlit as st

from imgrec import datasets, preprocess, registry
from pages._ui import compute, models

SESSION_IMPORTS = "imports-this-session"  # Models this session imported, for its quota.
BY_DATASET, BY_NAMES = "One of imgrec's datasets", "Its own class names"
AUTOMATIC = "automatic"
PREPROCESSING_HELP = ("How any image becomes the model's input: fit resizes the whole image (grey or colour), "
                      "mnist-digit centres a drawn digit as MNIST did, imagenet crops a 224x224 photo; automatic "
                      "follows the dataset.")


def import_form():
    """The form in an expander: the file, a name, what it classifies and its preprocessing; imports on submit."""
    imported = st.session_state.get(SESSION_IMPORTS, 0)
    with st.expander("Import a model", icon=":material/upload:"):
        st.markdown(
            "Bring a model trained elsewhere, in a notebook say: a Keras 3 `.keras` file, saved with "
            f"`model.save('my-model.keras')`, up to {registry.MAX_IMPORT_BYTES // 2**20} MiB. It is given pixel "
            "values 0..255, so its own first layer should scale them (`Rescaling(1/255)`). Every check the "
            "registry makes runs before anything is kept: a file with code in it (a `Lambda` layer, a custom "
            "class) or one too large to load safely is refused.")
        with st.form("import-form"):
            upload = st.file_uploader("Keras file", type=["keras"], key="import-file",
                                      max_upload_size=registry.MAX_IMPORT_BYTES // 2**20)
            name = st.text_input("Model name", key="import-name", placeholder="my-cnn",
                                 help="1-64 lower-case letters, digits, '-' or '_'; it names the model everywhere.")
            classifies = st.radio("It classifies", (BY_DATASET, BY_NAMES), key="import-classifies", horizontal=True)
            left, right = st.columns(2)
            dataset = left.selectbox("Dataset", datasets.names(), key="import-dataset",
                                     help="The model is measured on this dataset's test split; its card shows it.")
            classes = right.text_input("Class names", key="import-classes", placeholder="cat, dog",
                                       help="One per output of the model, in output order, separated by commas.")
            preprocessing = st.selectbox("Preprocessing", (AUTOMATIC, *preprocess.KINDS), key="import-preprocessing",
                                         help=PREPROCESSING_HELP)
            submitted = st.form_submit_button("Import", icon=":material/upload:", type="primary")
        st.caption(f"This session may import {max(0, registry.max_imports_per_session() - imported)} more "
                   f"models; imported models are shared with everyone on this server and can be deleted here.")
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
        st.error("Choose a .keras file to import first.", icon=":material/error:")
        return
    imported = st.session_state.get(SESSION_IMPORTS, 0)
    try:
        with st.spinner("Checking the model, then measuring it on the test split..."):
            card = compute.import_model(upload.getvalue(), upload.name, name, dataset, class_names, preprocessing,
                                        imported)
    except registry.RegistryError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.session_state[SESSION_IMPORTS] = imported + 1
    models.model_cards.clear()  # Every page lists it at once.
    st.session_state.model_name = card.name
    st.session_state["models-imported"] = f"Imported {card.name}: {card.accuracy_text()}."
    st.rerun()
