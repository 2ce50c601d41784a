"""Training: a validated `TrainConfig`, and `train(config, on_progress=...)` returning a `TrainResult`.

Progress leaves through a plain callable, so the same function serves the CLI, the worker
processes behind the app, the tests and the benchmarks; nothing here knows about a UI.
"""

import dataclasses
import math
import time

import keras
import numpy as np

from imgrec import architectures

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
LR_SCHEDULES = ("constant", "cosine")


class ConfigError(ValueError):
    """A training setting that cannot work; `str(e)` names the setting and the allowed values."""


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or weights; nothing of the run may be saved."""


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved beside every run and in every model card."""

    architecture: str = "cnn"  # One of architectures.ARCHITECTURES.
    dataset: str = "mnist"  # A datasets.names() entry, or "DATASET:A,B" for a two-class task.
    max_samples: int | None = None  # Cap on training samples (stratified); None uses them all.
    epochs: int = 3  # Full passes over the training samples.
    batch_size: int = 128  # Samples per gradient step.
    optimizer: str = "adam"  # sgd, momentum (SGD + 0.9 momentum), adagrad, rmsprop or adam.
    learning_rate: float = 1e-3  # Step size; 10 with SGD diverges (useful to teach NaN).
    lr_schedule: str = "constant"  # "cosine" decays the rate to 0 over the run.
    l1: float = 0.0  # L1 penalty on kernels: pushes weights to exactly zero.
    l2: float = 0.0  # L2 penalty on kernels (weight decay): keeps weights small.
    dropout: float = 0.5  # Fraction of units dropped before the classifier while training.
    augment_rotate: float = 0.0  # Random rotation, in degrees either way.
    augment_shift: float = 0.0  # Random shift, as a fraction of height and width.
    augment_flip: bool = False  # Random horizontal flip (wrong for digits, right for clothes).
    augment_noise: float = 0.0  # Gaussian pixel noise, standard deviation in 0..255 units.
    validation_fraction: float = 0.1  # Share of training samples held out to watch overfitting.
    seed: int = 0  # Seeds the split, the initial weights, the shuffling and the augmentation.
    recurrent_cell: str = "gru"  # rnn/crnn only: simple, gru or lstm.
    recurrent_units: int = 128  # rnn/crnn only: width of the recurrent layer.
    patch_size: int | None = None  # vit only: patch side in pixels; None picks 7 for 28x28.
    vit_dim: int = 64  # vit only: token width.
    vit_depth: int = 4  # vit only: transformer blocks.
    vit_heads: int = 4  # vit only: attention heads per block.

    def to_dict(self):
        """Returns the config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Builds a validated config from a dict (e.g. a JSON file), refusing unknown keys.

        Raises:
            ConfigError: for an unknown key or a value of the wrong type or range.
        """
        if not isinstance(values, dict):
            raise ConfigError("A training config must be a JSON object of settings.")
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"Unknown setting {unknown[0]!r}; known settings are {', '.join(known)}.")
        converted = {}
        for name, value in values.items():
            converted[name] = _coerce(name, value, known[name].type)
        config = cls(**converted)
        config.validate()
        return config

    def validate(self):
        """Checks every setting and their combinations.

        Returns:
            The config itself, so calls can chain.

        Raises:
            ConfigError: with one sentence naming the first problem found.
        """
        from imgrec import architectures, datasets

        if self.architecture not in architectures.ARCHITECTURES:
            raise ConfigError(
                f"Unknown architecture {self.architecture!r}; choose one of {', '.join(architectures.ARCHITECTURES)}."
            )
        base_dataset = self.dataset.split(":", 1)[0]
        if base_dataset not in datasets.names():
            raise ConfigError(f"Unknown dataset {self.dataset!r}; choose one of {', '.join(datasets.names())}.")
        _check_range("epochs", self.epochs, 1, 500)
        _check_range("batch_size", self.batch_size, 1, 4096)
        if self.max_samples is not None:
            _check_range("max_samples", self.max_samples, 20, 10_000_000)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 100):
            raise ConfigError(f"learning_rate must be above 0 and at most 100, got {self.learning_rate}.")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"Unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}.")
        _check_range("l1", self.l1, 0.0, 1.0)
        _check_range("l2", self.l2, 0.0, 1.0)
        _check_range("dropout", self.dropout, 0.0, 0.95)
        _check_range("augment_rotate", self.augment_rotate, 0.0, 180.0)
        _check_range("augment_shift", self.augment_shift, 0.0, 0.5)
        _check_range("augment_noise", self.augment_noise, 0.0, 128.0)
        _check_range("validation_fraction", self.validation_fraction, 0.0, 0.5)
        _check_range("seed", self.seed, 0, 2**31 - 1)
        if self.recurrent_cell not in architectures.RECURRENT_CELLS:
            raise ConfigError(
                f"Unknown recurrent_cell {self.recurrent_cell!r}; choose one of {', '.join(architectures.RECURRENT_CELLS)}."
            )
        _check_range("recurrent_units", self.recurrent_units, 1, 1024)
        _check_range("vit_dim", self.vit_dim, 4, 512)
        _check_range("vit_depth", self.vit_depth, 1, 12)
        _check_range("vit_heads", self.vit_heads, 1, 16)
        if self.architecture == "vit" and self.vit_dim % self.vit_heads:
            raise ConfigError(f"vit_dim ({self.vit_dim}) must be a multiple of vit_heads ({self.vit_heads}).")
        if self.patch_size is not None:
            _check_range("patch_size", self.patch_size, 1, 64)
        if self.architecture == "vit" and self.patch_size is not None:
            height, width, _ = datasets_input_shape(self.dataset)
            if height % self.patch_size or width % self.patch_size:
                raise ConfigError(
                    f"patch_size {self.patch_size} must divide the image size {height}x{width} of {self.dataset}."
                )
        return self


def datasets_input_shape(dataset_name):
    """Returns `(H, W, C)` of a dataset without loading its pixels."""
    from imgrec import datasets

    shapes = {"mnist": (28, 28, 1), "mnist-5k": (28, 28, 1), "fashion-mnist": (28, 28, 1), "digits": (8, 8, 1)}
    base = dataset_name.split(":", 1)[0]
    if base in shapes:
        return shapes[base]
    return datasets.load(dataset_name, max_train=20, max_test=20).input_shape


def _coerce(name, value, annotation):
    text = str(annotation)
    if value is None and "None" in text:
        return None
    if "bool" in text:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}.")
        return value
    if "int" in text:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ConfigError(f"{name} must be a whole number, got {value!r}.")
        return int(value)
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number, got {value!r}.")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text, got {value!r}.")
    return value


def _check_range(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number, got {value!r}.")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}.")


@dataclasses.dataclass
class TrainResult:
    """What a finished (or cancelled) run produced."""

    model: object  # The trained keras.Model (never shared with a serving cache).
    config: TrainConfig
    history: list  # One dict per finished epoch: loss, accuracy, val_loss, val_accuracy, seconds.
    seconds: float  # Wall time of model.fit, data loading excluded.
    samples_per_second: float  # Training samples processed per second of fit time.
    cancelled: bool  # True when should_stop() asked the run to end early.
    class_names: tuple
    input_shape: tuple
    dataset_source: str
    train_samples: int
    validation_samples: int


# Hyperparameters of the shipped models, each with the reason for its choices; `python -m imgrec
# train --preset NAME` reproduces a shipped model from the repository.
PRESETS = {
    # The app's default: reaches >= 98% MNIST test accuracy in well under a minute on 2 cores.
    "quickstart": TrainConfig(architecture="cnn", dataset="mnist", epochs=2, batch_size=128, dropout=0.5),
    # Batch norm + light geometric augmentation + cosine decay: the standard recipe past 99.3%.
    "mnist-cnn": TrainConfig(
        architecture="cnn-deep", dataset="mnist", epochs=6, batch_size=128, lr_schedule="cosine",
        augment_rotate=8.0, augment_shift=0.08, dropout=0.3, validation_fraction=0.05,
    ),
    # Clothes are left-right symmetric, so flips are free data; digits are not.
    "fashion-cnn": TrainConfig(
        architecture="cnn-deep", dataset="fashion-mnist", epochs=10, batch_size=128, lr_schedule="cosine",
        augment_flip=True, dropout=0.3, validation_fraction=0.05,
    ),
    "mnist-crnn": TrainConfig(
        architecture="crnn", dataset="mnist", epochs=5, batch_size=128, lr_schedule="cosine",
        augment_rotate=8.0, augment_shift=0.08, dropout=0.3, validation_fraction=0.05,
    ),
    # A GRU reading rows; no augmentation, since shifted rows are what it finds hardest to learn.
    "mnist-rnn": TrainConfig(
        architecture="rnn", dataset="mnist", epochs=6, batch_size=128, learning_rate=2e-3, lr_schedule="cosine",
        dropout=0.2, validation_fraction=0.05,
    ),
    # A small ViT needs more epochs than a convnet: it has no built-in notion of locality.
    "mnist-vit": TrainConfig(
        architecture="vit", dataset="mnist", epochs=15, batch_size=128, lr_schedule="cosine",
        augment_rotate=5.0, augment_shift=0.05, dropout=0.1, validation_fraction=0.05,
        vit_dim=64, vit_depth=4, vit_heads=4, patch_size=7,
    ),
}


def preset(name):
    """Returns a fresh copy of a named preset.

    Raises:
        ConfigError: for an unknown preset name.
    """
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return dataclasses.replace(PRESETS[name])


def build_model(config, input_shape, num_classes):
    """Builds the model a config describes (uncompiled)."""
    from imgrec import architectures

    return architectures.build(
        config.architecture,
        input_shape,
        num_classes,
        dropout=config.dropout,
        l1=config.l1,
        l2=config.l2,
        recurrent_cell=config.recurrent_cell,
        recurrent_units=config.recurrent_units,
        patch_size=config.patch_size,
        vit_dim=config.vit_dim,
        vit_depth=config.vit_depth,
        vit_heads=config.vit_heads,
        seed=config.seed,
    )


def make_optimizer(config, steps_per_epoch):
    """Returns the Keras optimizer a config names, with its learning-rate schedule."""
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch)
        )
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if config.optimizer == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if config.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate)


def compile_model(model, config, steps_per_epoch):
    """Compiles a model for its head: binary cross-entropy for one sigmoid unit, else sparse CE."""
    from imgrec import architectures

    loss = "binary_crossentropy" if architectures.is_binary(model) else "sparse_categorical_crossentropy"
    model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=["accuracy"])
    return model


def prepare_data(config):
    """Loads the dataset a config names and splits off validation samples.

    Returns:
        `(dataset, x_train, y_train, x_val, y_val)`; pixels stay uint8 here.
    """
    from imgrec import datasets

    dataset = datasets.load(config.dataset, max_train=config.max_samples, seed=config.seed)
    x_train, y_train, x_val, y_val = datasets.split_validation(
        dataset.x_train, dataset.y_train, config.validation_fraction, config.seed
    )
    return dataset, x_train, y_train, x_val, y_val


def make_augmenter(config):
    """Returns the Keras augmentation pipeline a config asks for, or None."""
    from imgrec import datasets

    return datasets.make_augmenter(
        rotate_degrees=config.augment_rotate,
        shift_fraction=config.augment_shift,
        flip=config.augment_flip,
        noise_std=config.augment_noise,
        seed=config.seed,
    )


class ProgressCallback(keras.callbacks.Callback):
    """Keras callback that reports batches (throttled) and epochs to a plain callable.

    Per-batch reports are throttled to one every `interval` seconds because turning the
    batch logs into Python floats synchronises the device; a report per batch would cost
    throughput for nothing a person can see.
    """

    def __init__(self, on_progress, should_stop, epochs, steps_per_epoch, interval):
        super().__init__()
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.interval = interval
        self.cancelled = False
        self.history = []
        self._last_report = 0.0
        self._epoch = 0
        self._started = time.perf_counter()
        self._epoch_started = self._started

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.should_stop is not None and self.should_stop():
            self.cancelled = True
            self.model.stop_training = True
        last = batch + 1 == self.steps_per_epoch
        if self.on_progress is None or (now - self._last_report < self.interval and not last):
            return
        self._last_report = now
        event = {
            "event": "batch",
            "epoch": self._epoch + 1,
            "batch": batch + 1,
            "step": self._epoch * self.steps_per_epoch + batch + 1,
            "total_steps": self.epochs * self.steps_per_epoch,
            "elapsed": now - self._started,
        }
        event.update(_floats(logs))
        self.on_progress(event)

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        record = {
            "event": "epoch",
            "epoch": epoch + 1,
            "epochs": self.epochs,
            "seconds": now - self._epoch_started,
            "elapsed": now - self._started,
        }
        record.update(_floats(logs))
        self.history.append(record)
        if self.on_progress is not None:
            self.on_progress(dict(record))


def _floats(logs):
    values = {}
    for key, value in (logs or {}).items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            continue
    return values


def train(config, on_progress=None, should_stop=None, log_dir=None, progress_interval=0.25):
    """Trains the model a config describes.

    Args:
        config: a `TrainConfig` (validated here).
        on_progress: callable taking one dict per event: `{"event": "batch", ...}` at most every
            `progress_interval` seconds, `{"event": "epoch", ...}` after every epoch, and a
            final `{"event": "done", ...}`. Defaults to `None`.
        should_stop: callable returning True to end the run early (cancel). Checked every
            batch. Defaults to `None`.
        log_dir: folder for TensorBoard logs, or `None` for none. Defaults to `None`.
        progress_interval: seconds between batch reports. Defaults to `0.25`.

    Returns:
        A `TrainResult`.

    Raises:
        ConfigError: for an invalid config.
        NonFiniteError: when the loss or the weights became NaN or infinite.

    Example:
        >>> result = train(TrainConfig(dataset="digits", epochs=1, max_samples=200))
        >>> result.model.output_shape
        (None, 10)
    """
    config.validate()
    keras.utils.set_random_seed(config.seed)
    dataset, x_train, y_train, x_val, y_val = prepare_data(config)
    steps_per_epoch = max(1, math.ceil(len(x_train) / config.batch_size))
    model = build_model(config, dataset.input_shape, dataset.num_classes)
    compile_model(model, config, steps_per_epoch)

    progress = ProgressCallback(on_progress, should_stop, config.epochs, steps_per_epoch, progress_interval)
    callbacks = [keras.callbacks.TerminateOnNaN(raise_error=True), progress]
    if log_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False))

    train_data = _training_data(config, x_train, y_train)
    validation_data = (x_val.astype(np.float32), y_val) if len(x_val) else None
    started = time.perf_counter()
    try:
        if isinstance(train_data, tuple):
            model.fit(
                train_data[0], train_data[1], batch_size=config.batch_size, epochs=config.epochs,
                validation_data=validation_data, callbacks=callbacks, verbose=0, shuffle=True,
            )
        else:
            model.fit(
                train_data, epochs=config.epochs, validation_data=validation_data, callbacks=callbacks,
                verbose=0, shuffle=False,  # The tf.data pipeline shuffles itself.
            )
    except RuntimeError as error:
        if "NaN" in str(error) or "nan" in str(error):
            raise NonFiniteError("The loss became NaN or infinite; try a smaller learning rate.") from error
        raise
    seconds = time.perf_counter() - started
    if any(not math.isfinite(epoch.get("loss", 0.0)) for epoch in progress.history) or not architectures.weights_are_finite(model):
        raise NonFiniteError("Training produced non-finite weights; try a smaller learning rate.")
    samples_seen = len(x_train) * len(progress.history)
    result = TrainResult(
        model=model,
        config=config,
        history=progress.history,
        seconds=seconds,
        samples_per_second=samples_seen / seconds if seconds > 0 and samples_seen else 0.0,
        cancelled=progress.cancelled,
        class_names=tuple(dataset.class_names),
        input_shape=tuple(dataset.input_shape),
        dataset_source=dataset.source,
        train_samples=len(x_train),
        validation_samples=len(x_val),
    )
    if on_progress is not None:
        on_progress({"event": "done", "seconds": seconds, "cancelled": progress.cancelled,
                     "epochs_done": len(progress.history)})
    return result


def _training_data(config, x_train, y_train):
    """Returns `(x, y)` arrays for plain fit, or a tf.data pipeline when augmenting."""
    augmenter = make_augmenter(config)
    x_train = x_train.astype(np.float32)
    if augmenter is None:
        # No augmentation: hand numpy to fit directly, exactly as a bare model.fit would.
        return x_train, y_train
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    data = data.shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True).batch(config.batch_size)
    data = data.map(lambda images, labels: (augmenter(images, training=True), labels), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)
