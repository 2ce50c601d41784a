"""A model's layers as a Graphviz DOT graph: one box per layer, coloured by kind, an arrow per connection.

Text in, text out: the browser draws DOT (Streamlit's `graphviz_chart`), so no system
Graphviz is needed. The rows come from `explain.layer_table`, the edges from `explain.layer_edges`.
"""

from imgrec import texts

# Layer kinds (explain.layer_table's "kind") -> the box's fill colour.
KIND_FILLS = {"conv": "#dbeafe", "pool": "#dcfce7", "dense": "#ffedd5", "attention": "#ede9fe",
              "recurrent": "#fef9c3", "other": "#f1f5f9"}
_HEADER = ["digraph model {", "  rankdir=TB; nodesep=0.25; ranksep=0.3;",
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.04"];',
           '  edge [color="#777777", arrowsize=0.6];']


def _dot_text(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def architecture_dot(rows, edges, texts=texts.ENGLISH):
    """Returns the DOT text of a model's own layers and their connections.

    Args:
        rows: the model's `explain.layer_table` rows; only those at depth 0 are drawn, so a
            nested model is one box.
        edges: `(from, to)` layer names (`explain.layer_edges`); edges naming a layer
            without a row are left out.
        texts: the `imgrec.texts.Texts` its words come from. Defaults to English.

    Returns:
        A `digraph` whose nodes are `n0`, `n1`... in the order of the rows, each labelled
        "name: Type", its output shape and its parameter count (when it has parameters).

    Example:

    >>> rows = [{"name": "image", "type": "InputLayer", "output_shape": "(batch, 8)", "parameters": 0,
    ...          "kind": "other", "depth": 0}]
    >>> architecture_dot(rows, []).splitlines()[4]
    '  n0 [label="image: InputLayer\\\\n(batch, 8)", fillcolor="#f1f5f9"];'
    """
    own = [row for row in rows if row["depth"] == 0]
    lines = list(_HEADER)
    for index, row in enumerate(own):
        parameters = ("\\n" + _dot_text(texts("fig_architecture.parameters", count=f"{row['parameters']:,}"))
                      if row.get("parameters") else "")
        label = f"{_dot_text(row['name'])}: {_dot_text(row['type'])}\\n{_dot_text(row.get('output_shape', ''))}"
        fill = KIND_FILLS.get(row.get("kind", "other"), KIND_FILLS["other"])
        lines.append(f'  n{index} [label="{label}{parameters}", fillcolor="{fill}"];')
    position = {row["name"]: index for index, row in enumerate(own)}
    lines += [f"  n{position[parent]} -> n{position[child]};" for parent, child in edges
              if parent in position and child in position]
    return "\n".join([*lines, "}"])
