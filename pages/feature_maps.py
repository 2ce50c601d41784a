"""Feature maps: every layer's activations, the kernels of a convolution, and the arithmetic behind one number."""

import numpy as np
import streamlit as st

from imgrec import explain, figures
from pages import _ui

# Channels drawn at once: a grid of 64 maps stays readable and light to send to the browser.
CHANNELS_PER_VIEW = 64
SCALES = {
    "channel": "Each map on its own scale",
    "layer": "One scale for the whole layer",
    "global": "One scale for every layer",
}
# "One scale for every layer" runs the image through each layer: offered for models this small.
MAX_LAYERS_FOR_GLOBAL = 24
CONV_TYPES = ("Conv2D", "DepthwiseConv2D")
POOL_TYPES = ("MaxPooling2D", "AveragePooling2D")


def layer_ui(classifier, table):
    """The layer table and the layer picker; returns the chosen layer's row of the table."""
    spatial = explain.spatial_layers(classifier.model)
    rows = {row["name"]: row for row in table}
    with st.expander(f"All {len(table)} layers of {classifier.card.get('title', classifier.name)}", expanded=False):
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
    name = st.selectbox(
        "Layer", spatial, index=spatial.index(first_conv), key=f"layer-{classifier.name}",
        format_func=lambda item: f"{item}: {rows[item]['type']}, output {rows[item]['output_shape']}",
    )
    return rows[name]


def channel_range_ui(channels, layer_name):
    """For layers with many channels, a selector of which 64 to draw; returns a range."""
    if channels <= CHANNELS_PER_VIEW:
        return range(channels)
    starts = list(range(0, channels, CHANNELS_PER_VIEW))
    start = st.selectbox("Channels", starts, key=f"channels-{layer_name}",
                         format_func=lambda s: f"{s} to {min(s + CHANNELS_PER_VIEW, channels) - 1} of {channels}")
    return range(start, min(start + CHANNELS_PER_VIEW, channels))


def maps_view(classifier, key, model_input, maps, layer_name):
    st.subheader("Every feature map of the layer")
    spatial = explain.spatial_layers(classifier.model)
    # One scale across every layer needs every layer's activations: offered where that is cheap.
    scales = [name for name in SCALES if name != "global" or len(spatial) <= MAX_LAYERS_FOR_GLOBAL]
    scale = st.radio("Colour scale", scales, format_func=SCALES.get, horizontal=True, key="maps-scale")
    global_range = None
    if scale == "global":
        ranges = [_ui.feature_maps(classifier, key, model_input, name) for name in spatial]
        global_range = (min(float(item.min()) for item in ranges), max(float(item.max()) for item in ranges))
    shown = channel_range_ui(maps.shape[-1], layer_name)
    figure = figures.heatmap_grid(maps[..., shown.start:shown.stop], columns=8, scale=scale,
                                  global_range=global_range, titles=[str(channel) for channel in shown])
    st.plotly_chart(figure, key="maps-chart")
    st.caption(
        "Each small square is one channel: one filter slid over the whole image. Bright means the filter "
        "found its pattern there. On its own scale every map uses its full colour range, so faint maps stay "
        "visible; on one scale for the layer you can compare how strongly channels answer."
    )


def zoom_view(maps, channel):
    height, width = maps.shape[:2]
    values = maps[..., channel]
    if height * width <= 16 * 16:
        figure = figures.number_grid(values, title=f"Channel {channel}, every value", fmt=".2f")
    else:
        figure = figures.heatmap_grid(values[..., None], columns=1, scale="channel")
    st.plotly_chart(figure, key="zoom-chart")
    st.caption(f"Channel {channel}: {height} x {width} values, from {values.min():.3g} to {values.max():.3g}. "
               "A ReLU layer turns every negative value into 0, so many values are exactly zero.")


def kernels_view(classifier, layer_name):
    kernel, bias = explain.conv_kernels(classifier.model, layer_name)
    st.subheader("The filters (kernels)")
    st.plotly_chart(figures.kernel_grid(kernel), key="kernels-chart")
    height, width, inputs, outputs = kernel.shape
    st.caption(
        f"{outputs} filters of {height} x {width} weights for each of {inputs} input channel"
        f"{'s' if inputs > 1 else ''}. Red weights add the pixel below them, blue ones subtract it: "
        "a filter with red on one side and blue on the other answers to an edge."
        + (" Each filter also adds one bias number." if bias is not None else "")
    )


def position_ui(maps, channel_key):
    """Sliders for the output channel, row and column; returns (channel, row, col)."""
    height, width, channels = maps.shape
    left, middle, right = st.columns(3)
    channel = left.slider("Channel", 0, channels - 1, 0, key=channel_key) if channels > 1 else 0
    row = middle.slider("Row", 0, height - 1, height // 2, key="arith-row") if height > 1 else 0
    col = right.slider("Column", 0, width - 1, width // 2, key="arith-col") if width > 1 else 0
    return channel, row, col


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
        position = st.select_slider("Input channel to look at", range(len(channels)), key="arith-input",
                                    format_func=lambda i: str(channels[i]))
    patch, kernel = step["input_patch"][..., position], step["kernel"][..., position]
    products = step["products"][..., position]
    a, times, b, equals, c = st.columns([10, 1, 10, 1, 10], vertical_alignment="center")
    a.plotly_chart(_grid(patch, f"Input window (channel {channels[position]})"), key="arith-patch")
    times.markdown("### x")
    b.plotly_chart(_grid(kernel, "Kernel weights", ".3f"), key="arith-kernel")
    equals.markdown("### =")
    c.plotly_chart(_grid(products, f"Products (sum {products.sum():.4f})", ".3f"), key="arith-products")
    if np.any(step["padded"]):
        st.caption("Cells outside the image read 0: the layer pads its input with zeros ('same' padding).")
    terms = [f"{value:.4f}" for value in step["sum_per_channel"]]
    shown = " + ".join(terms) if len(terms) <= 8 else " + ".join(terms[:4]) + f" + ... ({len(terms)} channels)"
    lines = [
        f"sum over {len(channels)} input channel{'s' if len(channels) > 1 else ''}: {shown} = {step['sum']:.4f}",
        f"+ bias {step['bias']:.4f} = {step['pre_activation']:.4f}",
        f"{step['activation']}({step['pre_activation']:.4f}) = {step['activation_output']:.4f}",
        f"Keras computed {step['keras_value']:.4f} at this position",
    ]
    st.code("\n".join(lines), language=None)
    st.caption(step["note"])


def pooling_steps(step):
    st.markdown(
        f"Channel **{step['channel']}** at row **{step['row']}**, column **{step['col']}**: {step['operation']} "
        f"reads a {step['window'].shape[0]} x {step['window'].shape[1]} window of the same channel in the layer's input."
    )
    st.plotly_chart(_grid(np.nan_to_num(step["window"]), "Input window"), key="arith-window")
    if step["operation"] == "max pooling":
        row, col = step["chosen_position"]
        lines = [f"largest value, at window row {row}, column {col}: {step['chosen']:.4f}"]
    else:
        lines = [f"mean of the {step['count']} values inside the image: {step['mean']:.4f}"]
    lines.append(f"Keras computed {step['keras_value']:.4f} at this position")
    st.code("\n".join(lines), language=None)
    st.caption(step["note"])


def arithmetic_view(classifier, key, model_input, layer, maps):
    st.subheader("Check one number by hand")
    st.markdown(
        "A student should be able to check one number by hand: pick a channel and a position, and "
        "every multiplication and addition behind that output value is laid out below."
    )
    channel, row, col = position_ui(maps, f"arith-channel-{layer['name']}")
    step = _ui.conv_arithmetic(classifier, key, model_input, layer["name"], channel, row, col)
    if step["operation"] in ("convolution", "depthwise convolution"):
        convolution_steps(step)
    else:
        pooling_steps(step)
    return channel


def main():
    st.title("Feature maps")
    st.markdown(
        "A convolutional network reads an image through layers of **filters**. Each filter is a small grid "
        "of learned weights slid over the image; where the pixels match its pattern, its output, the "
        "**feature map**, lights up. Early layers find edges and strokes, later layers combine them into "
        "parts. Pick a layer to see what each of its filters found in your image."
    )
    name = _ui.model_picker()
    card = _ui.card_for(name)
    classifier = _ui.classifier_or_stop(name)
    key = _ui.model_key(card)
    image = _ui.pick_one(_ui.image_input(card, multiple=False, key="features"), key="features-pick")
    if image is None:
        st.info("Choose an image above to look inside the model.", icon=":material/arrow_upward:")
        return
    model_input = _ui.model_input(classifier, key, image.rgb)
    layer = layer_ui(classifier, explain.layer_table(classifier.model))
    if layer is None:
        st.info(
            "This model has no layer that keeps the image's shape: it reads the image as a sequence of rows "
            "(a recurrent network) or as one long list of numbers (a perceptron), so there are no feature maps "
            "to draw. Choose a convolutional model in the sidebar.", icon=":material/info:",
        )
        return
    maps = _ui.feature_maps(classifier, key, model_input, layer["name"])
    maps_view(classifier, key, model_input, maps, layer["name"])
    if layer["type"] in CONV_TYPES + POOL_TYPES:
        channel = arithmetic_view(classifier, key, model_input, layer, maps)
    else:
        st.subheader("One channel up close")
        channel = st.slider("Channel", 0, maps.shape[-1] - 1, 0, key=f"zoom-{layer['name']}")
        st.caption(f"A {layer['type']} layer has no kernel of its own: it transforms each value of its input.")
    zoom_view(maps, channel)
    if layer["type"] in CONV_TYPES:
        kernels_view(classifier, layer["name"])


_ui.run_inside_navigation()
main()
