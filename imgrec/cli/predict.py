"""The `predict` and `evaluate` commands: a model's top classes for image files, and its metrics on a dataset split."""

import pathlib

from imgrec.cli import common


def add_commands(commands):
    """Adds `predict` and `evaluate` to the subparsers of the command line."""
    predict = commands.add_parser("predict", help="top-k classes of image files")
    predict.add_argument("--model", required=True)
    predict.add_argument("--top", type=int, default=5)
    predict.add_argument("--json", action="store_true")
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.set_defaults(func=cmd_predict)

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class metrics and confusion on a split")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--dataset")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--max-samples", type=int)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)


def cmd_predict(args):
    """`predict --model NAME [--top K] [--json] FILE...`: the top classes of each file."""
    from imgrec import images, registry

    if args.top < 1:
        raise common.UserError("--top must be at least 1.")
    classifier = registry.load(args.model)
    common.require_classifier(classifier, "rank")
    results = []
    for file_name in args.files:
        path = pathlib.Path(file_name)
        if not path.is_file():
            raise common.UserError(f"{file_name}: no such file.")
        try:
            rgb = images.read_image_file(path)
        except images.ImageError as error:
            raise common.UserError(f"{file_name}: {error}") from None
        top = classifier.top_k(rgb, args.top)
        results.append({"file": file_name, "top": [prediction.to_dict() for prediction in top]})
    if args.json:
        common.print_json(results)
        return 0
    for result in results:
        print(result["file"])
        for rank, row in enumerate(result["top"], start=1):
            print(f"  {rank}. {row['label']:<30} {row['probability'] * 100:6.2f}%")
    return 0


def cmd_evaluate(args):
    """`evaluate --model NAME [--dataset D] [--split S] [--max-samples N] [--json]`: accuracy and per-class metrics.

    For an autoencoder: its reconstruction error (mean squared, pixels 0..1), overall and per class.
    """
    from imgrec import metrics, reconstruction, registry

    classifier = registry.load(args.model)
    dataset = args.dataset or classifier.card.dataset
    if args.split not in metrics.SPLITS:
        raise common.UserError(f"--split must be one of {', '.join(metrics.SPLITS)}.")
    measure = metrics.evaluate if classifier.card.is_classifier else reconstruction.evaluate
    try:
        report = measure(classifier, dataset, args.split, max_samples=args.max_samples)
    except ValueError as error:
        raise common.UserError(str(error)) from None
    report["model"] = args.model
    if args.json:
        common.print_json(report)
        return 0
    if not classifier.card.is_classifier:
        print(f"{args.model} on {report['dataset']} ({report['split']}, n={report['n']}): "
              f"reconstruction MSE {report['reconstruction_mse']:.4f} (pixels 0..1)")
        for row in report["per_class"]:
            print(f"  {row['class']:<20} MSE {row['mse']:.4f}  n {row['support']}" if row["support"] else
                  f"  {row['class']:<20} no images")
        return 0
    print(f"{args.model} on {report['dataset']} ({report['split']}, n={report['n']}): "
          f"accuracy {report['accuracy'] * 100:.2f}%, macro F1 {report['macro_f1']:.4f}")
    for row in report["per_class"]:
        print(f"  {row['class']:<20} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}  n {row['support']}")
    return 0
