"""Attention: how a vision transformer's patches look at each other, head by head, and where the decision looks."""

import streamlit as st

from imgrec import figures, overlays
from pages._ui import charts, compute, i18n, inputs, links, models, navigation, presenter, views
from pages._ui.i18n import t

FUSIONS = {"mean": "attention.fusion_mean", "max": "attention.fusion_max", "min": "attention.fusion_min"}
# How each kind of model reads an image instead of attending, for the "no attention here" message.
READS = {
    "cnn": "attention.reads_cnn",
    "cnn-deep": "attention.reads_cnn",
    "EfficientNet-Lite0": "attention.reads_cnn",
    "crnn": "attention.reads_crnn",
    "rnn": "attention.reads_rnn",
    "mlp": "attention.reads_mlp",
}
CONVOLUTIONAL = ("cnn", "cnn-deep", "EfficientNet-Lite0", "crnn")  # The readers that have filters to show.
# The rollout's colours, as on Predict (`?cmap=`): viridis first, a map a colour-blind student reads.
COLOURS = {"viridis": "colour_maps.viridis", "cividis": "colour_maps.cividis", "jet": "colour_maps.jet"}
COLOUR_ENDS = {"viridis": "attention.ends_viridis", "cividis": "attention.ends_cividis", "jet": "attention.ends_jet"}
DEFAULT_COLOURS = "viridis"


QUERY_KINDS = {"patch": "attention.one_patch", "class": "attention.class_token"}


def _switch_model(name):
    st.session_state.model_name = name


def no_attention(card):
    """Says why there is nothing to show and offers a model that has attention."""
    reads = t(READS.get(card.architecture, "attention.reads_other"))
    st.info(t("attention.no_attention", title=card.display_title, reads=reads), icon=":material/info:")
    if card.architecture in CONVOLUTIONAL:
        st.page_link("pages/feature_maps.py", label=t("attention.see_filters"), icon=":material/grid_view:")
    transformers = [other for other in models.model_cards() if models.has_attention(other)]
    for other in transformers[:3]:
        st.button(t("attention.switch_to", title=other.display_title), icon=":material/swap_horiz:",
                  key=f"switch-{other.name}", on_click=_switch_model, args=(other.name,))
    if not transformers:
        st.markdown(t("attention.no_transformer"))


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
    token = t("attention.or_class_token") if grid.class_token else ""
    links.refused("query", value, t("attention.query_refused", last_row=grid.rows - 1, last_col=grid.cols - 1,
                                    token=token),
                  t("attention.middle_patch") if "query-row" not in st.session_state else t("attention.patch_before"))


def query_ui(grid):
    """Chooses the query: the class token or one patch by row and column; returns None or the patch's (row, col)."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    options = ["patch"] + (["class"] if grid.class_token else [])
    if st.session_state.get("query-kind") not in options:
        st.session_state["query-kind"] = "patch"
    for key, size in (("query-row", grid.rows), ("query-col", grid.cols)):
        if st.session_state.get(key, size) >= size:
            st.session_state[key] = size // 2
    _query_from_link(grid)
    kind = st.segmented_control(t("attention.query"), options, key="query-kind",
                                format_func=lambda item: text(QUERY_KINDS[item])) or "patch"
    if kind == "class":
        links.write(query="class")
        return None
    left, right = st.columns(2)
    row = left.slider(t("attention.patch_row"), 0, grid.rows - 1, key="query-row")
    col = right.slider(t("attention.patch_column"), 0, grid.cols - 1, key="query-col")
    links.write(query=f"{row},{col}")
    return row, col


def patches_view(base, grid, chosen):
    rows, cols, patch = grid.rows, grid.cols, grid.patch_size
    # As tall as one head's map beside it, so the two line up.
    figure = figures.image_figure(base, title=t("attention.patches_title", rows=rows, cols=cols, patch=patch),
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
    charts.show(figure, key="patches-chart")


def head_ui(layers, heads):
    """The layer and head to look at up close (1-based, as the grid labels them; "mean" for the average)."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    layer_options, head_options = list(range(1, layers + 1)), [*range(1, heads + 1), "mean"]
    defaults = {"head-layer": (layer_options, layers), "head-head": (head_options, "mean")}
    for key, (options, default) in defaults.items():
        if st.session_state.get(key) not in options:
            st.session_state[key] = default
    asked = links.number("layer", 1, layers, integer=True, what=t("attention.layers_refused", count=layers),
                         instead=t("attention.layer_instead", layer=st.session_state["head-layer"]))
    if asked is not None:
        st.session_state["head-layer"] = asked
    head = links.choice("head", head_options, aliases={"average": "mean"}, instead=t("attention.head_before")
                        if st.session_state["head-head"] != "mean" else t("attention.heads_mean_instead"),
                        problem=t("attention.heads_refused", count=heads))
    if head is not None:
        st.session_state["head-head"] = head
    left, right = st.columns(2)
    layer = left.selectbox(t("attention.layer"), layer_options, key="head-layer")
    head = right.selectbox(t("attention.head"), head_options, key="head-head",
                           format_func=lambda item: text("attention.fusion_mean") if item == "mean"
                           else text("attention.head_number", number=item))
    links.write(layer=layer, head=head)
    return layer, head


def head_view(grids, query, base):
    """One layer's head (or the heads' mean) large, with the query outlined and its weights on the colour bar."""
    layers, heads = grids.shape[0], grids.shape[1] - 1
    layer, head = head_ui(layers, heads)
    index = heads if head == "mean" else head - 1
    title = (t("attention.head_title_mean", layer=layer) if head == "mean"
             else t("attention.head_title", layer=layer, head=head))
    charts.show(figures.attention_map(grids[layer - 1, index], base, query, title=title, texts=i18n.texts_now()),
                key="head-chart")


def heads_view(grids, query, base):
    """Each layer's and head's attention from the query over the patches, plus the head average."""
    layers, heads = grids.shape[0], grids.shape[1] - 1
    labels = [t("attention.head_number", number=head + 1) for head in range(heads)] + [t("attention.average")]
    charts.show(figures.attention_heads_grid(grids, rgb=base, head_labels=labels, query=query, texts=i18n.texts_now()),
                key="heads-chart")
    st.caption(t("attention.heads_caption_query" if query is not None else "attention.heads_caption", layers=layers,
                 heads=heads))


def rollout_view(name, key, model_input):
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    st.subheader(t("attention.rollout_title"))
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        if st.session_state.get("rollout-fusion") not in FUSIONS:
            st.session_state["rollout-fusion"] = "mean"
        fusion = links.choice("fusion", list(FUSIONS), problem=t("attention.fusion_refused"),
                              instead=t(FUSIONS[st.session_state["rollout-fusion"]]).lower())
        if fusion is not None:
            st.session_state["rollout-fusion"] = fusion
        fusion = st.radio(text("attention.fusion"), list(FUSIONS), format_func=lambda item: text(FUSIONS[item]),
                          key="rollout-fusion")
        if "rollout-discard" not in st.session_state:
            st.session_state["rollout-discard"] = 0.0
        discard = links.number("discard", 0.0, 0.95, step=0.05, instead=f"{st.session_state['rollout-discard']:g}")
        if discard is not None:
            st.session_state["rollout-discard"] = discard
        discard = st.slider(t("attention.discard"), 0.0, 0.95, step=0.05, key="rollout-discard",
                            help=t("attention.discard_help"))
        alpha = st.slider(t("attention.opacity"), 0.0, 1.0, 0.5, 0.05, key="rollout-alpha")
        colormap = colours_ui()
        links.write(fusion=fusion, discard=f"{discard:.2f}", cmap=None if colormap == DEFAULT_COLOURS else colormap)
        st.caption(t("attention.rollout_caption"))
    with view:
        heatmap = compute.rollout(name, key, model_input, fusion, discard)
        base = views.enlarge(views.model_view(model_input), 224)
        charts.show(figures.image_figure(overlays.overlay(base, heatmap, alpha, colormap),
                                         title=t("attention.rollout")), key="rollout-chart")
        st.caption(t(COLOUR_ENDS[colormap]))


def colours_ui():
    """The rollout's heatmap colours, from a link's `?cmap=` or the visitor's choice; returns the colour map's name."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    if st.session_state.get("rollout-colours") not in COLOURS:
        st.session_state["rollout-colours"] = DEFAULT_COLOURS
    asked = links.choice("cmap", list(COLOURS), problem=t("attention.colours_refused", colours=", ".join(COLOURS)),
                         instead=st.session_state["rollout-colours"])
    if asked is not None:
        st.session_state["rollout-colours"] = asked
    return st.selectbox(text("attention.colours"), list(COLOURS), format_func=lambda item: text(COLOURS[item]),
                        key="rollout-colours")


def distance_view(name, key, model_input):
    st.subheader(t("attention.distance_title"))
    distances = compute.attention_distances(name, key, model_input)
    charts.show(figures.mean_distance_scatter(distances, texts=i18n.texts_now()), key="distance-chart")
    st.caption(t("attention.distance_caption"))


def main():
    st.title(t("nav.attention"))
    links.begin("attention")
    presenter.apply()
    st.markdown(t("attention.intro"))
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
        st.info(t("attention.choose_image"), icon=":material/arrow_upward:")
        return
    model_input = compute.model_input(name, key, image.rgb)
    grid = compute.patch_grid(name, key)
    base = views.enlarge(views.model_view(model_input), 224)
    st.subheader(t("attention.patches"))
    left, right = st.columns(2, gap="large")
    with left:
        query = query_ui(grid)
        patches_view(base, grid, query)
    grids = compute.query_attention(name, key, model_input, query)
    with right:
        head_view(grids, query, base)
    st.subheader(t("attention.every_head"))
    heads_view(grids, query, views.enlarge(views.model_view(model_input), 160))
    rollout_view(name, key, model_input)
    distance_view(name, key, model_input)


navigation.run_inside_navigation()
main()
