"""The command line: python -m imgrec {models,predict,evaluate,train,data,export}.

Every error a user can cause exits with status 2 and one line on stderr, never a traceback.
"""

import argparse
import json
import os
import pathlib
import sys

# TensorFlow's C++ start-up chatter is not for users of a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
USER_ERROR = 2


class UserError(Exception):
    """An error the user caused; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


def _user_error_types():
    # Only modules already imported can have raised their errors; importing the rest here
    # would pull in TensorFlow just to print a message.
    names = {
        "imgrec.registry": "RegistryError",
        "imgrec.training": "ConfigError",
        "imgrec.images": "ImageError",
        "imgrec.datasets": "DatasetUnavailable",
        "imgrec.export": "ExportError",
        "imgrec.jobs": "JobError",
    }
    types = [UserError]
    for module_name, class_name in names.items():
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, class_name):
            types.append(getattr(module, class_name))
    return tuple(types)


def quiet_tensorflow_import():
    """Imports TensorFlow with its C++ start-up banner (written to fd 2) sent to /dev/null.

    TF 2.21 logs through absl before TF_CPP_MIN_LOG_LEVEL is read, so the environment
    variable alone cannot silence it; a command line owes its users a clean stderr.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _print_json(value):
    print(json.dumps(value, indent=2, default=_json_default))


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _format_accuracy(card):
    accuracy = (card.get("metrics") or {}).get("test_accuracy")
    return f"{accuracy * 100:.2f}%" if isinstance(accuracy, int | float) else "-"


def cmd_models(args):
    from imgrec import registry

    if args.build_cache:
        for name in registry.BUILT_MODELS:
            registry.ensure_built(name)
            print(f"built {name}", file=sys.stderr)
    cards = registry.list_models()
    if args.json:
        _print_json(cards)
        return 0
    if args.markdown:
        print(markdown_table(cards))
        return 0
    rows = [("name", "architecture", "dataset", "test accuracy", "split")]
    for card in cards:
        metrics = card.get("metrics") or {}
        rows.append((card["name"], card.get("architecture", "-"), card.get("dataset", "-"), _format_accuracy(card),
                     str(metrics.get("split", "-"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def markdown_table(cards):
    """The README's table of models, every number read from the cards (measured by evaluate)."""
    lines = [
        "| model | architecture | dataset | test accuracy | measured on | parameters | file | training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for card in cards:
        metrics = card.get("metrics") or {}
        training = card.get("training") or {}
        seconds = training.get("seconds")
        split = metrics.get("split", "-")
        if metrics.get("n"):
            split = f"{split} (n={metrics['n']:,})"
        size = card.get("file_size")
        lines.append(
            f"| `{card['name']}` | {card.get('architecture', '-')} | {card.get('dataset', '-')} | "
            f"{_format_accuracy(card)} | {split} | {card.get('parameters', 0):,} | "
            f"{f'{size / 1e6:.1f} MB' if size else '-'} | {f'{seconds / 60:.1f} min' if seconds else '-'} |"
        )
    return "\n".join(lines)


def cmd_predict(args):
    from imgrec import images, registry

    if args.top < 1:
        raise UserError("--top must be at least 1.")
    classifier = registry.load(args.model)
    results = []
    for file_name in args.files:
        path = pathlib.Path(file_name)
        if not path.is_file():
            raise UserError(f"{file_name}: no such file.")
        try:
            rgb = images.read_image_file(path)
        except images.ImageError as error:
            raise UserError(f"{file_name}: {error}") from None
        top = classifier.top_k(rgb, args.top)
        results.append({"file": file_name, "top": [prediction.to_dict() for prediction in top]})
    if args.json:
        _print_json(results)
        return 0
    for result in results:
        print(result["file"])
        for rank, row in enumerate(result["top"], start=1):
            print(f"  {rank}. {row['label']:<30} {row['probability'] * 100:6.2f}%")
    return 0


def cmd_evaluate(args):
    from imgrec import metrics, registry

    classifier = registry.load(args.model)
    dataset = args.dataset or classifier.card.get("dataset")
    if not dataset:
        raise UserError(f"Model {args.model!r} has no dataset in its card; pass --dataset.")
    if args.split not in metrics.SPLITS:
        raise UserError(f"--split must be one of {', '.join(metrics.SPLITS)}.")
    try:
        report = metrics.evaluate(classifier, dataset, args.split, max_samples=args.max_samples)
    except ValueError as error:
        raise UserError(str(error)) from None
    report["model"] = args.model
    if args.json:
        _print_json(report)
        return 0
    print(f"{args.model} on {report['dataset']} ({report['split']}, n={report['n']}): "
          f"accuracy {report['accuracy'] * 100:.2f}%, macro F1 {report['macro_f1']:.4f}")
    for row in report["per_class"]:
        print(f"  {row['class']:<20} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}  n {row['support']}")
    return 0


def _load_config(args):
    from imgrec import training

    if bool(args.preset) == bool(args.config):
        raise UserError("Give exactly one of --preset NAME or --config FILE.")
    if args.preset:
        config = training.preset(args.preset)
    else:
        path = pathlib.Path(args.config)
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"{args.config}: no such file.") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UserError(f"{args.config}: not a JSON file.") from None
        config = training.TrainConfig.from_dict(values)
    if args.epochs is not None:
        config.epochs = args.epochs
    if args.max_samples is not None:
        config.max_samples = args.max_samples
    return config.validate()


def cmd_train(args):
    from imgrec import metrics, registry, training

    config = _load_config(args)
    if args.save:
        registry.validate_name(args.save)

    def report_progress(event):
        if args.json or event["event"] != "epoch":
            return
        print(f"epoch {event['epoch']}/{event['epochs']}: loss {event.get('loss', float('nan')):.4f} "
              f"acc {event.get('accuracy', float('nan')):.4f} val_acc {event.get('val_accuracy', float('nan')):.4f} "
              f"({event['seconds']:.1f}s)", file=sys.stderr)

    try:
        result = training.train(config, on_progress=report_progress)
    except training.NonFiniteError as error:
        raise UserError(str(error)) from None
    report = metrics.evaluate(result.model, config.dataset, "test")
    model_card = registry.card_for_training(result, report)
    output = {
        "config": config.to_dict(),
        "seconds": result.seconds,
        "samples_per_second": result.samples_per_second,
        "history": result.history,
        "test_accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "n": report["n"],
    }
    if args.save:
        saved = registry.save(result.model, args.save, model_card, overwrite=args.overwrite or args.ship,
                              protected=args.ship)
        output["saved"] = saved["name"]
    if args.json:
        _print_json(output)
    else:
        print(f"test accuracy {report['accuracy'] * 100:.2f}% (n={report['n']}) after {result.seconds:.1f}s of training"
              + (f"; saved as {args.save}" if args.save else ""))
    return 0


def cmd_data(args):
    from imgrec import datasets

    if args.fetch:
        for name in ("mnist", "fashion-mnist"):
            try:
                path = datasets.fetch_to_cache(name)
            except Exception as error:  # Best effort by design: `make data` must never fail.
                path = None
                print(f"{name}: could not fetch ({error})", file=sys.stderr)
            print(f"{name}: {'cached in ' + str(path) if path else 'no source available'}", file=sys.stderr)
    rows = datasets.info()
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        source = row.get("present_source") or "not available"
        sizes = f"{row.get('train_size', '-')} train / {row.get('test_size', '-')} test" if row.get("present_source") else ""
        print(f"{row['name']:<16} {source:<48} {sizes}")
    return 0


def cmd_export(args):
    from imgrec import export, registry

    classifier = registry.load(args.model)
    path = export.export(classifier, args.format, pathlib.Path(args.output))
    print(path)
    return 0


def build_parser():
    parser = _Parser(prog="python -m imgrec", description="See, explain and train image-recognition models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    models = commands.add_parser("models", help="list the registry's models and their measured metrics")
    models.add_argument("--json", action="store_true")
    models.add_argument("--markdown", action="store_true", help="the README's table of models")
    models.add_argument("--build-cache", action="store_true", help="build models made on first use (ImageNet)")
    models.set_defaults(func=cmd_models)

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

    train = commands.add_parser("train", help="train a model from a preset or a JSON config")
    train.add_argument("--preset")
    train.add_argument("--config")
    train.add_argument("--epochs", type=int)
    train.add_argument("--max-samples", type=int)
    train.add_argument("--save", metavar="NAME", help="save the result in the registry under NAME")
    train.add_argument("--overwrite", action="store_true", help="replace an existing (unprotected) model")
    train.add_argument("--ship", action="store_true", help="save as a protected shipped model")
    train.add_argument("--json", action="store_true")
    train.set_defaults(func=cmd_train)

    data = commands.add_parser("data", help="list datasets, their present source and sizes")
    data.add_argument("--fetch", action="store_true", help="copy MNIST and Fashion-MNIST into the data cache")
    data.add_argument("--json", action="store_true")
    data.set_defaults(func=cmd_data)

    export_parser = commands.add_parser("export", help="export a model as .keras, TFLite or SavedModel")
    export_parser.add_argument("--model", required=True)
    export_parser.add_argument("--format", choices=("keras", "tflite", "savedmodel"), default="keras")
    export_parser.add_argument("--output", required=True)
    export_parser.set_defaults(func=cmd_export)

    from imgrec import jobs

    jobs.add_cli(commands)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        # Listing data and polling runs never touch TensorFlow; its import costs seconds.
        if args.command not in ("data", "runs"):
            quiet_tensorflow_import()
        return args.func(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return USER_ERROR
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        return 0
    except Exception as error:
        if isinstance(error, _user_error_types()):
            print(f"error: {error}", file=sys.stderr)
            return USER_ERROR
        raise


if __name__ == "__main__":
    sys.exit(main())
