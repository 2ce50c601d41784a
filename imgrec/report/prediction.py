"""The report of one prediction: the image, what the model sees, its top classes, the explanations and the model's card.

`explanations` runs the explainers (through `explain.explain`, as the page and the CLI do);
`prediction_report` puts it all on the page. Trust checks (`trust.check`) are shown where
they were computed: a caller that has them passes `trust={method: trust.TrustReport}`, and
`check_trust=True` computes those still missing.
"""

import dataclasses

import numpy as np

import imgrec
from imgrec import explain
from imgrec import trust as trust_checks
from imgrec.report import charts, document, markup, model, pictures, text

SIDE = 224  # Pixels on a side of the enlarged model view and its heatmaps, as the Predict page draws them.
SCRAMBLED_SIDE = 112  # The smaller maps of the randomisation row.


@dataclasses.dataclass(frozen=True, eq=False)
class Explanation:
    """One explainer's heatmap of the explained class, with what a reader needs to read it."""

    method: str  # The explainer's name, e.g. "gradcam".
    title: str  # What a reader calls it, e.g. "Grad-CAM".
    description: str  # One sentence: what the heatmap shows.
    class_specific: bool  # False when the map is the same whatever the class (attention rollout).
    heatmap: np.ndarray  # float32 (height, width) in [0, 1] at the model's input size.
    layer: str | None = None  # The feature maps it weighted, for a technique that weights a layer.
    options: dict = dataclasses.field(default_factory=dict)  # The options it was computed with.


def explanations(model, model_input, class_index, methods=None, options=None):
    """Returns the heatmaps of one class by each explainer asked for, as `Explanation`s.

    Args:
        model: a `keras.Model`.
        model_input: float32 `(height, width, channels)`, what the model sees (0..255).
        class_index: the class to explain.
        methods: explainer names (`explain.EXPLAINERS`), in the order shown. Defaults to
            `None`: every explainer that applies to the model.
        options: explainer options, e.g. `{"layer": "conv2d_1"}`; each explainer gets those
            it takes. Defaults to `None` (the explainers' defaults).

    Returns:
        A list of `Explanation`.

    Raises:
        ValueError: for a method that is unknown or does not apply to the model (the sentence
            lists those that do), or for a bad option or class.
    """
    applicable = {record.name: record for record in explain.applicable(model)}
    methods = list(applicable) if methods is None else list(methods)
    for method in methods:
        if method not in applicable:
            kind = "does not apply to this model" if method in explain.EXPLAINERS else "is not an explainer"
            raise ValueError(f"{method!r} {kind}; choose one of {', '.join(applicable)}.")
    options = dict(options or {})
    found = []
    for method in methods:
        record = applicable[method]
        taken = {name: value for name, value in options.items() if record.option(name) is not None}
        layer_option = record.option("layer")
        layer = None
        if layer_option is not None:
            layer = taken.get("layer") or layer_option.default_for(model)
        heatmap = explain.explain(model, model_input, method, int(class_index), **taken)
        found.append(Explanation(method, record.title, record.description, record.class_specific,
                                 np.asarray(heatmap, dtype=np.float32), layer, taken))
    return found


def _inputs_section(card, file_name, rgb, model_input, probabilities, class_index, top, words):
    height, width, channels = card.input.shape
    numbers = height * width * channels
    names = [words.class_name(name) for name in card.class_names]
    order = [int(index) for index in np.argsort(-probabilities, kind="stable")[:max(1, top)]]
    if class_index not in order:  # A class the visitor chose to explain, however unlikely: it is shown too.
        order.append(class_index)
    your_image = document.figure(pictures.picture(pictures.photo_url(rgb), words("report.your_image")),
                                 words("report_text.your_image_caption", width=rgb.shape[1], height=rgb.shape[0]))
    seen = document.figure(pictures.picture(pictures.png_url(pictures.enlarged(model_input, SIDE)),
                                            words("report.model_sees")),
                           words("report_text.model_sees_caption", width=width, height=height,
                                 numbers=words.count(numbers)))
    bars = charts.bars([names[index] for index in order], [float(probabilities[index]) for index in order],
                       title=words("report.top_classes"), value_text=words.percent,
                       highlight=order.index(class_index))
    return document.section(
        words("report.prediction"),
        document.facts([(words("report.model"), card.display_title), (words("report.file"), file_name),
                        (words("report.explained_class"),
                         f"{names[class_index]} ({words.percent(float(probabilities[class_index]))})")]),
        document.row(your_image, seen),
        document.paragraph(words.what_the_model_reads(numbers, channels, card.preprocessing.kind), note=True),
        document.subheading(words("report.top_classes")),
        document.figure(bars, words("report_text.top_classes_note", shown=min(top, len(names)),
                                    total=words.count(len(names)))),
        name="prediction",
    )


def _trust_block(check, model_input, method_title, class_label, words):
    """The trust checks of one heatmap: the verdict, the two curves against random maps, the scrambled-model row."""
    def panel(curve, reference, heading, x_label):
        return charts.lines(
            [(words("report.this_map"), np.asarray(curve.fractions) * 100, np.asarray(curve.probabilities) * 100),
             (words("report.random_maps"), np.asarray(reference.fractions) * 100,
              np.asarray(reference.probabilities) * 100, charts.REFERENCE)],
            title=heading, x_label=x_label, y_label=f"{class_label}: {words('report.class_probability')}",
            x_range=(0, 100), y_range=(0, 100))

    def small_map(heatmap, caption):
        url = pictures.compact_url(pictures.overlaid(model_input, heatmap, SCRAMBLED_SIDE))
        return document.figure(pictures.picture(url, caption), caption)

    scrambled = [small_map(check.heatmap, words("report.trained_model"))]
    scrambled += [small_map(step.heatmap, words("report_text.scrambled_caption", layer=step.layer,
                                                correlation=f"{step.spearman:+.2f}"))
                  for step in check.randomization]
    return [
        document.subheading(words("report_text.trust_heading", method=method_title, label=class_label)),
        document.verdict(words.verdict(check)),
        document.row(document.figure(panel(check.deletion, check.random_deletion, words("report.deletion"),
                                           words("report.removed"))),
                     document.figure(panel(check.insertion, check.random_insertion, words("report.insertion"),
                                           words("report.revealed")))),
        document.paragraph(words.trust_areas(check.deletion.auc, check.random_deletion.auc, check.insertion.auc,
                                             check.random_insertion.auc), note=True),
        document.paragraph(words("report_text.trust_curves_note"), note=True),
        markup.element("div", document.subheading(words("report.scrambled")), document.grid(scrambled, 6),
                       document.paragraph(words("report_text.scrambled_note"), note=True), class_="keep"),
    ]


def _explanation_block(item, model_input, class_label, alpha, colormap, words):
    """One explainer's heatmap over the model's input and alone, with what it shows."""
    overlay = pictures.overlaid(model_input, item.heatmap, SIDE, alpha, colormap)
    alone = pictures.heatmap_alone(item.heatmap, overlay.shape)
    heading = words("report_text.explanation_heading", method=item.title, label=class_label)
    notes = [words.method_description(item.method, item.description),
             words("report_text.layer_option", layer=item.layer) if item.layer else None,
             words.explanation_note(class_label, item.class_specific)]
    return markup.element(
        "div",
        document.subheading(heading),
        document.row(
            document.figure(pictures.picture(pictures.compact_url(overlay), heading),
                            words("report.heatmap_over_input")),
            document.figure(pictures.picture(pictures.compact_url(alone), words("report.heatmap_alone")),
                            words("report.heatmap_alone")),
        ),
        document.paragraph(" ".join(note for note in notes if note), note=True),
        class_="explanation",
    )


def _explanations_section(found, model_input, class_label, probability, alpha, colormap, trust, words):
    body = [document.paragraph(words("report_text.explanations_intro", label=class_label,
                                     probability=words.percent(probability))),
            document.grid([_explanation_block(item, model_input, class_label, alpha, colormap, words)
                           for item in found], 2)]
    for item in found:
        if trust and item.method in trust:
            body += _trust_block(trust[item.method], model_input, item.title, class_label, words)
    return document.section(words("report.explanations"), *body, name="explanations")


def prediction_report(classifier, rgb, *, file_name, methods=None, class_index=None, top=5, options=None,
                      alpha=0.5, colormap="jet", trust=None, check_trust=False, when=None, language="en"):
    """Returns the report of one image through one model as one self-contained HTML document.

    Args:
        classifier: a `registry.Classifier` (the model and its card).
        rgb: the decoded image, uint8 `(height, width, 3)`.
        file_name: the image's name as the user gave it (shown, escaped; never opened).
        methods: explainer names to show, in order. Defaults to `None`: every one that applies.
        class_index: the class to explain. Defaults to `None`: the most likely one.
        top: how many of the most likely classes to list. Defaults to `5`.
        options: explainer options, as `explanations` takes them. Defaults to `None`.
        alpha: the heatmap's opacity over the image, in [0, 1]. Defaults to `0.5`.
        colormap: the heatmap's colours (`overlays.COLORMAPS`). Defaults to `"jet"`, as the page.
        trust: `{method: trust.TrustReport}` for the heatmaps whose trust checks were
            computed. Defaults to `None`.
        check_trust: compute the trust checks (`trust.check`) of the heatmaps `trust` lacks;
            a second or so each on the small models, more on the ImageNet one. Defaults to `False`.
        when: the time it was made (`datetime`, UTC). Defaults to `None`: now.
        language: the report's language, one of `texts.LANGUAGES` ("en", "zh-CN"); class names
            are in it where the catalog has them. Defaults to `"en"`.

    Returns:
        The HTML as a `str`.

    Raises:
        ValueError: for a method that does not apply, a bad option, a class out of range or
            an unknown language.
    """
    words = text.words(language)
    card = classifier.card
    model_input = classifier.preprocess(rgb)
    probabilities = np.asarray(classifier.predict_inputs(model_input[None])[0], dtype=np.float64)
    class_count = len(card.class_names)
    if class_index is None:
        class_index = int(np.argmax(probabilities))
    elif not 0 <= int(class_index) < class_count:
        raise ValueError(f"The class must be from 0 to {class_count - 1} ({class_count} classes), got {class_index}.")
    class_index = int(class_index)
    found = explanations(classifier.model, model_input, class_index, methods, options)
    trust = dict(trust or {})
    if check_trust:
        for item in found:
            if item.method not in trust:
                trust[item.method] = trust_checks.check(classifier.model, model_input, item.method, class_index,
                                                        heatmap=item.heatmap, **item.options)
    class_label = words.class_name(card.class_names[class_index])
    probability = float(probabilities[class_index])
    return document.page(
        words("report_text.prediction_title", model=card.display_title),
        words("report_text.prediction_subtitle", file=file_name, label=class_label,
              probability=words.percent(probability)),
        [_inputs_section(card, file_name, rgb, model_input, probabilities, class_index, top, words),
         _explanations_section(found, model_input, class_label, probability, alpha, colormap, trust, words),
         model.card_section(card, words)],
        facts_line=words.made_by(imgrec.__version__, when), language=words.language,
    )
