"""The `report` command: one self-contained HTML file of a prediction, a model's card or a training run."""

import pathlib

from imgrec import texts
from imgrec.cli import common

OUTPUT_SUFFIXES = (".html", ".htm")


def add_commands(commands):
    """Adds `report` to the subparsers of the command line."""
    report = commands.add_parser(
        "report", help="one HTML file that opens offline and prints on A4: a prediction, a model or a run",
        description="With --model and an IMAGE: the image, what the model sees, its top classes, the explanations "
                    "and the model's card. With --model alone: the card, its curves and F1 per class. With --run: "
                    "a training run's settings, curves, confusion matrix, per-class metrics and mistakes.")
    report.add_argument("--model", help="a registry model")
    report.add_argument("--run", metavar="ID", help="a training run (see `runs`)")
    report.add_argument("--method", action="append", metavar="METHOD",
                        help="an explainer, e.g. gradcam; repeat for several; defaults to every one that applies")
    report.add_argument("--class", dest="class_index", type=int, metavar="INDEX",
                        help="the class to explain; defaults to the model's top class")
    report.add_argument("--layer", help="the layer a Grad-CAM method weights; defaults to the last convolutional map")
    report.add_argument("--top", type=int, default=5, help="how many of the most likely classes to list (default 5)")
    report.add_argument("--trust", action="store_true",
                        help="check each heatmap (deletion and insertion curves, the scrambled model) and show it")
    report.add_argument("--lang", choices=texts.LANGUAGES, default=texts.DEFAULT,
                        help="the report's language: en (default) or zh-CN (Simplified Chinese)")
    report.add_argument("--output", required=True, metavar="FILE.html")
    report.add_argument("image", nargs="?", metavar="IMAGE")
    report.set_defaults(func=cmd_report)


def output_path(output):
    """Returns the path to write the report to.

    Raises:
        UserError: for a name that does not end in `.html` or a folder that does not exist.
    """
    path = pathlib.Path(output)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise common.UserError(f"--output {output}: a report is an HTML file; give a file name ending in .html.")
    if not path.parent.is_dir():
        raise common.UserError(f"--output {output}: the folder {path.parent} does not exist.")
    return path


def _check_arguments(args):
    if (args.model is None) == (args.run is None):
        raise common.UserError("Give exactly one of --model NAME (with an IMAGE for a prediction) or --run ID.")
    prediction_only = [flag for flag, value in (("--method", args.method), ("--class", args.class_index),
                                                ("--layer", args.layer), ("--trust", args.trust or None))
                       if value is not None]
    if args.run is not None and args.image is not None:
        raise common.UserError("A run's report takes no IMAGE; give --model NAME IMAGE for a prediction's report.")
    if args.image is None and prediction_only:
        raise common.UserError(f"{prediction_only[0]} explains a prediction: give an IMAGE too.")
    if args.top < 1:
        raise common.UserError("--top must be at least 1.")


def _layer_options(classifier, records, layer):
    """Returns `{"layer": layer}` after checking the methods weight a layer and the model has it."""
    if layer is None:
        return {}
    weighing = [record for record in records if record.option("layer") is not None]
    if not weighing:
        raise common.UserError(f"--method {', '.join(record.name for record in records)} weights no layer; "
                               "leave out --layer.")
    layers = weighing[0].option("layer").choices_for(classifier.model)
    if layer not in layers:
        raise common.UserError(f"--layer {layer}: model {classifier.name!r} has no 2-D feature map of that name; "
                               f"choose one of {', '.join(layers)}.")
    return {"layer": layer}


def prediction_html(args):
    """The report of one image through a model, as the Predict page shows it."""
    from imgrec import explain, registry, report

    [rgb] = common.read_images([args.image])
    classifier = registry.load(args.model)
    common.require_classifier(classifier, "report on an image")
    records = ([common.applicable_explainer(classifier, method) for method in args.method] if args.method
               else explain.applicable(classifier.model))
    options = _layer_options(classifier, records, args.layer)
    common.check_class_index(classifier, args.class_index)
    try:
        return report.prediction_report(classifier, rgb, file_name=pathlib.Path(args.image).name,
                                        methods=[record.name for record in records], class_index=args.class_index,
                                        top=args.top, options=options, check_trust=args.trust,
                                        language=args.lang)
    except ValueError as error:  # Checked above already; the explainers' own checks, in one sentence.
        raise common.UserError(str(error)) from None


def cmd_report(args):
    """`report (--model NAME [IMAGE] | --run ID) [--method M]... [--class I] [--layer L] [--top K] [--trust] [--lang L] --output F`."""
    from imgrec import atomic, registry, report

    _check_arguments(args)
    path = output_path(args.output)
    if args.run is not None:
        html = report.run_report(args.run, language=args.lang)
    elif args.image is not None:
        html = prediction_html(args)
    else:
        html = report.model_report(registry.card(args.model), language=args.lang)
    data = html.encode("utf-8")
    try:
        atomic.write_bytes(path, data)  # A full disk leaves the old file or none, never half a report.
    except OSError as error:
        raise common.UserError(f"--output {path}: cannot be written ({error.strerror or error}).") from None
    print(f"{path} ({len(data) / 1e3:,.0f} kB)")
    return 0
