"""The `train` command: trains a model in this process from a preset or a JSON config, and optionally saves it."""

import sys

from imgrec.cli import common


def add_commands(commands):
    """Adds `train` to the subparsers of the command line."""
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


def _load_config(args):
    from imgrec import training

    if bool(args.preset) == bool(args.config):
        raise common.UserError("Give exactly one of --preset NAME or --config FILE.")
    if args.preset:
        config = training.preset(args.preset)
    else:
        config = training.TrainConfig.from_dict(common.read_config_file(args.config))
    if args.epochs is not None:
        config.epochs = args.epochs
    if args.max_samples is not None:
        config.max_samples = args.max_samples
    return config.validate()


def cmd_train(args):
    """`train (--preset NAME | --config FILE) [--epochs N] [--max-samples N] [--save NAME] [--json]`."""
    from imgrec import metrics, reconstruction, registry, training

    config = _load_config(args)
    if args.save:
        registry.validate_name(args.save)

    def report_progress(event):
        if args.json or event["event"] != "epoch":
            return
        scores = (f"acc {event.get('accuracy', float('nan')):.4f} val_acc {event.get('val_accuracy', float('nan')):.4f}"
                  if config.task == "classification" else f"val_loss {event.get('val_loss', float('nan')):.4f}")
        print(f"epoch {event['epoch']}/{event['epochs']}: loss {event.get('loss', float('nan')):.4f} {scores} "
              f"({event['seconds']:.1f}s)", file=sys.stderr)

    try:
        result = training.train(config, on_progress=report_progress)
    except training.NonFiniteError as error:
        raise common.UserError(str(error)) from None
    output = {
        "config": config.to_dict(),
        "seconds": result.seconds,
        "samples_per_second": result.samples_per_second,
        "history": result.history,
    }
    if config.task == "reconstruction":
        report = reconstruction.evaluate(result.model, config.dataset, "test")
        output.update(reconstruction_mse=report["reconstruction_mse"], n=report["n"])
        measured = f"reconstruction MSE {report['reconstruction_mse']:.4f} (pixels 0..1)"
    else:
        report = metrics.evaluate(result.model, config.dataset, "test")
        output.update(test_accuracy=report["accuracy"], macro_f1=report["macro_f1"], n=report["n"])
        measured = f"test accuracy {report['accuracy'] * 100:.2f}%"
    model_card = registry.card_for_training(result, report)
    if args.save:
        saved = registry.save(result.model, args.save, model_card, overwrite=args.overwrite or args.ship,
                              protected=args.ship)
        output["saved"] = saved.name
    if args.json:
        common.print_json(output)
    else:
        print(f"{measured} (n={report['n']}) after {result.seconds:.1f}s of training"
              + (f"; saved as {args.save}" if args.save else ""))
    return 0
