"""The Feature maps page's hand check: every multiplication and addition behind one output of a convolution or pooling."""

import numpy as np
import streamlit as st

from imgrec import figures
from pages._ui import charts, compute, i18n
from pages._ui.i18n import t

# The operations `explain.conv_arithmetic` names, as the page says them.
OPERATIONS = {"max pooling": "arithmetic.max_pooling", "average pooling": "arithmetic.average_pooling",
              "convolution": "arithmetic.convolution", "depthwise convolution": "arithmetic.depthwise_convolution"}
CHANNEL_NAMES = ("arithmetic.red", "arithmetic.green", "arithmetic.blue")


def _number(value):
    """A number of the arithmetic as the sums show it: four decimals, never "-0.0000"."""
    return figures.number_text(value, ".4f")


def _grid(values, title, fmt=".2f"):
    return figures.number_grid(np.asarray(values, dtype=np.float64), title=title, fmt=fmt, texts=i18n.texts_now())


def note(step):
    """The sentence under the sums, in the session's language, from the step's own fields (`explain.conv_arithmetic`
    writes it in English)."""
    if step["operation"] == "max pooling":
        return t("arithmetic.note_max")
    if step["operation"] == "average pooling":
        return t("arithmetic.note_average", count=step["count"])
    if step["followed_by"]:
        return t("arithmetic.note_followed", followers=t("arithmetic.then").join(step["followed_by"]))
    if step["activation"] == "linear":
        return t("arithmetic.note_linear")
    return t("arithmetic.note_activation", activation=step["activation"])


def convolution_steps(step):
    channels = step["input_channels"]
    st.markdown(t("arithmetic.convolution_intro_other" if len(channels) > 1 else "arithmetic.convolution_intro_one",
                  channel=step["channel"], row=step["row"], col=step["col"], height=step["kernel"].shape[0],
                  width=step["kernel"].shape[1], count=len(channels)))
    position = 0
    if len(channels) > 1:
        # The first layer of a colour model reads the red, green and blue planes of the image.
        names = [t(name) for name in CHANNEL_NAMES] if step.get("first_layer_note") and len(channels) == 3 else None
        if st.session_state.get("arith-input", 0) >= len(channels):  # Left over from a wider layer.
            st.session_state["arith-input"] = 0
        position = st.columns([1, 2])[0].select_slider(
            t("arithmetic.input_channel"), range(len(channels)), key="arith-input",
            format_func=lambda i: f"{channels[i]} ({names[i]})" if names else str(channels[i]),
        )
    patch, kernel = step["input_patch"][..., position], step["kernel"][..., position]
    products = step["products"][..., position]
    a, times, b, equals, c = st.columns([10, 1, 10, 1, 10], vertical_alignment="center")
    charts.show(_grid(patch, t("arithmetic.input_window_of", channel=channels[position])), key="arith-patch", where=a)
    times.markdown("### x")
    charts.show(_grid(kernel, t("arithmetic.kernel_weights"), ".3f"), key="arith-kernel", where=b)
    equals.markdown("### =")
    charts.show(_grid(products, t("arithmetic.products", total=_number(products.sum())), ".3f"), key="arith-products",
                where=c)
    if step.get("first_layer_note"):
        st.caption(step["first_layer_note"])
    if np.any(step["padded"]):
        st.caption(t("arithmetic.padded"))
    terms = [_number(value) for value in step["sum_per_channel"]]
    shown = " + ".join(terms) if len(terms) <= 8 else " + ".join(terms[:4]) + t("arithmetic.more_channels",
                                                                               count=len(terms))
    output = _number(step["activation_output"])
    lines = [
        t("arithmetic.sum_one" if len(channels) == 1 else "arithmetic.sum_other", count=len(channels), terms=shown,
          total=_number(step["sum"])),
        t("arithmetic.plus_bias", bias=_number(step["bias"]), total=_number(step["pre_activation"])),
        f"{step['activation']}({_number(step['pre_activation'])}) = {output}"
        if step["activation"] != "linear" else t("arithmetic.no_activation", output=output),
        t("arithmetic.keras_value", value=_number(step["keras_value"])),
    ]
    st.code("\n".join(lines), language=None)
    st.caption(note(step))


def pooling_steps(step):
    st.markdown(t("arithmetic.pooling_intro", channel=step["channel"], row=step["row"], col=step["col"],
                  operation=t(OPERATIONS[step["operation"]]), height=step["window"].shape[0],
                  width=step["window"].shape[1]))
    charts.show(_grid(np.nan_to_num(step["window"]), t("arithmetic.input_window")), key="arith-window")
    if step["operation"] == "max pooling":
        row, col = step["chosen_position"]
        lines = [t("arithmetic.largest", row=row, col=col, value=_number(step["chosen"]))]
    else:
        lines = [t("arithmetic.mean", count=step["count"], value=_number(step["mean"]))]
    lines.append(t("arithmetic.keras_value", value=_number(step["keras_value"])))
    st.code("\n".join(lines), language=None)
    st.caption(note(step))


def arithmetic_view(name, key, card, model_input, layer, channel, position):
    st.subheader(t("arithmetic.title"))
    st.markdown(t("arithmetic.intro"))
    row, col = position
    step = compute.conv_arithmetic(name, key, model_input, layer["name"], channel, row, col)
    if layer["name"] == compute.spatial_layers(name, key)[0]:
        normalisation = card.preprocessing.normalisation or t("arithmetic.first_layer")
        step = {**step, "first_layer_note": t("arithmetic.first_layer_note", normalisation=normalisation)}
    if step["operation"] in ("convolution", "depthwise convolution"):
        convolution_steps(step)
    else:
        pooling_steps(step)
