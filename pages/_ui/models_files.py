"""The Models page's Download and delete tab: the .keras file and card, checked exports, and deleting a model."""

import json

import streamlit as st

from imgrec import export, registry
from pages._ui import compute, i18n, models, views
from pages._ui.i18n import t

# Each export: its title, the file's suffix and type, and the catalog key of what it is for.
EXPORTS = {
    "tflite": ("TFLite", ".tflite", "application/octet-stream", "models_files.tflite_note"),
    "savedmodel": ("SavedModel", "-savedmodel.zip", "application/zip", "models_files.savedmodel_note"),
}


def export_failure(title, error):
    """One sentence on why an export failed; the converters' own messages run to pages of MLIR."""
    if isinstance(error, export.ExportError):
        return i18n.error_text(error)  # Already one sentence that says what to do (and its key for Chinese).
    return t("models_files.export_failed", title=title, detail=first_line(error))


def first_line(error):
    """An exception's message as one short sentence (converter errors span pages)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def download_ui(card):
    """The model's `.keras` file exactly as stored (after checking its sha256) and its card, as downloads."""
    name = card.name
    try:
        data = registry.model_file(name)[1]
    except (OSError, registry.RegistryError) as error:
        st.error(t("models_files.cannot_offer", detail=error), icon=":material/error:")
        return
    st.download_button(f"{name}.keras ({views.size_text(len(data))})", data, file_name=f"{name}.keras",
                       mime="application/octet-stream", icon=":material/download:", key="download-keras",
                       on_click="ignore")
    st.caption(t("models_files.keras_file", sha=(card.sha256 or "")[:16]))
    st.download_button(t("models_files.card_file", name=name), json.dumps(card.to_json(), indent=2), file_name=f"{name}.json",
                       mime="application/json", icon=":material/description:", key="download-card",
                       on_click="ignore")


def export_errors(key):
    """The export failures of the model shown, by format; forgotten once another model is shown."""
    errors = st.session_state.get("export-errors")
    if errors is None or errors.get("model") != key:
        errors = st.session_state["export-errors"] = {"model": key}
    return errors


def export_ui(name, key, fmt):
    """A button that exports to one format (checked by reloading it), then the download of the result.

    A failure stays on screen, however the page is redrawn, until another model is chosen.
    """
    title, suffix, mime, _ = EXPORTS[fmt]
    prepared = st.session_state.get(f"export-{key}-{fmt}")
    errors = export_errors(key)
    if prepared is not None:
        st.download_button(f"{name}{suffix} ({views.size_text(len(prepared))})", prepared,
                           file_name=f"{name}{suffix}", mime=mime, icon=":material/download:",
                           key=f"download-{fmt}", on_click="ignore")
    elif st.button(t("models_files.export_to", title=title), icon=":material/output:", key=f"export-{fmt}"):
        try:
            st.session_state[f"export-{key}-{fmt}"] = compute.exported_bytes(name, key, fmt)
        except Exception as error:  # The TensorFlow converters raise many types; all mean "not exported".
            errors[fmt] = export_failure(title, error)
        else:
            errors.pop(fmt, None)
            st.rerun()
    if fmt in errors:
        st.error(errors[fmt], icon=":material/error:")


def delete_ui(card):
    """Deleting a model after a confirmation; a shipped model's button stays disabled."""
    name = card.name
    st.markdown(t("models_files.delete_heading"))
    if registry.is_protected(card):
        st.button(t("models_files.delete", name=name), icon=":material/delete:", disabled=True, key="delete-model",
                  help=t("models_files.protected_help"))
        st.caption(t("models_files.protected", name=name))
        return
    confirmed = st.checkbox(t("models_files.confirm", name=name), key=f"delete-confirm-{name}")
    if st.button(t("models_files.delete", name=name), icon=":material/delete:", disabled=not confirmed,
                 key="delete-model"):
        try:
            registry.delete(name)
        except registry.RegistryError as error:
            st.error(i18n.error_text(error), icon=":material/error:")
            return
        models.model_cards.clear()  # Every page stops listing it at once.
        st.session_state.pop("model_name", None)
        st.session_state["models-deleted"] = name
        st.rerun()


def files_tab(card, key):
    st.markdown(t("models_files.download_heading"))
    download_ui(card)
    st.markdown(t("models_files.export_heading"))
    for fmt, (_, _, _, note) in EXPORTS.items():
        left, right = st.columns([1, 2])
        with right:
            st.caption(t(note) + t("models_files.checked"))
        with left:
            export_ui(card.name, key, fmt)
    delete_ui(card)
