"""Feature maps: every layer's activations, the kernels of a convolution, and the arithmetic behind one number."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from pages._ui import compute, inputs, models, navigation, views

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
    first_conv = next((name for name in spatial if rows[name]["type"] in CONV_TYPES), spatial[0])
    chosen = st.selectbox(
        "Layer", spatial, index=spatial.index(first_conv), key=f"layer-{name}",
        format_func=lambda item: f"{item}: {rows[item]['type']}, output {rows[item]['output_shape']}",
    )
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
    scale = st.radio("Colour scale", scales, format_func=SCALES.get, horizontal=True, key="maps-scale")
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


def kernels_view(name, key, layer_name):
    kernel, bias = compute.conv_kernels(name, key, layer_name)
    st.subheader("The filters (kernels)")
    st.plotly_chart(figures.kernel_grid(kernel), key="kernels-chart", config=views.CHART_CONFIG)
    height, width, inputs, outputs = kernel.shape
    st.caption(
        f"{outputs} filters of {height} x {width} weights for each of {inputs} input channel"
        f"{'s' if inputs > 1 else ''}. Red weights add the pixel below them, blue ones subtract it: "
        "a filter with red on one side and blue on the other answers to an edge."
        + (" Each filter also adds one bias number." if bias is not None else "")
    )


def _jump_to_strongest(maps, channel_key):
    channel = st.session_state.get(channel_key, 0)
    row, col = np.unravel_index(int(np.argmax(maps[..., channel])), maps.shape[:2])
    st.session_state["arith-row"], st.session_state["arith-col"] = int(row), int(col)


def channel_ui(maps, channel_key):
    """The output channel to look at closely; returns its index."""
    channels = maps.shape[-1]
    return st.slider("Channel", 0, channels - 1, 0, key=channel_key) if channels > 1 else 0


def position_ui(maps, channel_key):
    """Sliders for the output row and column, first at the strongest response; returns (row, col)."""
    height, width = maps.shape[:2]
    if "arith-row" not in st.session_state or st.session_state["arith-row"] >= height \
            or st.session_state.get("arith-col", 0) >= width:
        _jump_to_strongest(maps, channel_key)
    row = st.slider("Row", 0, height - 1, key="arith-row") if height > 1 else 0
    col = st.slider("Column", 0, width - 1, key="arith-col") if width > 1 else 0
    st.button("Go to the strongest value", icon=":material/my_location:", on_click=_jump_to_strongest,
                  args=(maps, channel_key), help="Move to where this channel answers most strongly.")
    return row, col


def _grid(values, title, fmt=".2f"):
    return figures.number_grid(np.asarray(values, dtype=np.float64), title=title, fmt=fmt)


def convolution_steps(step):
    channels = step["input_channels"]
    st.markdown(
        f"Output channel **{step['channel']}** at row **{step['row']}**, column **{step['col']}** "
        f"looks at a {step['kernel'].shape[0]} x {step['kernel'].shape[1]} window of "
        f"{len(channels)} input channel{'s' if len(channels) > 1 else ''}. For each channel: multiply the window by "
        "the kernel position by position, then add all the products."
    )
    position = 0
    if len(channels) > 1:
        # The first layer of a colour model reads the red, green and blue planes of the image.
        names = ("red", "green", "blue") if step.get("first_layer_note") and len(channels) == 3 else None
        if st.session_state.get("arith-input", 0) >= len(channels):  # Left over from a wider layer.
            st.session_state["arith-input"] = 0
        position = st.columns([1, 2])[0].select_slider(
            "Input channel to look at", range(len(channels)), key="arith-input",
            format_func=lambda i: f"{channels[i]} ({names[i]})" if names else str(channels[i]),
        )
    patch, kernel = step["input_patch"][..., position], step["kernel"][..., position]
    products = step["products"][..., position]
    a, times, b, equals, c = st.columns([10, 1, 10, 1, 10], vertical_alignment="center")
    a.plotly_chart(_grid(patch, f"Input window (channel {channels[position]})"), key="arith-patch", config=views.CHART_CONFIG)
    times.markdown("### x")
    b.plotly_chart(_grid(kernel, "Kernel weights", ".3f"), key="arith-kernel", config=views.CHART_CONFIG)
    equals.markdown("### =")
    c.plotly_chart(_grid(products, f"Products (sum {products.sum():.4f})", ".3f"), key="arith-products", config=views.CHART_CONFIG)
    if step.get("first_layer_note"):
        st.caption(step["first_layer_note"])
    if np.any(step["padded"]):
        st.caption("Cells outside the image read 0: the layer pads its input with zeros ('same' padding).")
    terms = [f"{value:.4f}" for value in step["sum_per_channel"]]
    shown = " + ".join(terms) if len(terms) <= 8 else " + ".join(terms[:4]) + f" + ... ({len(terms)} channels)"
    lines = [
        f"sum over {len(channels)} input channel{'s' if len(channels) > 1 else ''}: {shown} = {step['sum']:.4f}",
        f"+ bias {step['bias']:.4f} = {step['pre_activation']:.4f}",
        f"{step['activation']}({step['pre_activation']:.4f}) = {step['activation_output']:.4f}"
        if step["activation"] != "linear" else f"no activation here: the output is {step['activation_output']:.4f}",
        f"Keras computed {step['keras_value']:.4f} at this position",
    ]
    st.code("\n".join(lines), language=None)
    st.caption(step["note"])


def pooling_steps(step):
    st.markdown(
        f"Channel **{step['channel']}** at row **{step['row']}**, column **{step['col']}**: {step['operation']} "
        f"reads a {step['window'].shape[0]} x {step['window'].shape[1]} window of the same channel in the layer's input."
    )
    st.plotly_chart(_grid(np.nan_to_num(step["window"]), "Input window"), key="arith-window", config=views.CHART_CONFIG)
    if step["operation"] == "max pooling":
        row, col = step["chosen_position"]
        lines = [f"largest value, at window row {row}, column {col}: {step['chosen']:.4f}"]
    else:
        lines = [f"mean of the {step['count']} values inside the image: {step['mean']:.4f}"]
    lines.append(f"Keras computed {step['keras_value']:.4f} at this position")
    st.code("\n".join(lines), language=None)
    st.caption(step["note"])


def arithmetic_view(name, key, card, model_input, layer, channel, position):
    st.subheader("Check one number by hand")
    st.markdown(
        "A student should be able to check one number by hand: every multiplication and addition behind "
        "the value at the red square is laid out below. Move the square with the sliders."
    )
    row, col = position
    step = compute.conv_arithmetic(name, key, model_input, layer["name"], channel, row, col)
    if layer["name"] == compute.spatial_layers(name, key)[0]:
        normalisation = card.preprocessing.normalisation or "the model's first layer"
        step = {**step, "first_layer_note": "This is the first layer: its input is the image after the model's own "
                f"normalisation ({normalisation}), so the input numbers are not 0..255."}
    if step["operation"] in ("convolution", "depthwise convolution"):
        convolution_steps(step)
    else:
        pooling_steps(step)


def main():
    st.title("Feature maps")
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
    maps_view(name, key, model_input, maps, layer["name"])
    st.subheader("One channel up close")
    channel_key = f"arith-channel-{layer['name']}"
    has_arithmetic = layer["type"] in CONV_TYPES + POOL_TYPES
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        channel = channel_ui(maps, channel_key)
        position = position_ui(maps, channel_key) if has_arithmetic else None
    with view:
        zoom_view(maps, channel, position)
    if has_arithmetic:
        arithmetic_view(name, key, card, model_input, layer, channel, position)
    else:
        st.caption(f"A {layer['type']} layer has no kernel of its own: it transforms the values of its input, "
                   "so there is no sum to check here. Choose a Conv2D or pooling layer for that.")
    if layer["type"] in CONV_TYPES:
        kernels_view(name, key, layer["name"])


navigation.run_inside_navigation()
main()
