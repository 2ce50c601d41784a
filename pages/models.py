"""Models: the registry as a table, a model's card and architecture, comparisons, downloads, exports and deletion."""

import io
import json
import pathlib
import statistics
import tempfile
import time
import zipfile

import numpy as np
import streamlit as st

from imgrec import datasets, explain, export, figures, metrics, registry
from pages import _ui

COMPARE_SAMPLES = 2000  # Test images per model in a comparison: quick on 2 cores, still +-1% on accuracy.
LATENCY_REPEATS = 20  # Single-image forward passes timed per model; the median is shown.
# Layer kinds (explain.layer_table) -> (fill colour in the graph, the Markdown colour of the legend).
KIND_COLOURS = {"conv": ("#dbeafe", "blue"), "pool": ("#dcfce7", "green"), "dense": ("#ffedd5", "orange"),
                "attention": ("#ede9fe", "violet"), "recurrent": ("#fef9c3", "yellow"), "other": ("#f1f5f9", "gray")}
KIND_WORDS = {"conv": "convolution", "pool": "pooling", "dense": "dense", "attention": "attention",
              "recurrent": "recurrent", "other": "other"}
EXPORTS = {
    "tflite": ("TFLite", ".tflite", "application/octet-stream",
               "For phones and microcontrollers (TensorFlow Lite), float32 as trained."),
    "savedmodel": ("SavedModel", "-savedmodel.zip", "application/zip",
                   "For TensorFlow Serving and TensorFlow.js converters: the folder, zipped."),
}
TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES = (
    ":material/badge: Card", ":material/account_tree: Architecture", ":material/compare_arrows: Compare",
    ":material/download: Download and delete",
)


# ---------------------------------------------------------------------------------------
# Cached work, shared by every session: keyed on the model's key (name and file hash).


@st.cache_data(max_entries=32, show_spinner=False)
def layer_rows(_classifier, key):
    return explain.layer_table(_classifier.model)


@st.cache_data(max_entries=32, show_spinner=False)
def architecture_dot(_classifier, key):
    return layer_graph_dot(_classifier.model)


@st.cache_data(max_entries=32, show_spinner=False)
def evaluation(_classifier, key, dataset, samples):
    """Accuracy and per-class metrics on the first `samples` test images, and the latency of one image."""
    report = metrics.evaluate(_classifier, dataset, "test", max_samples=samples)
    image = np.zeros((1, *_classifier.input_shape), np.float32)
    _classifier.predict_inputs(image)  # The first call builds the compiled forward pass: not a fair sample.
    timings = []
    for _ in range(LATENCY_REPEATS):
        started = time.perf_counter()
        _classifier.predict_inputs(image)
        timings.append((time.perf_counter() - started) * 1000)
    report["latency_ms"] = statistics.median(timings)
    return report


@st.cache_data(max_entries=8, show_spinner="Exporting and checking the export (a few seconds)...")
def exported_bytes(_classifier, key, fmt):
    """The model exported to a format, checked by reloading it and comparing predictions; returns the bytes."""
    with tempfile.TemporaryDirectory(prefix="imgrec-export-") as folder:
        if fmt == "tflite":
            path = export.export(_classifier, "tflite", pathlib.Path(folder) / "model.tflite")
            return path.read_bytes()
        path = export.export(_classifier, "savedmodel", pathlib.Path(folder) / _classifier.name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in sorted(path.rglob("*")):
                if member.is_file():
                    archive.write(member, member.relative_to(path.parent))
        return buffer.getvalue()


def keras_file_bytes(card):
    """The model's `.keras` file exactly as stored, after checking it against the sha256 in its card."""
    return registry.model_file(card.name)[1]


# ---------------------------------------------------------------------------------------
# The architecture as a graph.


def _dot_text(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def layer_graph_dot(model):
    """A Graphviz DOT description of a Keras model: one box per layer, an arrow per connection.

    Nested models are one box each; the browser draws the graph, no system Graphviz is needed.
    """
    rows = {row["name"]: row for row in explain.layer_table(model) if row["depth"] == 0}
    lines = ["digraph model {", '  rankdir=TB; nodesep=0.25; ranksep=0.3;',
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.04"];',
             '  edge [color="#777777", arrowsize=0.6];']
    for index, layer in enumerate(model.layers):
        row = rows.get(layer.name, {})
        parameters = f"\\n{row['parameters']:,} parameters" if row.get("parameters") else ""
        label = f"{_dot_text(layer.name)}: {_dot_text(type(layer).__name__)}\\n{_dot_text(row.get('output_shape', ''))}"
        colour = KIND_COLOURS.get(row.get("kind", "other"), KIND_COLOURS["other"])[0]
        lines.append(f'  n{index} [label="{label}{parameters}", fillcolor="{colour}"];')
    position = {layer.name: index for index, layer in enumerate(model.layers)}
    edges = []
    for index, layer in enumerate(model.layers):
        parents = []
        for node in getattr(layer, "_inbound_nodes", []):
            parents += [parent.operation.name for parent in getattr(node, "parent_nodes", [])]
        if not parents and index > 0 and type(model).__name__ == "Sequential":
            parents = [model.layers[index - 1].name]
        for parent in dict.fromkeys(parents):
            if parent in position:
                edges.append(f"  n{position[parent]} -> n{index};")
    return "\n".join(lines + edges + ["}"])


# ---------------------------------------------------------------------------------------
# The page.


def export_failure(title, name, error):
    """One sentence on why an export failed; the converters' own messages run to pages of MLIR."""
    if type(error).__name__ == "ConverterError":
        return (f"TensorFlow's {title} converter could not convert {name}: some of its layers (recurrent ones, for "
                "instance) need operations outside TFLite's built-in set. The SavedModel export works for every model.")
    return f"The {title} export failed: {first_line(error)}"


def first_line(error):
    """An exception's message as one short sentence (converter errors span pages)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def size_text(size):
    if not isinstance(size, int | float):
        return ""
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def registry_table(cards):
    rows = []
    for card in cards:
        rows.append({
            "Name": card.name, "Architecture": card.architecture,
            "Dataset": card.dataset, "Parameters": card.parameters,
            "File size": size_text(card.file_size),
            "Test accuracy": card.accuracy,
            "Measured on": card.measured_on_text(),
            "Created": (card.created or "")[:16].replace("T", " "),
            "Shipped": registry.is_protected(card),
        })
    st.dataframe(rows, hide_index=True, column_config={
        "Parameters": st.column_config.NumberColumn(format="localized"),
        "Test accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Shipped": st.column_config.CheckboxColumn(help="Shipped models are protected: they cannot be deleted."),
    })


def card_tab(card):
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{card.accuracy:.2%}" if card.accuracy is not None else "-",
                      help=card.accuracy_text())
    columns[1].metric("Parameters", f"{card.parameters:,}" if card.parameters is not None else "-")
    columns[2].metric("File size", size_text(card.file_size) or "-")
    columns[3].metric("Classes", len(card.class_names))
    st.markdown(f"**{card.display_title}.** {card.summary or ''}")
    st.caption(f"Accuracy: {card.accuracy_text()}. Created {card.created or 'at an unknown time'}"
               + (f" with Keras {card.keras_version}" if card.keras_version else "") + ".")
    history = card.training.history if card.training is not None else None
    per_class = card.metrics.per_class_f1 if card.metrics is not None else None
    curves, scores = st.columns([3, 1], gap="medium")
    if history:
        with curves:
            st.plotly_chart(figures.training_curves(history), key="card-curves", config=_ui.CHART_CONFIG)
    if per_class:
        with scores:
            st.dataframe([{"Class": name, "F1": value} for name, value in per_class.items()], hide_index=True,
                         column_config={"F1": st.column_config.NumberColumn(format="%.3f")})
            st.caption("F1 per class on the test split: 1 is perfect.")
    with st.expander("The card in full (models/NAME.json)"):
        st.json(card.to_json(), expanded=2)


def architecture_tab(classifier, key):
    rows = layer_rows(classifier, key)
    total = sum(row["parameters"] for row in rows if row["depth"] == 0)
    kinds = {row["kind"] for row in rows}
    legend = " ".join(f":{KIND_COLOURS[kind][1]}-background[{KIND_WORDS[kind]}]" for kind in KIND_WORDS if kind in kinds)
    st.markdown(f"{len(rows)} layers, {total:,} parameters. Arrows show where each layer's input comes from. {legend}")
    graph, table = st.columns([2, 3], gap="large")
    with graph:
        st.graphviz_chart(architecture_dot(classifier, key))
    with table:
        st.dataframe(
            [{"Layer": ("  " * row["depth"]) + row["name"], "Type": row["type"], "Output shape": row["output_shape"],
              "Parameters": row["parameters"]} for row in rows],
            hide_index=True, height=min(700, 38 + 35 * len(rows)),
            column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
        )
        st.caption("Shapes read (batch, height, width, channels) for images and feature maps, (batch, units) "
                   "after flattening.")


def compatible(card, cards):
    """Models that can be measured on the same test set as `card`: same dataset and input shape."""
    return [other.name for other in cards
            if other.dataset == card.dataset and other.input.shape == card.input.shape]


def compare_tab(card, cards):
    names = compatible(card, cards)
    dataset = card.dataset
    if dataset not in datasets.names() and dataset.split(":", 1)[0] not in datasets.names():
        st.info(f"{card.name} was measured on {dataset}, which is not a dataset this app can load; there is "
                "nothing to compare it on here.", icon=":material/info:")
        return
    if len(names) < 2:
        st.info(f"No other model was trained on {dataset} with the same input shape; train one on the Train page "
                "to compare them.", icon=":material/info:")
    chosen = st.multiselect("Models to compare", names, default=names[:4], key=f"compare-{card.name}")
    st.caption(f"Measured here on the first {COMPARE_SAMPLES:,} images of the {dataset} test split, for speed (the "
               "accuracy on the cards uses the whole split). Latency is the median time of one image through the "
               "model on this server, with others using it too.")
    if st.button("Compare", type="primary", icon=":material/compare_arrows:", key="compare-run", disabled=not chosen):
        st.session_state["compare-measured"] = True
    if not chosen or not st.session_state.get("compare-measured"):
        return
    reports = {}
    with st.spinner(f"Measuring {len(chosen)} models on {COMPARE_SAMPLES:,} test images..."):
        for name in chosen:
            classifier = _ui.classifier_or_stop(name)
            reports[name] = evaluation(classifier, _ui.model_key(_ui.card_for(name)), dataset, COMPARE_SAMPLES)
    st.dataframe([{"Model": name, "Accuracy": report["accuracy"], "Macro F1": report["macro_f1"],
                   "Latency per image (ms)": report["latency_ms"], "Images": report["n"]}
                  for name, report in reports.items()], hide_index=True, column_config={
        "Accuracy": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
        "Macro F1": st.column_config.NumberColumn(format="%.3f"),
        "Latency per image (ms)": st.column_config.NumberColumn(format="%.1f"),
    })
    classes = [row["class"] for row in next(iter(reports.values()))["per_class"]]
    st.markdown("**F1 per class** (1 is perfect): where one model beats another.")
    st.dataframe([{"Class": name, **{model: report["per_class"][index]["f1"] for model, report in reports.items()}}
                  for index, name in enumerate(classes)], hide_index=True,
                 column_config={model: st.column_config.ProgressColumn(format="%.3f", min_value=0.0, max_value=1.0)
                                for model in reports})


def files_tab(card, classifier, key):
    name = card.name
    st.markdown("**Download**")
    try:
        data = keras_file_bytes(card)
    except (OSError, registry.RegistryError) as error:
        st.error(f"The model file cannot be offered: {error}", icon=":material/error:")
    else:
        st.download_button(f"{name}.keras ({size_text(len(data))})", data, file_name=f"{name}.keras",
                           mime="application/octet-stream", icon=":material/download:", key="download-keras",
                           on_click="ignore")
        st.caption(f"The Keras 3 file as stored, sha256 `{(card.sha256 or '')[:16]}...`; load it with "
                   "`keras.saving.load_model(path)`. The card (below) says how to prepare images for it.")
        st.download_button(f"{name}.json (the card)", json.dumps(card.to_json(), indent=2), file_name=f"{name}.json",
                           mime="application/json", icon=":material/description:", key="download-card",
                           on_click="ignore")
    st.markdown("**Export**")
    for fmt, (title, suffix, mime, note) in EXPORTS.items():
        left, right = st.columns([1, 2])
        with right:
            st.caption(note + " Every export is loaded back and must predict what the model predicts.")
        with left:
            prepared = st.session_state.get(f"export-{key}-{fmt}")
            if prepared is None:
                if st.button(f"Export to {title}", icon=":material/output:", key=f"export-{fmt}"):
                    try:
                        st.session_state[f"export-{key}-{fmt}"] = exported_bytes(classifier, key, fmt)
                    except Exception as error:  # The TensorFlow converters raise many types; all mean "not exported".
                        st.error(export_failure(title, name, error), icon=":material/error:")
                    else:
                        st.rerun()
            else:
                st.download_button(f"{name}{suffix} ({size_text(len(prepared))})", prepared,
                                   file_name=f"{name}{suffix}", mime=mime, icon=":material/download:",
                                   key=f"download-{fmt}", on_click="ignore")
    delete_ui(card)


def delete_ui(card):
    name = card.name
    st.markdown("**Delete**")
    if registry.is_protected(card):
        st.button(f"Delete {name}", icon=":material/delete:", disabled=True, key="delete-model",
                  help="Shipped models are protected.")
        st.caption(f"{name} ships with imgrec and is protected: other pages and lessons rely on it, so it cannot be "
                   "deleted here (the registry refuses too).")
        return
    confirmed = st.checkbox(f"Yes, delete {name} for everyone on this server; this cannot be undone.",
                            key=f"delete-confirm-{name}")
    if st.button(f"Delete {name}", icon=":material/delete:", disabled=not confirmed, key="delete-model"):
        try:
            registry.delete(name)
        except registry.RegistryError as error:
            st.error(str(error), icon=":material/error:")
            return
        _ui.model_cards.clear()  # Every page stops listing it at once.
        st.session_state.pop("model_name", None)
        st.session_state["models-deleted"] = name
        st.rerun()


def main():
    st.title("Models")
    st.markdown("Every model this server knows, with the accuracy it measured on images it never trained on. "
                "Choose one in the sidebar to read its card, see its layers, compare it, download or export it.")
    deleted = st.session_state.pop("models-deleted", None)
    if deleted:
        st.success(f"Deleted {deleted}.", icon=":material/delete:")
    cards = _ui.model_cards()
    registry_table(cards)
    name = _ui.model_picker()
    card = _ui.card_for(name)
    st.subheader(card.display_title)
    card_container, architecture_container, compare_container, files_container = st.tabs(
        [TAB_CARD, TAB_ARCHITECTURE, TAB_COMPARE, TAB_FILES], key="models-tab", on_change="rerun")
    if card_container.open:
        with card_container:
            card_tab(card)
    if architecture_container.open:
        with architecture_container:
            classifier = _ui.classifier_or_stop(name)
            architecture_tab(classifier, _ui.model_key(card))
    if compare_container.open:
        with compare_container:
            compare_tab(card, cards)
    if files_container.open:
        with files_container:
            classifier = _ui.classifier_or_stop(name)
            files_tab(card, classifier, _ui.model_key(card))


_ui.run_inside_navigation()
main()
