"""Predict: choose images, see what the model sees, its top classes, and why it chose any one of them."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from pages._ui import compute, inputs, models, navigation, views

TOP_K = 5
PREPROCESSING_WORDS = {
    "mnist-digit": "made grey, inverted when the ink is dark on a light background, cropped to the digit, "
                   "fitted into a 20 x 20 box and centred by its centre of mass, as MNIST itself was made",
    "fit": "padded to the model's shape with the background colour and resized",
    "imagenet": "its central square cropped and resized, as ImageNet photos were",
}


def predictions_table(name, key, card, chosen):
    """One row per image: a thumbnail, the top class and its probability, the runners-up."""
    batch = np.stack([compute.model_input(name, key, item.rgb) for item in chosen])
    probabilities = compute.probabilities(name, key, batch)
    rows = []
    for item, row in zip(chosen, probabilities, strict=True):
        ranked = views.ranked(row, card.class_names, 3)
        rows.append({
            "Image": views.data_url(views.thumbnail_png(item.rgb, 64)),
            "File": item.name,
            "Top class": ranked[0].label,
            "Probability": ranked[0].probability,
            "Runners-up": ", ".join(f"{p.label} ({p.probability:.0%})" for p in ranked[1:]),
        })
    st.subheader(f"{len(chosen)} images")
    st.dataframe(
        rows, hide_index=True, row_height=70,
        column_config={
            "Image": st.column_config.ImageColumn("Image", width="small"),
            "Probability": st.column_config.ProgressColumn("Probability", format="percent", min_value=0.0, max_value=1.0),
        },
    )


def what_the_model_sees(card, image, model_input):
    height, width, channels = card.input.shape
    kind = card.preprocessing.kind
    original, seen = st.columns(2, gap="medium")
    with original:
        st.markdown("**Your image**")
        shown = views.enlarge(image.rgb, 180) if max(image.rgb.shape[:2]) < 100 else image.rgb
        st.image(shown, caption=f"{image.rgb.shape[1]} x {image.rgb.shape[0]} pixels", width=180)
    with seen:
        st.markdown("**What the model sees**")
        st.image(views.enlarge(views.model_view(model_input), 180), width=180,
                 caption=f"{width} x {height} pixels, {height * width * channels:,} numbers")
    colour = "grey levels" if channels == 1 else "colour values (red, green, blue)"
    st.caption(f"The model never sees your file: it reads {height * width * channels:,} {colour} from 0 to 255, "
               f"after the image was {PREPROCESSING_WORDS.get(kind, 'resized')}.")


def _chosen_class_from_chart(chart_key, class_key, label_index):
    """Applies a click on a bar of the top-k chart to the class selector (only when the click is new)."""
    state = st.session_state.get(chart_key)
    points = state["selection"]["points"] if state and state.get("selection") else []
    if not points:
        return
    point = points[0]
    label = point.get("y") if isinstance(point.get("y"), str) else point.get("x")
    index = label_index.get(label)
    if index is not None and st.session_state.get(f"{chart_key}-applied") != index:
        st.session_state[class_key] = index
        st.session_state[f"{chart_key}-applied"] = index


def top_classes(class_names, probabilities, image_key):
    """The top-k chart (click a bar to explain that class) and a selector over every class; returns the class index."""
    ranked = views.ranked(probabilities, class_names, TOP_K)
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    label_index = {class_names[i]: i for i in order}
    chart_key, class_key = f"topk-{image_key}", f"class-{image_key}"
    _chosen_class_from_chart(chart_key, class_key, label_index)
    if st.session_state.get(class_key) not in order:
        st.session_state[class_key] = order[0]
    selected = st.session_state[class_key]
    figure = figures.topk_bar([p.label for p in ranked], [p.probability for p in ranked],
                              highlight=class_names[selected])
    st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=chart_key, config=views.CHART_CONFIG)
    return st.selectbox(
        "Explain the class", order, key=class_key,
        format_func=lambda i: f"{class_names[i]} ({probabilities[i]:.1%})",
        help="Click a bar above, or pick any class here, even an unlikely one: the explanation shows what "
             "in the image speaks for that class.",
    )


def explanation_ui(name, key):
    """The explanation method, its layer where it weights a layer, and the opacity; returns (choice, options, alpha)."""
    choices = {choice.name: choice for choice in compute.explainers(name, key)}
    if st.session_state.get("explain-method") not in choices:  # e.g. rollout, then a model without attention
        st.session_state["explain-method"] = next(iter(choices))
    method = st.radio("Method", list(choices), format_func=lambda item: choices[item].title, key="explain-method",
                      captions=[choice.description for choice in choices.values()])
    choice = choices[method]
    options = {}
    if choice.layer is not None:
        layers, last = list(choice.layer.layers), choice.layer.default
        options["layer"] = st.selectbox(choice.layer.title, layers, index=layers.index(last) if last in layers else 0,
                                        key=f"explain-layer-{name}", help=choice.layer.help)
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="explain-alpha")
    return choice, options, alpha


def explanation_view(name, key, class_names, model_input, class_index, choice, options, alpha):
    heatmap = compute.explanation(name, key, model_input, choice.name, int(class_index), **options)
    # The model's own view, enlarged with square pixels: the heatmap lines up with what the model read.
    base = views.enlarge(views.model_view(model_input), 224)
    label = class_names[class_index]
    st.plotly_chart(
        figures.image_figure(overlays.overlay(base, heatmap, alpha), title=f"{choice.title} for {label}"),
        key="explanation-chart", config=views.CHART_CONFIG,
    )
    # The technique's description already stands under the method's name, beside the chart.
    note = "" if choice.class_specific else ("It is the same for every class: it shows where the model looks, "
                                             "not what it concluded. ")
    st.caption(f"{note}Red marks what speaks most for **{label}**, blue the least.")


def single_image(name, key, card, image):
    model_input = compute.model_input(name, key, image.rgb)
    probabilities = compute.probabilities(name, key, model_input[None])[0]
    class_names = card.class_names
    left, right = st.columns([1, 1], gap="large")
    with left:
        what_the_model_sees(card, image, model_input)
    with right:
        class_index = top_classes(class_names, probabilities, inputs.digest(model_input))
    st.subheader("Why this class?")
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        choice, options, alpha = explanation_ui(name, key)
    with view:
        explanation_view(name, key, class_names, model_input, class_index, choice, options, alpha)


def main():
    st.title("Predict")
    st.markdown("Give the model an image and see the classes it finds most likely, then ask it **why**: "
                "the heatmap marks the pixels that pushed the score of the chosen class up.")
    name = models.model_picker()
    card = models.card_for(name)
    models.classifier_or_stop(card, "predictions or explanations")
    key = models.model_or_stop(name)
    chosen = inputs.image_input(card, multiple=True, key="predict")
    if not chosen:
        st.info("Choose an image above: a sample, your own upload, a camera photo or a drawing.",
                icon=":material/arrow_upward:")
        return
    if len(chosen) > 1:
        predictions_table(name, key, card, chosen)
    image = inputs.pick_one(chosen, key="predict-pick")
    single_image(name, key, card, image)


navigation.run_inside_navigation()
main()
