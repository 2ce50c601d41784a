"""Predict: choose images, see what the model sees, its top classes, and why it chose any one of them."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from pages._ui import (
    compute,
    edit_compare,
    inputs,
    links,
    models,
    navigation,
    presenter,
    report_download,
    trust_panel,
    views,
)

TOP_K = 5
# The heatmap's colours, and the words for its two ends: viridis and cividis read the same to a colour-blind student.
COLOURS = {"jet": "Rainbow (jet)", "viridis": "Viridis (colour-blind safe)", "cividis": "Cividis (colour-blind safe)"}
COLOUR_ENDS = {"jet": ("Red", "blue"), "viridis": ("Yellow", "dark purple"), "cividis": ("Yellow", "dark blue")}
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
            "Probability": views.in_percent(ranked[0].probability),
            "Runners-up": ", ".join(f"{p.label} ({views.percent(p.probability)})" for p in ranked[1:]),
        })
    st.subheader(f"{len(chosen)} images")
    st.dataframe(
        rows, hide_index=True, row_height=70,
        column_config={
            "Image": st.column_config.ImageColumn("Image", width="small"),
            "Probability": views.percent_column("Probability", bar=True),
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


def _class_from_link(class_names, class_key, probabilities):
    """Takes a link's `?class=`: an index or a class name; one it cannot show is named in a sentence."""
    best = class_names[int(np.argmax(probabilities))]
    aliases = {name: index for index, name in enumerate(class_names)}
    index = links.choice("class", range(len(class_names)), aliases=aliases, instead=f"the most likely class ({best})",
                         problem=f"this model's classes are 0 to {len(class_names) - 1} (or their names)")
    if index is not None:
        st.session_state[class_key] = index


def bar_labels(indices, class_names):
    """The top classes' bar labels: a name's first part ("chocolate sauce, chocolate syrup" reads "chocolate
    sauce", so the bars keep their room), or the whole name where two would read alike."""
    short = [class_names[index].split(",")[0].strip() for index in indices]
    return [label if short.count(label) == 1 else class_names[index] for label, index in zip(short, indices, strict=True)]


def top_classes(class_names, probabilities, image_key):
    """The top-k chart (click a bar to explain that class) and a selector over every class; returns the class index."""
    ranked = views.ranked(probabilities, class_names, TOP_K)
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    labels = bar_labels([p.index for p in ranked], class_names)
    label_index = {**{class_names[i]: i for i in order}, **{label: p.index for label, p in zip(labels, ranked, strict=True)}}
    chart_key, class_key = f"topk-{image_key}", f"class-{image_key}"
    _chosen_class_from_chart(chart_key, class_key, label_index)
    _class_from_link(class_names, class_key, probabilities)
    if st.session_state.get(class_key) not in order:
        st.session_state[class_key] = order[0]
    selected = st.session_state[class_key]
    shown = {p.index: label for label, p in zip(labels, ranked, strict=True)}
    figure = figures.topk_bar(labels, [p.probability for p in ranked], highlight=shown.get(selected))
    st.plotly_chart(figure, on_select="rerun", selection_mode="points", key=chart_key, config=views.CHART_CONFIG)
    chosen = st.selectbox(
        "Explain the class", order, key=class_key,
        format_func=lambda i: f"{class_names[i]} ({views.percent(probabilities[i])})",
        help="Click a bar above, or pick any class here, even an unlikely one: the explanation shows what "
             "in the image speaks for that class.",
    )
    links.write(**{"class": chosen})
    return chosen


def _method_from_link(choices):
    titles = ", ".join(choice.title for choice in choices.values())
    method = links.choice("method", list(choices), problem=f"for this model the methods are {titles}",
                          aliases={choice.title: name for name, choice in choices.items()},
                          instead=choices[st.session_state["explain-method"]].title)
    if method is not None:
        st.session_state["explain-method"] = method


def _layer_ui(name, choice):
    """The feature maps a method weights (Grad-CAM's layer), restored from a link; returns the layer's name."""
    layers, key = list(choice.layer.layers), f"explain-layer-{name}"
    if st.session_state.get(key) not in layers:
        st.session_state[key] = choice.layer.default if choice.layer.default in layers else layers[0]
    asked = links.choice("layer", layers, problem=f"this model has no layer of that name for {choice.title} to weight",
                         instead=st.session_state[key])
    if asked is not None:
        st.session_state[key] = asked
    return st.selectbox(choice.layer.title, layers, key=key, help=choice.layer.help)


def explanation_ui(name, key):
    """The method, its layer where it weights one, the opacity and colours; returns (choice, options, alpha, colormap)."""
    choices = {choice.name: choice for choice in compute.explainers(name, key)}
    if st.session_state.get("explain-method") not in choices:  # e.g. rollout, then a model without attention
        st.session_state["explain-method"] = next(iter(choices))
    _method_from_link(choices)
    method = st.radio("Method", list(choices), format_func=lambda item: choices[item].title, key="explain-method",
                      captions=[choice.description for choice in choices.values()])
    choice = choices[method]
    options = {}
    if choice.layer is not None:
        options["layer"] = _layer_ui(name, choice)
    else:
        links.unused("layer", f"{choice.title} weights no layer", "the method on its own")
    if "explain-alpha" not in st.session_state:
        st.session_state["explain-alpha"] = 0.5
    opacity = links.number("opacity", 0.0, 1.0, step=0.05, instead=f"{st.session_state['explain-alpha']:g}")
    if opacity is not None:
        st.session_state["explain-alpha"] = opacity
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, step=0.05, key="explain-alpha")
    if st.session_state.get("explain-colours") not in COLOURS:
        st.session_state["explain-colours"] = "jet"
    asked = links.choice("cmap", list(COLOURS), problem=f"the heatmap colours are {', '.join(COLOURS)}",
                         instead=st.session_state["explain-colours"])
    if asked is not None:
        st.session_state["explain-colours"] = asked
    colormap = st.selectbox("Heatmap colours", list(COLOURS), format_func=COLOURS.get, key="explain-colours")
    # The default colours stay out of the address, so the links shared before there was a choice read the same.
    links.write(method=method, layer=options.get("layer"), opacity=f"{alpha:.2f}",
                cmap=None if colormap == "jet" else colormap)
    return choice, options, alpha, colormap


def explanation_view(name, key, class_names, model_input, class_index, choice, options, alpha, colormap):
    heatmap = compute.explanation(name, key, model_input, choice.name, int(class_index), **options)
    # The model's own view, enlarged with square pixels: the heatmap lines up with what the model read.
    base = views.enlarge(views.model_view(model_input), 224)
    label = class_names[class_index]
    most, least = COLOUR_ENDS[colormap]
    # A map that is the same for every class (attention rollout) is not "for" the chosen class.
    title = f"{choice.title} for {label}" if choice.class_specific else choice.title
    st.plotly_chart(figures.image_figure(overlays.overlay(base, heatmap, alpha, colormap), title=title),
                    key="explanation-chart", config=views.CHART_CONFIG)
    # The technique's description already stands under the method's name, beside the chart.
    if choice.class_specific:
        st.caption(f"{most} marks what speaks most for **{label}**, {least} the least.")
    else:
        st.caption("It is the same for every class: it shows where the model looks, not what it concluded. "
                   f"{most} marks where it looks most, {least} the least.")


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
    why_this_class(name, key, card, image, model_input, class_index)


@st.fragment
def why_this_class(name, key, card, image, model_input, class_index):
    """The explanation, its controls and what depends on them (the trust checks, the report, edit and compare).

    A change of method, layer or opacity reruns only this part of the page.
    """
    # A slider step used to rerun the whole page (charts, images, top classes): ~45 ms of server CPU.
    class_names = card.class_names
    controls, view = st.columns([2, 3], gap="large")
    with controls:
        choice, options, alpha, colormap = explanation_ui(name, key)
    with view:
        explanation_view(name, key, class_names, model_input, class_index, choice, options, alpha, colormap)
        # After the heatmap in the script, so the heatmap is on screen before any check runs.
        checked = trust_panel.panel(name, key, model_input, choice.name, class_index, class_names[class_index],
                                    options)
        report_download.prediction_button(name, key, image, class_index, choice.name, options, alpha,
                                          checked is not None)
    trust_panel.localisation_table(name, key, card)
    edit_compare.editor(name, key, card, model_input, choice.name, class_index, options)


def main():
    st.title("Predict")
    links.begin("predict")
    presenter.apply()
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
