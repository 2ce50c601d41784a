"""Attention: how a vision transformer's patches look at each other, head by head, and where the decision looks."""

import streamlit as st

from imgrec import figures, overlays
from pages._ui import compute, inputs, links, models, navigation, presenter, views

FUSIONS = {"mean": "Mean of the heads", "max": "Strongest head", "min": "Weakest head"}
# How each kind of model reads an image instead of attending, for the "no attention here" message.
READS = {
    "cnn": "a convolutional network: it slides small filters over the image",
    "cnn-deep": "a convolutional network: it slides small filters over the image",
    "EfficientNet-Lite0": "a convolutional network: it slides small filters over the image",
    "crnn": "a convolutional network with a recurrent layer: filters first, then the columns read left to right",
    "rnn": "a recurrent network: it reads the image one row at a time, top to bottom",
    "mlp": "a perceptron: it reads all the pixels at once, as one long list of numbers",
}


def _switch_model(name):
    st.session_state.model_name = name


def no_attention(card):
    """Says why there is nothing to show and offers a model that has attention."""
    reads = READS.get(card.architecture, "a network without attention layers")
    st.info(
        f"**{card.display_title}** has no attention to draw: it is {reads}. "
        "Attention belongs to the vision transformer (ViT); switch to one below.",
        icon=":material/info:",
    )
    if "filters" in reads:
        st.page_link("pages/feature_maps.py", label="See this model's filters at work on Feature maps",
                     icon=":material/grid_view:")
    transformers = [other for other in models.model_cards() if models.has_attention(other)]
    for other in transformers[:3]:
        st.button(f"Switch to {other.display_title}", icon=":material/swap_horiz:",
                  key=f"switch-{other.name}", on_click=_switch_model, args=(other.name,))
    if not transformers:
        st.markdown("No vision transformer has been trained on this server yet. Train one with "
                    "`python -m imgrec train --preset mnist-vit --save mnist-vit`.")


def _query_from_link(grid):
    """Takes a link's `?query=`: "class" or a patch as "ROW,COL"; one it cannot show is named in a sentence."""
    value = links.requested("query")
    if value is None:
        return
    text = value.strip().lower()
    if text == "class" and grid.class_token:
        st.session_state["query-kind"] = "class"
        return
    parts = text.replace(" ", "").split(",")
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        row, col = int(parts[0]), int(parts[1])
        if row < grid.rows and col < grid.cols:
            st.session_state["query-kind"] = "patch"
            st.session_state["query-row"], st.session_state["query-col"] = row, col
            return
    token = " or 'class' (the class token)" if grid.class_token else ""
    links.refused("query", value, f"a query is a patch 'ROW,COL' with rows 0 to {grid.rows - 1} and columns 0 to "
                  f"{grid.cols - 1}{token}", "the patch in the middle" if "query-row" not in st.session_state
                  else "the patch chosen before")


def query_ui(grid):
    """Chooses the query: the class token or one patch by row and column; returns None or the patch's (row, col)."""
    options = ["patch"] + (["class"] if grid.class_token else [])
    if st.session_state.get("query-kind") not in options:
        st.session_state["query-kind"] = "patch"
    for key, size in (("query-row", grid.rows), ("query-col", grid.cols)):
        if st.session_state.get(key, size) >= size:
            st.session_state[key] = size // 2
    _query_from_link(grid)
    kind = st.segmented_control("Query", options, key="query-kind",
                                format_func={"patch": "One patch", "class": "The class token"}.get) or "patch"
    if kind == "class":
        links.write(query="class")
        return None
    left, right = st.columns(2)
    row = left.slider("Patch row", 0, grid.rows - 1, key="query-row")
    col = right.slider("Patch column", 0, grid.cols - 1, key="query-col")
    links.write(query=f"{row},{col}")
    return row, col


def patches_view(base, grid, chosen):
    rows, cols, patch = grid.rows, grid.cols, grid.patch_size
    # As tall as one head's map beside it, so the two line up.
    figure = figures.image_figure(base, title=f"{rows} x {cols} patches of {patch} x {patch} pixels",
                                  height=figures.ATTENTION_MAP_PIXELS + 70)
    figure.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 20})
    scale = base.shape[0] / (rows * patch)
    for index in range(1, rows):
        figure.add_hline(y=index * patch * scale - 0.5, line_color="white", line_width=1)
    for index in range(1, cols):
        figure.add_vline(x=index * patch * scale - 0.5, line_color="white", line_width=1)
    if chosen is not None:
        row, col = chosen
        figure.add_shape(type="rect", x0=col * patch * scale - 0.5, x1=(col + 1) * patch * scale - 0.5,
                         y0=row * patch * scale - 0.5, y1=(row + 1) * patch * scale - 0.5,
                         line_color=figures.QUERY_COLOUR, line_width=3)
    st.plotly_chart(figure, key="patches-chart", config=views.CHART_CONFIG)


def head_ui(layers, heads):
    """The layer and head to look at up close (1-based, as the grid labels them; "mean" for the average)."""
    layer_options, head_options = list(range(1, layers + 1)), [*range(1, heads + 1), "mean"]
    defaults = {"head-layer": (layer_options, layers), "head-head": (head_options, "mean")}
    for key, (options, default) in defaults.items():
        if st.session_state.get(key) not in options:
            st.session_state[key] = default
    asked = links.number("layer", 1, layers, integer=True, what=f"this model has layers 1 to {layers}",
                         instead=f"layer {st.session_state['head-layer']}")
    if asked is not None:
        st.session_state["head-layer"] = asked
    head = links.choice("head", head_options, aliases={"average": "mean"}, instead="the head chosen before"
                        if st.session_state["head-head"] != "mean" else "the mean of the heads",
                        problem=f"this model has heads 1 to {heads}, and 'mean' for their average")
    if head is not None:
        st.session_state["head-head"] = head
    left, right = st.columns(2)
    layer = left.selectbox("Layer", layer_options, key="head-layer")
    head = right.selectbox("Head", head_options, key="head-head",
                           format_func=lambda item: "Mean of the heads" if item == "mean" else f"Head {item}")
    links.write(layer=layer, head=head)
    return layer, head


def head_view(grids, query, base):
    """One layer's head (or the heads' mean) large, with the query outlined and its weights on the colour bar."""
    layers, heads = grids.shape[0], grids.shape[1] - 1
    layer, head = head_ui(layers, heads)
    index = heads if head == "mean" else head - 1
    title = f"Layer {layer}, {'mean of the heads' if head == 'mean' else f'head {head}'}"
    st.plotly_chart(figures.attention_map(grids[layer - 1, index], base, query, title=title), key="head-chart",
                    config=views.CHART_CONFIG)


def heads_view(grids, query, base):
    """Each layer's and head's attention from the query over the patches, plus the head average."""
    layers, heads = grids.shape[0], grids.shape[1] - 1
    labels = [f"Head {head + 1}" for head in range(heads)] + ["Average"]
    st.plotly_chart(figures.attention_heads_grid(grids, rgb=base, head_labels=labels, query=query), key="heads-chart",
                    config=views.CHART_CONFIG)
    st.caption(
        f"{layers} layers (rows) x {heads} heads (columns), and in the last column their average. Each map "
        "shows how the query's attention (its weights sum to 1) spreads over the patches, on its own scale: red "
        "patches are where that head gathers most information from"
        + (", and the magenta square is the query" if query is not None else "") + ". Heads in early layers "
        "often look near the query; later heads look further, at the parts that decide the class."
    )


def rollout_view(name, key, model_input, description):
    st.subheader("Attention rollout: where the decision looks")
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        if st.session_state.get("rollout-fusion") not in FUSIONS:
            st.session_state["rollout-fusion"] = "mean"
        fusion = links.choice("fusion", list(FUSIONS), problem="the heads combine by mean, max or min",
                              instead=FUSIONS[st.session_state["rollout-fusion"]].lower())
        if fusion is not None:
            st.session_state["rollout-fusion"] = fusion
        fusion = st.radio("Combine the heads by", list(FUSIONS), format_func=FUSIONS.get, key="rollout-fusion")
        if "rollout-discard" not in st.session_state:
            st.session_state["rollout-discard"] = 0.0
        discard = links.number("discard", 0.0, 0.95, step=0.05, instead=f"{st.session_state['rollout-discard']:g}")
        if discard is not None:
            st.session_state["rollout-discard"] = discard
        discard = st.slider("Discard the weakest links", 0.0, 0.95, step=0.05, key="rollout-discard",
                            help="The fraction of the lowest attention weights set to zero in each layer "
                                 "before multiplying; it removes the faint background and sharpens the map.")
        links.write(fusion=fusion, discard=f"{discard:.2f}")
        alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="rollout-alpha")
        st.caption(description + " In each layer a token keeps half of itself (the residual "
                   "path) and takes half from the tokens it attends to; the layers are then multiplied together.")
    with view:
        heatmap = compute.rollout(name, key, model_input, fusion, discard)
        base = views.enlarge(views.model_view(model_input), 224)
        st.plotly_chart(figures.image_figure(overlays.overlay(base, heatmap, alpha), title="Attention rollout"),
                        key="rollout-chart", config=views.CHART_CONFIG)


def distance_view(name, key, model_input):
    st.subheader("How far does each head look?")
    distances = compute.attention_distances(name, key, model_input)
    st.plotly_chart(figures.mean_distance_scatter(distances), key="distance-chart", config=views.CHART_CONFIG)
    st.caption(
        "For each head: the distance in pixels from a patch to the patches it attends to, weighted by the "
        "attention and averaged over all patches. A small distance means the head looks locally, like a "
        "convolution; a large one means it gathers from the whole image."
    )


def main():
    st.title("Attention")
    links.begin("attention")
    presenter.apply()
    st.markdown(
        "A **vision transformer** cuts the image into square patches and turns each into a list of numbers, a "
        "**token**. In every layer, each token asks every other token how relevant it is, and takes a weighted "
        "average of them: these weights are the **attention**. Several **heads** do this side by side, each "
        "free to look for something different. An extra class token gathers the evidence for the decision."
    )
    name = models.model_picker()
    card = models.card_for(name)
    if card.built is not False:
        models.model_or_stop(name)  # A model that cannot be loaded says why, rather than "no attention".
    if not models.has_attention(card):
        no_attention(card)
        return
    key = models.model_key(card)
    image = inputs.pick_one(inputs.image_input(card, multiple=False, key="attention"), key="attention-pick")
    if image is None:
        st.info("Choose an image above to see where the model looks.", icon=":material/arrow_upward:")
        return
    model_input = compute.model_input(name, key, image.rgb)
    grid = compute.patch_grid(name, key)
    base = views.enlarge(views.model_view(model_input), 224)
    st.subheader("The image, cut into patches")
    left, right = st.columns(2, gap="large")
    with left:
        query = query_ui(grid)
        patches_view(base, grid, query)
    grids = compute.query_attention(name, key, model_input, query)
    with right:
        head_view(grids, query, base)
    st.subheader("Every head, layer by layer")
    heads_view(grids, query, views.enlarge(views.model_view(model_input), 160))
    # The explainer's own sentence: rollout applies to every model with attention.
    description = next(choice.description for choice in compute.explainers(name, key) if choice.name == "rollout")
    rollout_view(name, key, model_input, description)
    distance_view(name, key, model_input)


navigation.run_inside_navigation()
main()
