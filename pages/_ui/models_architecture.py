"""The Models page's Architecture tab: the layers as a graph and as a table."""

import streamlit as st

from imgrec import figures
from pages._ui import compute

# Layer kinds (explain.layer_table) -> (the Markdown colour of the legend, a word for it); the
# graph's boxes use the same colours (figures.KIND_FILLS).
KIND_LEGEND = {"conv": ("blue", "convolution"), "pool": ("green", "pooling"), "dense": ("orange", "dense"),
               "attention": ("violet", "attention"), "recurrent": ("yellow", "recurrent"), "other": ("gray", "other")}


def architecture_tab(name, key):
    """A legend, the layer table and the layer graph (Graphviz, drawn by the browser)."""
    rows = compute.layer_table(name, key)
    total = sum(row["parameters"] for row in rows if row["depth"] == 0)
    kinds = {row["kind"] for row in rows}
    legend = " ".join(f":{colour}-background[{word}]" for kind, (colour, word) in KIND_LEGEND.items() if kind in kinds)
    st.markdown(f"{len(rows)} layers, {total:,} parameters. Arrows show where each layer's input comes from. {legend}")
    # The table takes the page's width: beside the graph, EfficientNet's layer names and its
    # Parameters column were cut at 1280 pixels. The graph follows, as long as the model is deep.
    st.dataframe(
        [{"Layer": ("  " * row["depth"]) + row["name"], "Type": row["type"], "Output shape": row["output_shape"],
          "Parameters": row["parameters"]} for row in rows],
        hide_index=True, height=min(420, 38 + 35 * len(rows)),
        column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
    )
    st.caption("Shapes read (batch, height, width, channels) for images and feature maps, (batch, units) "
               "after flattening.")
    st.graphviz_chart(figures.architecture_dot(rows, compute.layer_edges(name, key)))
