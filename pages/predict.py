"""Predict: choose images, see what the model sees, its top classes, and why it chose any one of them."""

import numpy as np
import streamlit as st

from imgrec import figures, overlays
from imgrec.report import text as report_text
from pages._ui import (
    charts,
    compute,
    edit_compare,
    i18n,
    inputs,
    links,
    models,
    navigation,
    presenter,
    report_download,
    trust_panel,
    views,
)
from pages._ui.i18n import t

TOP_K = 5
# The heatmap's colours, and the words for its two ends: viridis and cividis read the same to a colour-blind student.
COLOURS = {"jet": "colour_maps.jet", "viridis": "colour_maps.viridis", "cividis": "colour_maps.cividis"}
COLOUR_ENDS = {"jet": "predict.ends_jet", "viridis": "predict.ends_viridis", "cividis": "predict.ends_cividis"}
PREPROCESSING_WORDS = {"mnist-digit": "predict.prepared_mnist_digit", "fit": "predict.prepared_fit",
                       "imagenet": "predict.prepared_imagenet"}
# What each explainer's map shows, by its name (the report's words too); a method without a text here keeps the
# English of `imgrec.explain`.
DESCRIPTIONS = report_text.METHODS


def colour_ends(colormap):
    """The words for the two ends of a colour map, ("Yellow", "dark blue"), in this run's language."""
    most, least = t(COLOUR_ENDS[colormap]).split("|")
    return most, least


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
            "Top class": i18n.class_name(ranked[0].label),
            "Probability": views.in_percent(ranked[0].probability),
            "Runners-up": ", ".join(f"{i18n.class_name(p.label)} ({views.percent(p.probability)})" for p in ranked[1:]),
        })
    st.subheader(t("predict.images_count", count=len(chosen)))
    st.dataframe(
        rows, hide_index=True, row_height=70,
        column_config={
            "Image": st.column_config.ImageColumn(t("predict.column_image"), width="small"),
            "File": st.column_config.TextColumn(t("predict.column_file")),
            "Top class": st.column_config.TextColumn(t("predict.column_top_class")),
            "Probability": views.percent_column(t("predict.column_probability"), bar=True),
            "Runners-up": st.column_config.TextColumn(t("predict.column_runners_up")),
        },
    )


def what_the_model_sees(card, image, model_input):
    height, width, channels = card.input.shape
    kind = card.preprocessing.kind
    original, seen = st.columns(2, gap="medium")
    with original:
        st.markdown(t("predict.your_image"))
        shown = views.enlarge(image.rgb, 180) if max(image.rgb.shape[:2]) < 100 else image.rgb
        st.image(shown, caption=t("predict.pixels", width=image.rgb.shape[1], height=image.rgb.shape[0]), width=180)
    with seen:
        st.markdown(t("predict.model_sees"))
        st.image(views.enlarge(views.model_view(model_input), 180), width=180,
                 caption=t("predict.pixels_numbers", width=width, height=height, count=f"{height * width * channels:,}"))
    colour = t("predict.grey_levels") if channels == 1 else t("predict.colour_values")
    st.caption(t("predict.never_sees_file", count=f"{height * width * channels:,}", values=colour,
                 prepared=t(PREPROCESSING_WORDS.get(kind, "predict.prepared_resized"))))


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
    index = links.choice("class", range(len(class_names)), aliases=aliases,
                         instead=t("predict.class_instead", name=i18n.class_name(best)),
                         problem=t("predict.class_refused", last=len(class_names) - 1))
    if index is not None:
        st.session_state[class_key] = index


def bar_labels(indices, class_names):
    """The top classes' bar labels: a name's first part ("chocolate sauce, chocolate syrup" reads "chocolate
    sauce", so the bars keep their room), or the whole name where two would read alike."""
    short = [class_names[index].split(",")[0].strip() for index in indices]
    return [label if short.count(label) == 1 else class_names[index] for label, index in zip(short, indices, strict=True)]


def top_classes(class_names, probabilities, image_key):
    """The top-k chart (click a bar to explain that class) and a selector over every class; returns the class index."""
    shown_names = [i18n.class_name(name) for name in class_names]  # The bars and the selector show these.
    ranked = views.ranked(probabilities, class_names, TOP_K)
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    labels = bar_labels([p.index for p in ranked], shown_names)
    label_index = {**{shown_names[i]: i for i in order}, **{label: p.index for label, p in zip(labels, ranked, strict=True)}}
    chart_key, class_key = f"topk-{image_key}", f"class-{image_key}"
    _chosen_class_from_chart(chart_key, class_key, label_index)
    _class_from_link(class_names, class_key, probabilities)
    if st.session_state.get(class_key) not in order:
        st.session_state[class_key] = order[0]
    selected = st.session_state[class_key]
    shown = {p.index: label for label, p in zip(labels, ranked, strict=True)}
    figure = figures.topk_bar(labels, [p.probability for p in ranked], highlight=shown.get(selected),
                              texts=i18n.texts_now())
    charts.show(figure, on_select="rerun", selection_mode="points", key=chart_key)
    chosen = st.selectbox(
        t("predict.explain_class"), order, key=class_key,
        format_func=lambda i: f"{shown_names[i]} ({views.percent(probabilities[i])})",
        help=t("predict.explain_class_help"),
    )
    links.write(**{"class": chosen})
    return chosen


def _method_from_link(choices):
    titles = ", ".join(choice.title for choice in choices.values())
    method = links.choice("method", list(choices), problem=t("predict.method_refused", methods=titles),
                          aliases={choice.title: name for name, choice in choices.items()},
                          instead=choices[st.session_state["explain-method"]].title)
    if method is not None:
        st.session_state["explain-method"] = method


def _layer_ui(name, choice):
    """The feature maps a method weights (Grad-CAM's layer), restored from a link; returns the layer's name."""
    layers, key = list(choice.layer.layers), f"explain-layer-{name}"
    if st.session_state.get(key) not in layers:
        st.session_state[key] = choice.layer.default if choice.layer.default in layers else layers[0]
    asked = links.choice("layer", layers, problem=t("predict.layer_refused", method=choice.title),
                         instead=st.session_state[key])
    if asked is not None:
        st.session_state[key] = asked
    return st.selectbox(t("predict.layer"), layers, key=key, help=t("predict.layer_help"))


def explanation_ui(name, key):
    """The method, its layer where it weights one, the opacity and colours; returns (choice, options, alpha, colormap)."""
    choices = {choice.name: choice for choice in compute.explainers(name, key)}
    if st.session_state.get("explain-method") not in choices:  # e.g. rollout, then a model without attention
        st.session_state["explain-method"] = next(iter(choices))
    _method_from_link(choices)
    method = st.radio(t("predict.method"), list(choices), format_func=lambda item: choices[item].title,
                      key="explain-method", captions=[t(DESCRIPTIONS[choice.name]) if choice.name in DESCRIPTIONS
                                                      else choice.description for choice in choices.values()])
    choice = choices[method]
    options = {}
    if choice.layer is not None:
        options["layer"] = _layer_ui(name, choice)
    else:
        links.unused("layer", t("predict.no_layer", method=choice.title), t("predict.method_alone"))
    if "explain-alpha" not in st.session_state:
        st.session_state["explain-alpha"] = 0.5
    opacity = links.number("opacity", 0.0, 1.0, step=0.05, instead=f"{st.session_state['explain-alpha']:g}")
    if opacity is not None:
        st.session_state["explain-alpha"] = opacity
    alpha = st.slider(t("predict.opacity"), 0.0, 1.0, step=0.05, key="explain-alpha")
    if st.session_state.get("explain-colours") not in COLOURS:
        st.session_state["explain-colours"] = "jet"
    asked = links.choice("cmap", list(COLOURS), problem=t("predict.colours_refused", colours=", ".join(COLOURS)),
                         instead=st.session_state["explain-colours"])
    if asked is not None:
        st.session_state["explain-colours"] = asked
    names = {name: t(key) for name, key in COLOURS.items()}  # Made now: AppTest calls format_func outside the run.
    colormap = st.selectbox(t("predict.colours"), list(COLOURS), format_func=names.get, key="explain-colours")
    # The default colours stay out of the address, so the links shared before there was a choice read the same.
    links.write(method=method, layer=options.get("layer"), opacity=f"{alpha:.2f}",
                cmap=None if colormap == "jet" else colormap)
    return choice, options, alpha, colormap


def explanation_view(name, key, class_names, model_input, class_index, choice, options, alpha, colormap):
    heatmap = compute.explanation(name, key, model_input, choice.name, int(class_index), **options)
    # The model's own view, enlarged with square pixels: the heatmap lines up with what the model read.
    base = views.enlarge(views.model_view(model_input), 224)
    label = i18n.class_name(class_names[class_index])
    most, least = colour_ends(colormap)
    # A map that is the same for every class (attention rollout) is not "for" the chosen class.
    title = t("predict.explanation_title", method=choice.title, label=label) if choice.class_specific else choice.title
    charts.show(figures.image_figure(overlays.overlay(base, heatmap, alpha, colormap), title=title,
                                     texts=i18n.texts_now()), key="explanation-chart")
    # The technique's description already stands under the method's name, beside the chart.
    if choice.class_specific:
        st.caption(t("predict.ends_for_class", most=most, least=least, label=label))
    else:
        st.caption(t("predict.ends_same_for_all", most=most, least=least))


def single_image(name, key, card, image):
    model_input = compute.model_input(name, key, image.rgb)
    probabilities = compute.probabilities(name, key, model_input[None])[0]
    class_names = card.class_names
    left, right = st.columns([1, 1], gap="large")
    with left:
        what_the_model_sees(card, image, model_input)
    with right:
        class_index = top_classes(class_names, probabilities, inputs.digest(model_input))
    st.subheader(t("predict.why"))
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
                                    options, colormap=colormap)
        report_download.prediction_button(name, key, image, class_index, choice.name, options, alpha,
                                          checked is not None, colormap=colormap)
    trust_panel.localisation_table(name, key, card)
    edit_compare.editor(name, key, card, model_input, choice.name, class_index, options, colormap=colormap)


def main():
    st.title(t("predict.title"))
    links.begin("predict")
    presenter.apply()
    st.markdown(t("predict.intro"))
    name = models.model_picker()
    card = models.card_for(name)
    models.classifier_or_stop(card, t("predict.what_for"))
    key = models.model_or_stop(name)
    chosen = inputs.image_input(card, multiple=True, key="predict")
    if not chosen:
        st.info(t("predict.choose_image"), icon=":material/arrow_upward:")
        return
    if len(chosen) > 1:
        predictions_table(name, key, card, chosen)
    image = inputs.pick_one(chosen, key="predict-pick")
    single_image(name, key, card, image)


navigation.run_inside_navigation()
main()
