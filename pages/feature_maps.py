"""Feature maps: every layer's activations, the kernels of a convolution, and the arithmetic behind one number."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from pages._ui import arithmetic, charts, compute, i18n, inputs, links, models, navigation, presenter
from pages._ui.i18n import t

# Channels drawn at once: a grid of 64 maps stays readable and light to send to the browser.
CHANNELS_PER_VIEW = 64
SCALES = {"channel": "maps.scale_channel", "layer": "maps.scale_layer", "global": "maps.scale_global"}
# "One scale for every layer" reads every layer's range in one pass, but the first pass over
# EfficientNet's 140 maps traces for 2.5 to 3.7 s: offered for models this small.
MAX_LAYERS_FOR_GLOBAL = 24
CONV_TYPES = ("Conv2D", "DepthwiseConv2D")
POOL_TYPES = ("MaxPooling2D", "AveragePooling2D")
# A layer without a sum to check, by the article its type takes in English ("an Activation", "a Flatten").
NO_SUM = {"a": "maps.no_sum_a", "an": "maps.no_sum_an"}
NO_KERNEL = {"a": "maps.no_kernel_a", "an": "maps.no_kernel_an"}


def layer_ui(name, key, card):
    """The layer table and the layer picker; returns the chosen layer's row of the table."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    table = compute.layer_table(name, key)
    spatial = list(compute.spatial_layers(name, key))
    rows = {row["name"]: row for row in table}
    with st.expander(t("maps.all_layers", count=len(table), title=card.display_title), expanded=False):
        columns = [t("maps.column_layer"), t("maps.column_type"), t("maps.column_shape"), t("maps.column_parameters")]
        st.dataframe(
            [dict(zip(columns, (("  " * row["depth"]) + row["name"], row["type"], row["output_shape"],
                                row["parameters"]), strict=True)) for row in table],
            hide_index=True, column_config={columns[3]: st.column_config.NumberColumn(format="localized")},
        )
        st.caption(t("maps.table_caption"))
    if not spatial:
        return None
    layer_key = f"layer-{name}"
    if st.session_state.get(layer_key) not in spatial:
        st.session_state[layer_key] = next((item for item in spatial if rows[item]["type"] in CONV_TYPES), spatial[0])
    asked = links.choice("layer", spatial, problem=t("maps.no_such_layer", title=card.display_title),
                         instead=st.session_state[layer_key])
    if asked is not None:
        st.session_state[layer_key] = asked
    chosen = st.selectbox(t("maps.layer"), spatial, key=layer_key,
                          format_func=lambda item: text("maps.layer_option", name=item, type=rows[item]["type"],
                                                     shape=rows[item]["output_shape"]))
    links.write(layer=chosen)
    return rows[chosen]


def channel_range_ui(channels, layer_name):
    """For layers with many channels, a selector of which 64 to draw; returns a range."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    if channels <= CHANNELS_PER_VIEW:
        return range(channels)
    starts = list(range(0, channels, CHANNELS_PER_VIEW))
    start = st.selectbox(t("maps.channels"), starts, key=f"channels-{layer_name}",
                         format_func=lambda s: text("maps.channels_option", first=s,
                                                 last=min(s + CHANNELS_PER_VIEW, channels) - 1, count=channels))
    return range(start, min(start + CHANNELS_PER_VIEW, channels))


def maps_view(name, key, model_input, maps, layer_name):
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    st.subheader(t("maps.every_map"))
    spatial = compute.spatial_layers(name, key)
    # One scale across every layer needs every layer's range: offered where that is cheap.
    scales = [scale for scale in SCALES if scale != "global" or len(spatial) <= MAX_LAYERS_FOR_GLOBAL]
    if st.session_state.get("maps-scale") not in scales:
        st.session_state["maps-scale"] = scales[0]
    asked = links.choice("scale", scales, problem=t("maps.scales_refused", scales=", ".join(scales)),
                         instead=t(SCALES[st.session_state["maps-scale"]]).lower())
    if asked is not None:
        st.session_state["maps-scale"] = asked
    scale = st.radio(text("maps.colour_scale"), scales, format_func=lambda item: text(SCALES[item]), horizontal=True,
                     key="maps-scale")
    links.write(scale=scale)
    global_range = None
    if scale == "global":
        ranges = compute.activation_ranges(name, key, model_input).values()
        global_range = (min(low for low, _ in ranges), max(high for _, high in ranges))
    shown = channel_range_ui(maps.shape[-1], layer_name)
    figure = figures.heatmap_grid(maps[..., shown.start:shown.stop], columns=8, scale=scale,
                                  global_range=global_range, titles=[str(channel) for channel in shown],
                                  texts=i18n.texts_now())
    charts.show(figure, key="maps-chart")
    st.caption(t("maps.maps_caption"))


def zoom_view(maps, channel, position=None):
    """One channel large, with every value written in when the map is small; marks the chosen position."""
    height, width = maps.shape[:2]
    values = maps[..., channel]
    if height * width <= 14 * 14:
        figure = figures.number_grid(values, title=t("maps.zoom_values", channel=channel), fmt=".2f",
                                     texts=i18n.texts_now())
    else:
        # Every value at full resolution (the grid above may skip pixels), coloured from its minimum to maximum.
        figure = figures.image_figure(overlays.colorize(overlays.stretch(values), "viridis"),
                                      title=t("maps.zoom", channel=channel))
    if position is not None:
        row, col = position
        figure.add_shape(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": "#ff2b2b", "width": 3})
    charts.show(figure, key="zoom-chart")
    st.caption(t("maps.zoom_caption_marked" if position is not None else "maps.zoom_caption", channel=channel,
                 height=height, width=width, low=f"{values.min():.3g}", high=f"{values.max():.3g}"))


def kernel_input_ui(kernel, layer_name):
    """For a convolution over several input channels, which channel's weights to draw; returns its index or None (mean)."""
    text = i18n.texts_now()  # Format functions may run outside this run (AppTest): bound to its language now.
    inputs_count = kernel.shape[2]
    if inputs_count == 1:
        return None
    options = ["mean", *range(inputs_count)]
    picked = st.columns([1, 1])[0].select_slider(
        t("maps.kernel_input"), options, key=f"kernel-input-{layer_name}",
        format_func=lambda option: text("maps.kernel_mean") if option == "mean" else str(option),
        help=text("maps.kernel_input_help"),
    )
    return None if picked == "mean" else int(picked)


def kernels_view(name, key, layer_name):
    kernel, bias = compute.conv_kernels(name, key, layer_name)
    st.subheader(t("maps.kernels"))
    input_channel = kernel_input_ui(kernel, layer_name)
    charts.show(figures.kernel_grid(kernel, input_channel=input_channel, texts=i18n.texts_now()), key="kernels-chart")
    height, width, inputs, outputs = kernel.shape
    st.caption(t("maps.kernels_caption_one" if inputs == 1 else "maps.kernels_caption_other", filters=outputs,
                 height=height, width=width, inputs=inputs) + (t("maps.kernels_bias") if bias is not None else ""))


def _jump_to_strongest(maps, channel_key):
    channel = st.session_state.get(channel_key, 0)
    row, col = np.unravel_index(int(np.argmax(maps[..., channel])), maps.shape[:2])
    st.session_state["arith-row"], st.session_state["arith-col"] = int(row), int(col)


def channel_from_link(maps, layer_name, channel_key):
    """Takes a link's `?channel=`, also moving the drawn range of channels to it; says why when it cannot."""
    channels = maps.shape[-1]
    if st.session_state.get(channel_key, 0) >= channels:
        st.session_state[channel_key] = 0
    asked = links.number("channel", 0, channels - 1, integer=True,
                         instead=t("maps.channel_instead", channel=st.session_state.get(channel_key, 0)),
                         what=t("maps.channel_refused_one" if channels == 1 else "maps.channel_refused_other",
                                layer=layer_name, count=channels))
    if asked is not None:
        st.session_state[channel_key] = asked
        st.session_state[f"channels-{layer_name}"] = asked // CHANNELS_PER_VIEW * CHANNELS_PER_VIEW


def channel_ui(maps, channel_key):
    """The output channel to look at closely; returns its index."""
    channels = maps.shape[-1]
    if st.session_state.get(channel_key, 0) >= channels:
        st.session_state[channel_key] = 0
    channel = st.slider(t("maps.channel"), 0, channels - 1, key=channel_key) if channels > 1 else 0
    links.write(channel=channel)
    return channel


def position_ui(maps, channel_key):
    """Sliders for the output row and column, first at the strongest response; returns (row, col)."""
    height, width = maps.shape[:2]
    if "arith-row" not in st.session_state or st.session_state["arith-row"] >= height \
            or st.session_state.get("arith-col", 0) >= width:
        _jump_to_strongest(maps, channel_key)
    for name, key, size, instead, what in (("row", "arith-row", height, "maps.row_instead", "maps.rows_refused"),
                                           ("col", "arith-col", width, "maps.col_instead", "maps.cols_refused")):
        asked = links.number(name, 0, size - 1, integer=True, instead=t(instead, value=st.session_state[key]),
                             what=t(what, last=size - 1))
        if asked is not None:
            st.session_state[key] = asked
    row = st.slider(t("maps.row"), 0, height - 1, key="arith-row") if height > 1 else 0
    col = st.slider(t("maps.column"), 0, width - 1, key="arith-col") if width > 1 else 0
    st.button(t("maps.strongest"), icon=":material/my_location:", on_click=_jump_to_strongest,
              args=(maps, channel_key), help=t("maps.strongest_help"))
    links.write(row=row, col=col)
    return row, col


def main():
    st.title(t("nav.feature_maps"))
    links.begin("feature-maps")
    presenter.apply()
    st.markdown(t("maps.intro"))
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    image = inputs.pick_one(inputs.image_input(card, multiple=False, key="features"), key="features-pick")
    if image is None:
        st.info(t("maps.choose_image"), icon=":material/arrow_upward:")
        return
    model_input = compute.model_input(name, key, image.rgb)
    layer = layer_ui(name, key, card)
    if layer is None:
        st.info(t("maps.no_spatial_layer"), icon=":material/info:")
        return
    maps = compute.feature_maps(name, key, model_input, layer["name"])
    channel_key = f"arith-channel-{layer['name']}"
    channel_from_link(maps, layer["name"], channel_key)
    maps_view(name, key, model_input, maps, layer["name"])
    st.subheader(t("maps.up_close"))
    has_arithmetic = layer["type"] in CONV_TYPES + POOL_TYPES
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        channel = channel_ui(maps, channel_key)
        position = position_ui(maps, channel_key) if has_arithmetic else None
    with view:
        zoom_view(maps, channel, position)
    if has_arithmetic:
        arithmetic.arithmetic_view(name, key, card, model_input, layer, channel, position)
    else:
        article = figures.article(layer["type"])
        for unused in ("row", "col"):
            links.unused(unused, t(NO_SUM[article], type=layer["type"]),
                         t("maps.no_position", channel=channel))
        links.write(row=None, col=None)
        st.caption(t(NO_KERNEL[article], type=layer["type"]))
    if layer["type"] in CONV_TYPES:
        kernels_view(name, key, layer["name"])


navigation.run_inside_navigation()
main()
