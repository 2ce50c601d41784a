"""The Feature maps page's hand check: every multiplication and addition behind one output of a convolution or pooling."""

import numpy as np
import streamlit as st

from imgrec import figures
from pages._ui import compute, views


def _number(value):
    """A number of the arithmetic as the sums show it: four decimals, never "-0.0000"."""
    return figures.number_text(value, ".4f")


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
    c.plotly_chart(_grid(products, f"Products (sum {_number(products.sum())})", ".3f"), key="arith-products",
                   config=views.CHART_CONFIG)
    if step.get("first_layer_note"):
        st.caption(step["first_layer_note"])
    if np.any(step["padded"]):
        st.caption("Cells outside the image read 0: the layer pads its input with zeros ('same' padding).")
    terms = [_number(value) for value in step["sum_per_channel"]]
    shown = " + ".join(terms) if len(terms) <= 8 else " + ".join(terms[:4]) + f" + ... ({len(terms)} channels)"
    output = _number(step["activation_output"])
    lines = [
        f"sum over {figures.plural(len(channels), 'input channel')}: {shown} = {_number(step['sum'])}",
        f"+ bias {_number(step['bias'])} = {_number(step['pre_activation'])}",
        f"{step['activation']}({_number(step['pre_activation'])}) = {output}"
        if step["activation"] != "linear" else f"no activation here: the output is {output}",
        f"Keras computed {_number(step['keras_value'])} at this position",
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
        lines = [f"largest value, at window row {row}, column {col}: {_number(step['chosen'])}"]
    else:
        lines = [f"mean of the {step['count']} values inside the image: {_number(step['mean'])}"]
    lines.append(f"Keras computed {_number(step['keras_value'])} at this position")
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
