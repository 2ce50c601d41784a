"""The `explain` command: where in each image a model found a class, as JSON, a line per file, or an overlay PNG."""

import pathlib

import numpy as np

from imgrec.cli import common

# The overlay PNG shows the model's input with square pixels, enlarged by a whole factor to at
# least this many pixels a side (a 28x28 input becomes 224x224), as the Predict page shows it.
OVERLAY_SIDE = 224
# What `--json` prints for each file; `shape` and `peak` are in model-input coordinates ([row, column]).
JSON_FIELDS = ("file", "model", "method", "class_index", "label", "shape", "peak")


def add_commands(commands):
    """Adds `explain` to the subparsers of the command line."""
    explain = commands.add_parser("explain", help="where in each image a model found a class (a heatmap's peak or PNG)")
    explain.add_argument("--model", required=True)
    explain.add_argument("--method", required=True, help="an explainer, e.g. gradcam; a wrong one lists those that apply")
    explain.add_argument("--class", dest="class_index", type=int, metavar="INDEX",
                         help="the class to explain; defaults to the model's top class for each file")
    explain.add_argument("--layer", help="the layer a Grad-CAM method weights; defaults to the last convolutional map")
    explain.add_argument("--output", metavar="PNG",
                         help="write the heatmap over the model's input; with several files OUT.png becomes "
                              "OUT-1.png, OUT-2.png, ... in the order the files are given")
    explain.add_argument("--json", action="store_true")
    explain.add_argument("files", nargs="+", metavar="FILE")
    explain.set_defaults(func=cmd_explain)


def output_paths(output, count):
    """Returns the PNG path for each of `count` files: `output` itself for one, `STEM-1.png`, ... for several.

    Raises:
        UserError: for a name that does not end in `.png` or a folder that does not exist.
    """
    if output is None:
        return [None] * count
    path = pathlib.Path(output)
    if path.suffix.lower() != ".png":
        raise common.UserError(f"--output {output}: the overlay is a PNG; give a file name ending in .png.")
    if not path.parent.is_dir():
        raise common.UserError(f"--output {output}: the folder {path.parent} does not exist.")
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{number}{path.suffix}") for number in range(1, count + 1)]


def overlay_png(model_input, heatmap):
    """Returns PNG bytes of the heatmap over the model's input, enlarged with square pixels (see `OVERLAY_SIDE`)."""
    from PIL import Image

    from imgrec import images, overlays

    blended = overlays.overlay(model_input, heatmap)  # At the input size: one colour per input pixel.
    height, width = blended.shape[:2]
    factor = max(1, -(-OVERLAY_SIDE // max(height, width)))
    enlarged = Image.fromarray(blended).resize((width * factor, height * factor), Image.Resampling.NEAREST)
    return images.encode_png(np.asarray(enlarged))


def cmd_explain(args):
    """`explain --model NAME --method METHOD [--class INDEX] [--layer LAYER] [--output PNG] [--json] FILE...`."""
    from imgrec import explain, registry

    outputs = output_paths(args.output, len(args.files))
    pictures = common.read_images(args.files)
    classifier = registry.load(args.model)
    common.require_classifier(classifier, "explain")
    record = common.applicable_explainer(classifier, args.method)
    options = {}
    if args.layer is not None:
        layer_option = record.option("layer")
        if layer_option is None:
            raise common.UserError(f"--method {record.name} weights no layer; leave out --layer.")
        layers = layer_option.choices_for(classifier.model)
        if args.layer not in layers:
            raise common.UserError(f"--layer {args.layer}: model {args.model!r} has no 2-D feature map of that name; "
                                   f"choose one of {', '.join(layers)}.")
        options["layer"] = args.layer
    common.check_class_index(classifier, args.class_index)
    results = []
    for file_name, rgb, output in zip(args.files, pictures, outputs, strict=True):
        model_input = classifier.preprocess(rgb)
        probabilities = classifier.predict_inputs(model_input[None])[0]
        class_index = args.class_index if args.class_index is not None else int(np.argmax(probabilities))
        try:
            heatmap = explain.explain(classifier.model, model_input, record.name, class_index, **options)
        except ValueError as error:  # Checked above already; explain's own checks, in one sentence.
            raise common.UserError(str(error)) from None
        peak = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
        if output is not None:
            try:
                output.write_bytes(overlay_png(model_input, heatmap))
            except OSError as error:
                raise common.UserError(f"--output {output}: cannot be written ({error.strerror or error}).") from None
        results.append({
            "file": file_name, "model": args.model, "method": record.name, "class_index": class_index,
            "label": classifier.class_names[class_index], "shape": [int(size) for size in heatmap.shape],
            "peak": [int(peak[0]), int(peak[1])],
            "probability": float(probabilities[class_index]), "output": str(output) if output else None,
        })
    if args.json:
        common.print_json([{key: result[key] for key in JSON_FIELDS} for result in results])
        return 0
    for result in results:
        height, width = result["shape"]
        written = f" -> {result['output']}" if result["output"] else ""
        print(f"{result['file']}: {record.title} of {result['label']!r} (class {result['class_index']}, "
              f"{result['probability']:.1%}) peaks at row {result['peak'][0]}, column {result['peak'][1]} "
              f"of {height}x{width}{written}")
    return 0
