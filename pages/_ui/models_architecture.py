"""The Models page's Architecture tab: the layers as a graph and as a table."""

import streamlit as st

from imgrec import figures
from pages._ui import compute, i18n
from pages._ui.i18n import t

# Layer kinds (explain.layer_table) -> (the Markdown colour of the legend, a word for it); the
# graph's boxes use the same colours (figures.KIND_FILLS).
KIND_LEGEND = {"conv": ("blue", "models_architecture.conv"), "pool": ("green", "models_architecture.pool"),
               "dense": ("orange", "models_architecture.dense"), "attention": ("violet", "models_architecture.attention"),
               "recurrent": ("yellow", "models_architecture.recurrent"), "other": ("gray", "models_architecture.other")}


def architecture_tab(name, key):
    """A legend, the layer table and the layer graph (Graphviz, drawn by the browser)."""
    rows = compute.layer_table(name, key)
    total = sum(row["parameters"] for row in rows if row["depth"] == 0)
    kinds = {row["kind"] for row in rows}
    legend = " ".join(f":{colour}-background[{t(word)}]" for kind, (colour, word) in KIND_LEGEND.items()
                      if kind in kinds)
    st.markdown(t("models_architecture.summary", layers=len(rows), parameters=f"{total:,}", legend=legend))
    # The table takes the page's width: beside the graph, EfficientNet's layer names and its
    # Parameters column were cut at 1280 pixels. The graph follows, as long as the model is deep.
    columns = [t("models_architecture.column_layer"), t("models_architecture.column_type"),
               t("models_architecture.column_shape"), t("models_architecture.column_parameters")]
    st.dataframe(
        [dict(zip(columns, (("  " * row["depth"]) + row["name"], row["type"], row["output_shape"], row["parameters"]),
                  strict=True)) for row in rows],
        hide_index=True, height=min(420, 38 + 35 * len(rows)),
        column_config={columns[3]: st.column_config.NumberColumn(format="localized")},
    )
    st.caption(t("models_architecture.shapes"))
    st.graphviz_chart(figures.architecture_dot(rows, compute.layer_edges(name, key), texts=i18n.texts_now()))
