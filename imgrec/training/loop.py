"""Training: `train(config, on_progress=...)` builds, compiles and fits a model and returns a `TrainResult`.

Progress leaves through a plain callable, so the same function serves the CLI, the worker
processes behind the app, the tests and the benchmarks; nothing here knows about a UI.
"""

import dataclasses
import math
import time

import keras
import numpy as np

from imgrec import architectures, datasets
from imgrec.training import augment
from imgrec.training.config import TrainConfig


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or weights; nothing of the run may be saved."""


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


def build_model(config, input_shape, num_classes):
    """Builds the model a config describes (uncompiled); `num_classes` is ignored for the autoencoder."""
    if config.architecture == architectures.AUTOENCODER:
        return architectures.build_autoencoder(input_shape, config.latent_dim, l1=config.l1, l2=config.l2,
                                               seed=config.seed)
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
    """Compiles a model for its head: binary cross-entropy for one sigmoid unit, else sparse CE.

    An autoencoder's loss is the mean squared error between its output and the input scaled
    to 0..1: the reconstruction error itself, so its loss curve is the number on its card.
    """
    optimizer = make_optimizer(config, steps_per_epoch)
    if architectures.is_autoencoder(model):
        model.compile(optimizer=optimizer, loss="mse")
        return model
    loss = "binary_crossentropy" if architectures.is_binary(model) else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


def prepare_data(config):
    """Loads the dataset a config names and splits off validation samples.

    Returns:
        `(dataset, x_train, y_train, x_val, y_val)`; pixels stay uint8 here.
    """
    dataset = datasets.load(config.dataset, max_train=config.max_samples, seed=config.seed)
    x_train, y_train, x_val, y_val = datasets.split_validation(
        dataset.x_train, dataset.y_train, config.validation_fraction, config.seed
    )
    return dataset, x_train, y_train, x_val, y_val


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

    if config.task == "reconstruction":
        # The target of an autoencoder is its own input, on the 0..1 scale of its output.
        y_train, y_val = x_train.astype(np.float32) / 255.0, x_val.astype(np.float32) / 255.0
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
    augmenter = augment.make_augmenter(config)
    x_train = x_train.astype(np.float32)
    if augmenter is None:
        # No augmentation: hand numpy to fit directly, exactly as a bare model.fit would.
        return x_train, y_train
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    data = data.shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True).batch(config.batch_size)
    data = data.map(lambda images, labels: (augmenter(images, training=True), labels), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)
