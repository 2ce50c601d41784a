"""Feature maps: every layer's activations, the kernels of a convolution, and the arithmetic behind one number."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from pages._ui import arithmetic, compute, inputs, links, models, navigation, presenter, views

# Channels drawn at once: a grid of 64 maps stays readable and light to send to the browser.
CHANNELS_PER_VIEW = 64
SCALES = {
    "channel": "Each map on its own scale",
    "layer": "One scale for the whole layer",
    "global": "One scale for every layer",
}
# "One scale for every layer" reads every layer's range in one pass, but the first pass over
# EfficientNet's 140 maps traces for 2.5 to 3.7 s: offered for models this small.
MAX_LAYERS_FOR_GLOBAL = 24
CONV_TYPES = ("Conv2D", "DepthwiseConv2D")
POOL_TYPES = ("MaxPooling2D", "AveragePooling2D")


def layer_ui(name, key, card):
    """The layer table and the layer picker; returns the chosen layer's row of the table."""
    table = compute.layer_table(name, key)
    spatial = list(compute.spatial_layers(name, key))
    rows = {row["name"]: row for row in table}
    with st.expander(f"All {len(table)} layers of {card.display_title}", expanded=False):
        st.dataframe(
            [{"Layer": ("  " * row["depth"]) + row["name"], "Type": row["type"], "Output shape": row["output_shape"],
              "Parameters": row["parameters"]} for row in table],
            hide_index=True, column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
        )
        st.caption("The output shape reads (batch, height, width, channels): each channel is one feature map, "
                   "the answer of one filter at every position. Parameters are the numbers the layer learned.")
    if not spatial:
        return None
    layer_key = f"layer-{name}"
    if st.session_state.get(layer_key) not in spatial:
        st.session_state[layer_key] = next((item for item in spatial if rows[item]["type"] in CONV_TYPES), spatial[0])
    asked = links.choice("layer", spatial, problem=f"{card.display_title} has no layer of that name with feature maps",
                         instead=st.session_state[layer_key])
    if asked is not None:
        st.session_state[layer_key] = asked
    chosen = st.selectbox("Layer", spatial, key=layer_key,
                          format_func=lambda item: f"{item}: {rows[item]['type']}, output {rows[item]['output_shape']}")
    links.write(layer=chosen)
    return rows[chosen]


def channel_range_ui(channels, layer_name):
    """For layers with many channels, a selector of which 64 to draw; returns a range."""
    if channels <= CHANNELS_PER_VIEW:
        return range(channels)
    starts = list(range(0, channels, CHANNELS_PER_VIEW))
    start = st.selectbox("Channels", starts, key=f"channels-{layer_name}",
                         format_func=lambda s: f"{s} to {min(s + CHANNELS_PER_VIEW, channels) - 1} of {channels}")
    return range(start, min(start + CHANNELS_PER_VIEW, channels))


def maps_view(name, key, model_input, maps, layer_name):
    st.subheader("Every feature map of the layer")
    spatial = compute.spatial_layers(name, key)
    # One scale across every layer needs every layer's range: offered where that is cheap.
    scales = [scale for scale in SCALES if scale != "global" or len(spatial) <= MAX_LAYERS_FOR_GLOBAL]
    if st.session_state.get("maps-scale") not in scales:
        st.session_state["maps-scale"] = scales[0]
    asked = links.choice("scale", scales, problem=f"the colour scales offered here are {', '.join(scales)}",
                         instead=SCALES[st.session_state["maps-scale"]].lower())
    if asked is not None:
        st.session_state["maps-scale"] = asked
    scale = st.radio("Colour scale", scales, format_func=SCALES.get, horizontal=True, key="maps-scale")
    links.write(scale=scale)
    global_range = None
    if scale == "global":
        ranges = compute.activation_ranges(name, key, model_input).values()
        global_range = (min(low for low, _ in ranges), max(high for _, high in ranges))
    shown = channel_range_ui(maps.shape[-1], layer_name)
    figure = figures.heatmap_grid(maps[..., shown.start:shown.stop], columns=8, scale=scale,
                                  global_range=global_range, titles=[str(channel) for channel in shown])
    st.plotly_chart(figure, key="maps-chart", config=views.CHART_CONFIG)
    st.caption(
        "Each small square is one channel: one filter slid over the whole image. Bright means the filter "
        "found its pattern there. On its own scale every map uses its full colour range, so faint maps stay "
        "visible; on one scale for the layer you can compare how strongly channels answer."
    )


def zoom_view(maps, channel, position=None):
    """One channel large, with every value written in when the map is small; marks the chosen position."""
    height, width = maps.shape[:2]
    values = maps[..., channel]
    if height * width <= 14 * 14:
        figure = figures.number_grid(values, title=f"Channel {channel}, every value", fmt=".2f")
    else:
        # Every value at full resolution (the grid above may skip pixels), coloured from its minimum to maximum.
        figure = figures.image_figure(overlays.colorize(overlays.stretch(values), "viridis"), title=f"Channel {channel}")
    if position is not None:
        row, col = position
        figure.add_shape(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": "#ff2b2b", "width": 3})
    st.plotly_chart(figure, key="zoom-chart", config=views.CHART_CONFIG)
    st.caption(f"Channel {channel}: {height} x {width} values, from {values.min():.3g} to {values.max():.3g}"
               + (". The red square is the position worked out below." if position is not None else "."))


def kernel_input_ui(kernel, layer_name):
    """For a convolution over several input channels, which channel's weights to draw; returns its index or None (mean)."""
    inputs_count = kernel.shape[2]
    if inputs_count == 1:
        return None
    options = ["mean", *range(inputs_count)]
    picked = st.columns([1, 1])[0].select_slider(
        "Weights for input channel", options, key=f"kernel-input-{layer_name}",
        format_func=lambda option: "mean of all" if option == "mean" else str(option),
        help="Each filter has one grid of weights per input channel: pick a channel to see the weights it gets, "
             "or their mean over all channels.",
    )
    return None if picked == "mean" else int(picked)


def kernels_view(name, key, layer_name):
    kernel, bias = compute.conv_kernels(name, key, layer_name)
    st.subheader("The filters (kernels)")
    input_channel = kernel_input_ui(kernel, layer_name)
    st.plotly_chart(figures.kernel_grid(kernel, input_channel=input_channel), key="kernels-chart",
                    config=views.CHART_CONFIG)
    height, width, inputs, outputs = kernel.shape
    st.caption(
        f"{outputs} filters of {height} x {width} weights for each of {figures.plural(inputs, 'input channel')}. "
        "Red weights add the pixel below them, blue ones subtract it: a filter with red on one side and blue on "
        "the other answers to an edge." + (" Each filter also adds one bias number." if bias is not None else "")
    )


def _jump_to_strongest(maps, channel_key):
    channel = st.session_state.get(channel_key, 0)
    row, col = np.unravel_index(int(np.argmax(maps[..., channel])), maps.shape[:2])
    st.session_state["arith-row"], st.session_state["arith-col"] = int(row), int(col)


def channel_from_link(maps, layer_name, channel_key):
    """Takes a link's `?channel=`, also moving the drawn range of channels to it; says why when it cannot."""
    channels = maps.shape[-1]
    if st.session_state.get(channel_key, 0) >= channels:
        st.session_state[channel_key] = 0
    asked = links.number("channel", 0, channels - 1, integer=True, instead=f"channel {st.session_state.get(channel_key, 0)}",
                         what=f"{layer_name} has {figures.plural(channels, 'channel')}, numbered from 0")
    if asked is not None:
        st.session_state[channel_key] = asked
        st.session_state[f"channels-{layer_name}"] = asked // CHANNELS_PER_VIEW * CHANNELS_PER_VIEW


def channel_ui(maps, channel_key):
    """The output channel to look at closely; returns its index."""
    channels = maps.shape[-1]
    if st.session_state.get(channel_key, 0) >= channels:
        st.session_state[channel_key] = 0
    channel = st.slider("Channel", 0, channels - 1, key=channel_key) if channels > 1 else 0
    links.write(channel=channel)
    return channel


def position_ui(maps, channel_key):
    """Sliders for the output row and column, first at the strongest response; returns (row, col)."""
    height, width = maps.shape[:2]
    if "arith-row" not in st.session_state or st.session_state["arith-row"] >= height \
            or st.session_state.get("arith-col", 0) >= width:
        _jump_to_strongest(maps, channel_key)
    for name, word, key, size in (("row", "row", "arith-row", height), ("col", "column", "arith-col", width)):
        asked = links.number(name, 0, size - 1, integer=True, instead=f"{word} {st.session_state[key]}",
                             what=f"this layer's maps have {word}s 0 to {size - 1}")
        if asked is not None:
            st.session_state[key] = asked
    row = st.slider("Row", 0, height - 1, key="arith-row") if height > 1 else 0
    col = st.slider("Column", 0, width - 1, key="arith-col") if width > 1 else 0
    st.button("Go to the strongest value", icon=":material/my_location:", on_click=_jump_to_strongest,
              args=(maps, channel_key), help="Move to where this channel answers most strongly.")
    links.write(row=row, col=col)
    return row, col


def main():
    st.title("Feature maps")
    links.begin("feature-maps")
    presenter.apply()
    st.markdown(
        "A convolutional network reads an image through layers of **filters**. Each filter is a small grid "
        "of learned weights slid over the image; where the pixels match its pattern, its output, the "
        "**feature map**, lights up. Early layers find edges and strokes, later layers combine them into "
        "parts. Pick a layer to see what each of its filters found in your image."
    )
    name = models.model_picker()
    card = models.card_for(name)
    key = models.model_or_stop(name)
    image = inputs.pick_one(inputs.image_input(card, multiple=False, key="features"), key="features-pick")
    if image is None:
        st.info("Choose an image above to look inside the model.", icon=":material/arrow_upward:")
        return
    model_input = compute.model_input(name, key, image.rgb)
    layer = layer_ui(name, key, card)
    if layer is None:
        st.info(
            "This model has no layer that keeps the image's shape: it reads the image as a sequence of rows "
            "(a recurrent network) or as one long list of numbers (a perceptron), so there are no feature maps "
            "to draw. Choose a convolutional model in the sidebar.", icon=":material/info:",
        )
        return
    maps = compute.feature_maps(name, key, model_input, layer["name"])
    channel_key = f"arith-channel-{layer['name']}"
    channel_from_link(maps, layer["name"], channel_key)
    maps_view(name, key, model_input, maps, layer["name"])
    st.subheader("One channel up close")
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
        kind = f"{figures.article(layer['type'])} {layer['type']} layer"
        for unused in ("row", "col"):
            links.unused(unused, f"{kind} has no sum to check", f"channel {channel} without a position")
        links.write(row=None, col=None)
        st.caption(f"{kind[0].upper()}{kind[1:]} has no kernel of its own: it transforms the values of its input, "
                   "so there is no sum to check here. Choose a Conv2D or pooling layer for that.")
    if layer["type"] in CONV_TYPES:
        kernels_view(name, key, layer["name"])


navigation.run_inside_navigation()
main()
