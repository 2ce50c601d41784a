"""The training config: `TrainConfig` (a comment per field), its validation, and the named presets."""

import dataclasses
import math

from imgrec import architectures, datasets, texts

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
LR_SCHEDULES = ("constant", "cosine")


class ConfigError(ValueError):
    """A training setting that cannot work; `str(e)` names the setting and the allowed values."""


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run; saved beside every run and in every model card."""

    architecture: str = "cnn"  # One of architectures.ALL_ARCHITECTURES: a classifier, or "autoencoder".
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
    latent_dim: int = 16  # autoencoder only: numbers in the code; 2 puts every image on a plane to plot.

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
            raise texts.said(ConfigError, "errors_training.not_an_object")
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise texts.said(ConfigError, "errors_training.unknown_setting", setting=unknown[0], known=", ".join(known))
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
        if self.architecture not in architectures.ALL_ARCHITECTURES:
            raise texts.said(ConfigError, "errors_training.unknown_architecture", value=self.architecture,
                             choices=", ".join(architectures.ALL_ARCHITECTURES))
        base_dataset = self.dataset.split(":", 1)[0]
        if base_dataset not in datasets.names():
            raise texts.said(ConfigError, "errors_training.unknown_dataset", value=self.dataset,
                             choices=", ".join(datasets.names()))
        _check_range("epochs", self.epochs, 1, 500)
        _check_range("batch_size", self.batch_size, 1, 4096)
        if self.max_samples is not None:
            _check_range("max_samples", self.max_samples, 20, 10_000_000)
        if self.optimizer not in OPTIMIZERS:
            raise texts.said(ConfigError, "errors_training.unknown_optimizer", value=self.optimizer,
                             choices=", ".join(OPTIMIZERS))
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 100):
            raise texts.said(ConfigError, "errors_training.learning_rate", value=self.learning_rate)
        if self.lr_schedule not in LR_SCHEDULES:
            raise texts.said(ConfigError, "errors_training.unknown_lr_schedule", value=self.lr_schedule,
                             choices=", ".join(LR_SCHEDULES))
        _check_range("l1", self.l1, 0.0, 1.0)
        _check_range("l2", self.l2, 0.0, 1.0)
        _check_range("dropout", self.dropout, 0.0, 0.95)
        _check_range("augment_rotate", self.augment_rotate, 0.0, 180.0)
        _check_range("augment_shift", self.augment_shift, 0.0, 0.5)
        _check_range("augment_noise", self.augment_noise, 0.0, 128.0)
        _check_range("validation_fraction", self.validation_fraction, 0.0, 0.5)
        _check_range("seed", self.seed, 0, 2**31 - 1)
        if self.recurrent_cell not in architectures.RECURRENT_CELLS:
            raise texts.said(ConfigError, "errors_training.unknown_recurrent_cell", value=self.recurrent_cell,
                             choices=", ".join(architectures.RECURRENT_CELLS))
        _check_range("recurrent_units", self.recurrent_units, 1, 1024)
        _check_range("vit_dim", self.vit_dim, 4, 512)
        _check_range("vit_depth", self.vit_depth, 1, 12)
        _check_range("vit_heads", self.vit_heads, 1, 16)
        if self.architecture == "vit" and self.vit_dim % self.vit_heads:
            raise texts.said(ConfigError, "errors_training.vit_heads", dim=self.vit_dim, heads=self.vit_heads)
        _check_range("latent_dim", self.latent_dim, 2, 256)
        if self.architecture == architectures.AUTOENCODER:
            self._check_autoencoder(base_dataset)
        if self.patch_size is not None:
            _check_range("patch_size", self.patch_size, 1, 64)
        if self.architecture == "vit" and self.patch_size is not None:
            height, width, _ = datasets.input_shape(base_dataset)
            if height % self.patch_size or width % self.patch_size:
                raise texts.said(ConfigError, "errors_training.patch_size", patch=self.patch_size, height=height,
                                 width=width, dataset=self.dataset)
        return self

    @property
    def task(self):
        """What the model learns: "classification", or "reconstruction" for the autoencoder."""
        return architectures.task_of(self.architecture)

    def _check_autoencoder(self, base_dataset):
        height, width, _ = datasets.input_shape(base_dataset)
        if height % 4 or width % 4:
            raise texts.said(ConfigError, "errors_training.autoencoder_sides", dataset=self.dataset, height=height,
                             width=width)
        if self.augment_rotate or self.augment_shift or self.augment_flip or self.augment_noise:
            raise texts.said(ConfigError, "errors_training.autoencoder_augment")


def _coerce(name, value, annotation):
    text = str(annotation)
    if value is None and "None" in text:
        return None
    if "bool" in text:
        if not isinstance(value, bool):
            raise texts.said(ConfigError, "errors_training.true_or_false", name=name, value=value)
        return value
    if "int" in text:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise texts.said(ConfigError, "errors_training.whole_number", name=name, value=value)
        return int(value)
    if "float" in text:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise texts.said(ConfigError, "errors_training.number", name=name, value=value)
        return float(value)
    if not isinstance(value, str):
        raise texts.said(ConfigError, "errors_training.text", name=name, value=value)
    return value


def _check_range(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise texts.said(ConfigError, "errors_training.number", name=name, value=value)
    if not low <= value <= high:
        raise texts.said(ConfigError, "errors_training.between", name=name, low=low, high=high, value=value)


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
    # A 2-number code, so the latent map is the model's own plane (no projection) and the walk
    # over it decodes every kind of digit; wider codes rebuild sharper images but need a projection.
    "mnist-autoencoder": TrainConfig(
        architecture="autoencoder", dataset="mnist", epochs=12, batch_size=128, lr_schedule="cosine",
        latent_dim=2, dropout=0.0, validation_fraction=0.05,
    ),
    # Global average pooling, not Flatten: the classic CNN stalled at 44% after 8 epochs (a
    # shape can be anywhere and a Flatten head learns each position apart), cnn-deep's Dense
    # layer alone is 4.6 MB at 64x64, and cnn-gap reached 96.8% validation accuracy in 4
    # epochs. Every shape is still a shape in a mirror, so flips are free data.
    "shapes-cnn": TrainConfig(
        architecture="cnn-gap", dataset="shapes", epochs=10, batch_size=64, learning_rate=2e-3, lr_schedule="cosine",
        dropout=0.2, augment_flip=True, validation_fraction=0.05,
    ),
}


def preset(name):
    """Returns a fresh copy of a named preset.

    Raises:
        ConfigError: for an unknown preset name.
    """
    if name not in PRESETS:
        raise texts.said(ConfigError, "errors_training.unknown_preset", value=name, choices=", ".join(PRESETS))
    return dataclasses.replace(PRESETS[name])
