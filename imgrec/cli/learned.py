"""The `features` and `embed` commands: what each filter of a layer looks for, and where a model puts the test images."""

import pathlib
import sys

import numpy as np

from imgrec.cli import common

# A filter's picture is written with square pixels, enlarged by a whole factor to at least
# this many pixels a side (a 28x28 input becomes 112x112): big enough to see, still small.
PICTURE_SIDE = 112
# What `embed --json` prints for each point, as the contract names them (plus the image's index).
POINT_FIELDS = ("x", "y", "label", "predicted", "index")


def add_commands(commands):
    """Adds `features` and `embed` to the subparsers of the command line."""
    features = commands.add_parser("features", help="picture what each filter of a layer looks for (one PNG each)")
    features.add_argument("--model", required=True)
    features.add_argument("--layer", required=True, help="a layer with a 2-D feature map, or first / last")
    features.add_argument("--channels", type=int, metavar="N", help="only the first N channels; defaults to all")
    features.add_argument("--output", required=True, metavar="DIR", help="the folder for channel-NNN.png files")
    features.add_argument("--json", action="store_true")
    features.set_defaults(func=cmd_features)

    embed = commands.add_parser("embed", help="place test images on a 2-D map of what a model sees in them")
    embed.add_argument("--model", required=True)
    embed.add_argument("--dataset", help="the dataset whose test split is placed; defaults to the model's own")
    embed.add_argument("--n", type=int, default=1500, metavar="N", help="how many test images (default 1500)")
    embed.add_argument("--method", default="pca", choices=("pca", "tsne", "umap"))
    embed.add_argument("--json", action="store_true")
    embed.set_defaults(func=cmd_embed)


def picture_png(picture):
    """Returns PNG bytes of a filter's picture (uint8, model-input size) enlarged with square pixels."""
    from PIL import Image

    from imgrec import images

    rgb = picture[..., 0] if picture.shape[-1] == 1 else picture
    height, width = rgb.shape[:2]
    factor = max(1, -(-PICTURE_SIDE // max(height, width)))
    return images.encode_png(np.asarray(Image.fromarray(rgb).resize((width * factor, height * factor),
                                                                     Image.Resampling.NEAREST)))


def cmd_features(args):
    """`features --model NAME --layer LAYER|first|last [--channels N] --output DIR [--json]`."""
    import time

    from imgrec import registry
    from imgrec.explain import maximisation

    folder = pathlib.Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise common.UserError(f"--output {args.output}: exists and is not a folder.")
    if args.channels is not None and args.channels < 1:
        raise common.UserError("--channels must be at least 1.")
    classifier = registry.load(args.model)
    model = classifier.model
    try:
        layer = maximisation.resolve_layer(model, args.layer)
    except ValueError as error:
        raise common.UserError(f"--layer {args.layer}: {error}") from None
    count = maximisation.channel_count(model, layer)
    channels = list(range(min(count, args.channels or count)))

    def report(done, total):
        if not args.json:
            print(f"{done}/{total} channels of {layer}", file=sys.stderr)

    started = time.perf_counter()
    pictures_in_0_255, activations = maximisation.filter_images(model, layer, channels, on_progress=report)
    seconds = time.perf_counter() - started
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for channel, picture, activation in zip(channels, maximisation.pictures(pictures_in_0_255), activations,
                                            strict=True):
        path = folder / f"channel-{channel:03d}.png"
        try:
            path.write_bytes(picture_png(picture))
        except OSError as error:
            raise common.UserError(f"--output {args.output}: cannot be written ({error.strerror or error}).") from None
        written.append({"channel": channel, "png": str(path), "activation": float(activation)})
    if args.json:
        common.print_json(written)
        return 0
    print(f"{args.model}, layer {layer}: {len(written)} of {count} filters pictured in {seconds:.1f} s -> {folder}")
    return 0


def _dataset_for(classifier, name):
    """The loaded dataset to place: `name`, or the model's own; a user error when it cannot be the model's input."""
    from imgrec import datasets

    name = name or classifier.card.dataset
    if name.split(":", 1)[0] not in datasets.names():
        raise common.UserError(f"Model {classifier.name!r} learned from {name}, which has no test split here; "
                               f"give --dataset, one of {', '.join(datasets.names())}.")
    shape = tuple(datasets.input_shape(name.split(":", 1)[0]))
    if shape != tuple(classifier.input_shape):
        raise common.UserError(f"--dataset {name}: its images are {shape}, but model {classifier.name!r} takes "
                               f"{tuple(classifier.input_shape)}.")
    return datasets.load(name)


def cmd_embed(args):
    """`embed --model NAME [--dataset D] [--n N] [--method pca|tsne|umap] [--json]`: a 2-D map of the test images."""
    from imgrec import embedding, registry

    if args.method == "umap":
        raise common.UserError("UMAP is not installed here (its numba compiler takes tens of seconds to start on "
                               "2 cores); --method tsne also keeps close neighbours close.")
    if args.n < 10:
        raise common.UserError("--n must be at least 10.")
    classifier = registry.load(args.model)
    dataset = _dataset_for(classifier, args.dataset)
    placed = embedding.embed(classifier.model, dataset.x_test, dataset.y_test, samples=args.n, method=args.method)
    names = [str(name) for name in dataset.class_names]
    if args.json:
        output = placed.to_json(names)
        output["points"] = [{key: point[key] for key in POINT_FIELDS} for point in output["points"]]
        common.print_json(output)
        return 0
    grouped = embedding.separation(placed.points, placed.labels)
    pixels = embedding.project(embedding.pixel_features(dataset.x_test[placed.indices]), args.method)
    baseline = embedding.separation(pixels, placed.labels)
    print(f"{args.model}: {len(placed.labels):,} {dataset.name} test images on a 2-D map "
          f"({embedding.METHOD_TITLES[args.method]} of layer {placed.layer}, {placed.dimensions} numbers each). "
          f"A point's {embedding.NEIGHBOURS} nearest neighbours share its class {grouped['neighbour_accuracy']:.1%} "
          f"of the time (raw pixels: {baseline['neighbour_accuracy']:.1%}); silhouette {grouped['silhouette']:.2f} "
          f"(raw pixels: {baseline['silhouette']:.2f}).")
    return 0
