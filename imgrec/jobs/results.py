"""What a finished run gives back: its test results (written by the worker) and its model, checked before use.

`evaluate` builds a run's `result.json` in the worker; the rest read it back in any process:
the model file is checked against the sha256 recorded there before Keras sees it.
"""

import hashlib

import numpy as np

from imgrec import atomic, texts
from imgrec.jobs import errors, folders, queue

MISCLASSIFIED_KEPT = 32  # The most confident mistakes kept for the results page.
WORST_RECONSTRUCTIONS_KEPT = 12  # An autoencoder's worst-rebuilt test images kept for the results page.
# ROC points are stored to 4 decimals: a 520-pixel plot cannot show the fifth, and it keeps
# result.json small.
ROC_DECIMALS = 4


def evaluate(trained):
    """Measures a trained model on its dataset's test split, keeping the most confident mistakes.

    Args:
        trained: the `training.TrainResult` of the run.

    Returns:
        The dict of `result.json` (see `jobs.result`), without its `model` entry; for an
        autoencoder, `reconstruction.evaluate`'s report and its worst-rebuilt images.
    """
    from imgrec import datasets, inference, metrics, mistakes

    config = trained.config
    if config.task == "reconstruction":
        return _evaluate_reconstruction(trained)
    dataset = datasets.load(config.dataset)
    images, labels = metrics.split_arrays(dataset, "test")
    # The steps of metrics.evaluate, kept apart so the probabilities also give the mistakes
    # and the ROC curves (the page would otherwise run the model over the test split again).
    probabilities = inference.predict_probabilities(trained.model, images)
    report = metrics.from_probabilities(labels, probabilities, dataset.class_names)
    report.update({"dataset": dataset.name, "split": "test", "source": dataset.source})
    report["roc_curves"] = metrics.roc_curves(labels, probabilities, dataset.class_names, decimals=ROC_DECIMALS)
    predicted = probabilities.argmax(axis=1)
    kept = mistakes.select(labels, probabilities, limit=MISCLASSIFIED_KEPT)
    names = [str(name) for name in dataset.class_names]
    report["misclassified"] = [
        {
            "index": int(index),
            "true": int(labels[index]),
            "predicted": int(predicted[index]),
            "true_label": names[int(labels[index])],
            "predicted_label": names[int(predicted[index])],
            "confidence": float(probabilities[index, predicted[index]]),
        }
        for index in kept
    ]
    report["misclassified_count"] = int((predicted != labels).sum())
    report["training"] = _training_record(trained)
    return report


def _evaluate_reconstruction(trained):
    """An autoencoder's test error, overall and per class, and the test images it rebuilds worst."""
    from imgrec import datasets, metrics, reconstruction

    dataset = datasets.load(trained.config.dataset)
    images, labels = metrics.split_arrays(dataset, "test")
    errors = reconstruction.squared_errors(images, reconstruction.reconstruct(trained.model, images))
    report = reconstruction.from_errors(errors, labels, dataset.class_names)
    report.update({"dataset": dataset.name, "split": "test", "source": dataset.source})
    names = [str(name) for name in dataset.class_names]
    worst = np.argsort(-errors, kind="stable")[:WORST_RECONSTRUCTIONS_KEPT]
    report["worst"] = [{"index": int(index), "true": int(labels[index]), "true_label": names[int(labels[index])],
                        "mse": float(errors[index])} for index in worst]
    report["training"] = _training_record(trained)
    return report


def _training_record(trained):
    """How a run trained, as its `result.json` keeps it for rebuilding the model card."""
    return {
        "seconds": trained.seconds,
        "samples_per_second": trained.samples_per_second,
        "train_samples": trained.train_samples,
        "validation_samples": trained.validation_samples,
        "dataset_source": trained.dataset_source,
        "class_names": list(trained.class_names),
        "input_shape": list(trained.input_shape),
        "history": trained.history,
    }


def _checked_model_bytes(run_id, folder, outcome):
    from imgrec import registry

    try:
        with open(folder / folders.MODEL_FILE, "rb") as handle:
            data = handle.read(registry.MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        raise texts.said(errors.JobError, "errors_jobs.no_model_file", run_id=run_id) from None
    if hashlib.sha256(data).hexdigest() != (outcome.get("model") or {}).get("sha256"):
        raise texts.said(errors.JobError, "errors_jobs.model_file_changed", run_id=run_id)
    return data


def model_bytes(run_id, *, runs_dir=None):
    """Returns a finished run's `model.keras` bytes, checked against the sha256 the worker recorded.

    Raises:
        JobError: for an invalid or unknown id, a run without a model, or a changed file.
    """
    folder, _ = queue.read_state(run_id, folders.root_of(runs_dir))
    outcome = atomic.read_json(folder / folders.RESULT_FILE)
    if outcome is None:
        raise texts.said(errors.JobError, "errors_jobs.no_result", run_id=run_id)
    return _checked_model_bytes(run_id, folder, outcome)


def load_run_model(run_id, *, runs_dir=None):
    """Loads a finished run's model through the registry's checks (allow-list, safe mode)."""
    from imgrec import registry

    return registry.load_keras_bytes(model_bytes(run_id, runs_dir=runs_dir), f"run {run_id}")


def save_run_as_model(run_id, name, *, overwrite=False, runs_dir=None):
    """Saves a finished run's model in the registry, with a model card rebuilt from the run folder.

    The run's `model.keras` is checked against the sha256 recorded when it was written,
    then loaded through `registry.load_keras_bytes` (allow-list, safe mode); nothing is
    unpickled.

    Args:
        run_id: the run's id.
        name: the registry name (see `registry.validate_name`).
        overwrite: replace an existing (unshipped) model of that name. Defaults to `False`.
        runs_dir: the runs folder. Defaults to `paths.runs_dir()`.

    Returns:
        The `registry.ModelCard` as saved.

    Raises:
        JobError: for an invalid or unknown id, or a run that is not done (failed runs,
            non-finite runs and cancelled runs have no model).
        registry.RegistryError: for a bad or taken name, or a model file that fails a check.
    """
    from imgrec import registry, training

    registry.validate_name(name)
    root = folders.root_of(runs_dir)
    # Pruning (quota.make_room) holds this lock too: a run is never pruned while it is read here.
    with folders.locked(root):
        folder, state = queue.read_state(run_id, root)
        if state["status"] != folders.DONE:
            why = f" ({state['reason']})" if state.get("reason") else ""
            raise errors.JobError(f"Run {run_id} {folders.STATE_PHRASES[state['status']]}{why}; only a finished "
                                  "(done) run can be saved as a model.")
        outcome = atomic.read_json(folder / folders.RESULT_FILE)
        config = atomic.read_json(folder / folders.CONFIG_FILE)
        if outcome is None or config is None:
            raise texts.said(errors.JobError, "errors_jobs.lacks_files", run_id=run_id)
        data = _checked_model_bytes(run_id, folder, outcome)
    model = registry.load_keras_bytes(data, name)
    trained = outcome["training"]
    # card_for_training reads a TrainResult; rebuild one from the run's files.
    result_view = training.TrainResult(
        model=model,
        config=training.TrainConfig.from_dict(config),
        history=trained["history"],
        seconds=trained["seconds"],
        samples_per_second=trained["samples_per_second"],
        cancelled=False,
        class_names=tuple(trained["class_names"]),
        input_shape=tuple(trained["input_shape"]),
        dataset_source=trained["dataset_source"],
        train_samples=trained["train_samples"],
        validation_samples=trained["validation_samples"],
    )
    card = registry.card_for_training(result_view, outcome, run_id=run_id)
    return registry.save(model, name, card, overwrite=overwrite)
