"""The `trust` and `localisation` commands: can an explanation be trusted, on image files and on the shapes masks."""

from imgrec.cli import common

# The fields of each `trust` result, in the order printed (the trust panel's numbers).
TRUST_FIELDS = ("file", "method", "class_index", "deletion_auc", "insertion_auc", "random_deletion_auc",
                "random_insertion_auc", "randomization", "verdict")
# Images scored by `localisation` unless --n says otherwise: enough for the mean to settle
# within a few points, and seconds rather than minutes for the slower explainers.
DEFAULT_LOCALISATION_SAMPLES = 200


def add_commands(commands):
    """Adds `trust` and `localisation` to the subparsers of the command line."""
    trust = commands.add_parser("trust", help="faithfulness curves and the randomisation check of a heatmap")
    trust.add_argument("--model", required=True)
    trust.add_argument("--method", required=True, help="an explainer, e.g. gradcam or integrated-gradients")
    trust.add_argument("--class", dest="class_index", type=int, help="the class to explain (default: the top class)")
    trust.add_argument("--json", action="store_true")
    trust.add_argument("files", nargs="+", metavar="FILE")
    trust.set_defaults(func=cmd_trust)

    localisation = commands.add_parser("localisation", help="pointing game and relevance mass on the shapes masks")
    localisation.add_argument("--model", required=True)
    localisation.add_argument("--method", required=True)
    localisation.add_argument("--n", type=int, default=DEFAULT_LOCALISATION_SAMPLES, help="test images to score")
    localisation.add_argument("--json", action="store_true")
    localisation.set_defaults(func=cmd_localisation)


def cmd_trust(args):
    """`trust --model NAME --method METHOD [--class INDEX] [--json] FILE...`: one result per file."""
    import numpy as np

    from imgrec import registry, trust

    pictures = common.read_images(args.files)
    classifier = registry.load(args.model)
    common.require_classifier(classifier, "explain or check")
    method = common.applicable_explainer(classifier, args.method).name
    common.check_class_index(classifier, args.class_index)
    results = []
    for file_name, rgb in zip(args.files, pictures, strict=True):
        image = classifier.preprocess(rgb)
        class_index = args.class_index
        if class_index is None:
            class_index = int(np.argmax(classifier.predict_inputs(image[None])[0]))
        report = trust.check(classifier.model, image, method, class_index)
        values = report.to_dict()
        results.append({"file": file_name, **{field: values[field] for field in TRUST_FIELDS[1:]},
                        "probability": values["probability"]})
    if args.json:
        common.print_json([{field: result[field] for field in TRUST_FIELDS} for result in results])
        return 0
    for result in results:
        label = classifier.class_names[result["class_index"]]
        print(f"{result['file']}: {result['method']} for {label!r} ({result['probability'] * 100:.1f}%)")
        print(f"  deletion area  {result['deletion_auc']:.3f} (random {result['random_deletion_auc']:.3f}; lower is better)")
        print(f"  insertion area {result['insertion_auc']:.3f} (random {result['random_insertion_auc']:.3f}; higher is better)")
        steps = ", ".join(f"{row['layer']} {row['spearman']:+.2f}" for row in result["randomization"])
        print(f"  randomised from the output down (Spearman to the original): {steps}")
        print(f"  {result['verdict']}")
    return 0


def cmd_localisation(args):
    """`localisation --model NAME --method METHOD [--n N] [--json]`: pointing game and relevance mass on shapes."""
    from imgrec import registry
    from imgrec.datasets import shapes
    from imgrec.trust import localisation

    if args.n < 1:
        raise common.UserError("--n must be at least 1.")
    classifier = registry.load(args.model)
    common.require_classifier(classifier, "localise")
    method = common.applicable_explainer(classifier, args.method).name
    dataset = classifier.card.dataset
    try:
        images, labels, masks = shapes.test_with_masks(dataset, max_samples=args.n)
    except ValueError:
        raise common.UserError(f"Model {args.model!r} was trained on {dataset}, which has no "
                               "object masks; use a model trained on shapes, e.g. shapes-cnn.") from None
    if tuple(classifier.input_shape) != images.shape[1:]:
        raise common.UserError(f"Model {args.model!r} takes {classifier.input_shape}, not the shapes images' "
                               f"{images.shape[1:]}.")
    scores = localisation.evaluate(classifier.model, images, labels, masks, method)
    result = {"dataset": dataset, "method": method, "n": scores["n"], "pointing_game": scores["pointing_game"],
              "relevance_mass": scores["relevance_mass"]}
    if args.json:
        common.print_json(result)
        return 0
    print(f"{args.model}, {method} on {dataset} (test, n={result['n']}): pointing game "
          f"{result['pointing_game'] * 100:.1f}%, relevance mass {result['relevance_mass'] * 100:.1f}%")
    return 0
