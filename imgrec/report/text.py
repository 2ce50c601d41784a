"""Every word of the report in one language: `Words`, the report's catalog sections and its numbers in words.

The words live in `locales/<language>.toml` (`imgrec.texts`), in the sections `report`
(headings, labels, table headers), `report_text` (sentences with `{placeholders}`) and a few
families looked up by a value (`report_status`, `report_split`, `report_preprocessing`,
`explainers`, `verdicts`). The builders name each key literally (tests/test_i18n.py
finds every key in the code); numbers and dates are written the same way in every language. Texts are
plain; `report.markup` escapes them.

Example:

>>> words("zh-CN")("report.loss")
'损失（越低越好）'
>>> ENGLISH.percent(0.9912)
'99.1%'
"""

import dataclasses
import datetime

from imgrec import texts

# A run's status, a split, a preprocessing and an explainer's description, by their value in the code.
STATUSES = {"queued": "report_status.queued", "running": "report_status.running", "done": "report_status.done",
            "failed": "report_status.failed", "cancelled": "report_status.cancelled"}
SPLITS = {"test": "report_split.test", "validation": "report_split.validation", "train": "report_split.train"}
PREPROCESSING = {"mnist-digit": "report_preprocessing.mnist_digit", "fit": "report_preprocessing.fit",
                 "imagenet": "report_preprocessing.imagenet"}
METHODS = {"gradcam": "explainers.gradcam", "gradcam++": "explainers.gradcam_plus",
           "saliency": "explainers.saliency", "smoothgrad": "explainers.smoothgrad",
           "integrated-gradients": "explainers.integrated_gradients", "occlusion": "explainers.occlusion",
           "rollout": "explainers.rollout"}
VERDICTS = {"trustworthy": "verdicts.trustworthy", "partly": "verdicts.partly",
            "doubtful": "verdicts.doubtful", "untrustworthy": "verdicts.untrustworthy",
            "unclear": "verdicts.unclear"}


@dataclasses.dataclass(frozen=True)
class Words:
    """The report's words in one language: `words("report.key", name=value)` and the numbers in words."""

    catalog: texts.Texts = texts.ENGLISH  # The language's texts (`imgrec.texts`).

    @property
    def language(self):
        """The language's code, e.g. "zh-CN": the report's `<html lang>`."""
        return self.catalog.language

    def __call__(self, key, **values):
        """The text of a catalog key, its `{placeholders}` filled from `values`."""
        return self.catalog(key, **values)

    def class_name(self, name):
        """A class's name in this language where the catalog has one (Fashion-MNIST, CIFAR-10, shapes)."""
        return self.catalog.class_name(name)

    def _looked_up(self, keys, value, default=None):
        key = keys.get(value)
        return self(key) if key else (value if default is None else default)

    def status(self, status):
        """A run's status ("done", "failed"...) in words; an unknown one as it is."""
        return self._looked_up(STATUSES, status)

    def split(self, split):
        """A split's name ("test"...) in words; an unnamed one in words too."""
        return self._looked_up(SPLITS, split) if split else self("report_text.unnamed_split")

    def method_description(self, method, description):
        """What an explainer's heatmap shows, in this language; the explainer's own sentence when the catalog lacks it."""
        return self._looked_up(METHODS, method, description)

    # Numbers in words, the same in every language.

    def percent(self, value, decimals=1):
        """A fraction as a percentage, e.g. 0.9912 is "99.1%"; "-" when it is not a number."""
        return f"{value:.{decimals}%}" if isinstance(value, int | float) else self("report.none")

    def count(self, value):
        """A whole number with thousands separators, e.g. "10,000"; "-" when it is not a number."""
        return f"{value:,}" if isinstance(value, int | float) else self("report.none")

    def decimal(self, value, places=3):
        """A number to a fixed number of places, e.g. "0.987"; "-" when it is not a number."""
        return f"{value:.{places}f}" if isinstance(value, int | float) else self("report.none")

    def file_size(self, size):
        """A file size ("1.2 MB", "340 kB"); "-" for anything but a number."""
        if not isinstance(size, int | float):
            return self("report.none")
        return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"

    def seconds(self, value):
        return f"{value:,.1f} s" if isinstance(value, int | float) else self("report.none")

    def listed(self, names):
        return self("report_text.list_separator").join(str(name) for name in names)

    # Titles and the lines under them.

    def model_subtitle(self, summary, score):
        score = f"{score[:1].upper()}{score[1:]}"
        if summary:
            return self("report_text.model_subtitle", summary=summary, score=score)
        return self("report_text.model_subtitle_alone", score=score)

    def made_by(self, version, when=None):
        """The report's last line: what made it and when (UTC), and that it needs no network."""
        when = when or datetime.datetime.now(datetime.UTC)
        return self("report_text.made_by", version=version, date=f"{when:%Y-%m-%d}", time=f"{when:%H:%M}")

    def score(self, card):
        """A card's measured number in words: its accuracy, or an autoencoder's reconstruction error."""
        metrics = card.metrics
        split = self.split(metrics.split if metrics is not None else None)
        count = (self("report_text.score_count", n=self.count(metrics.n))
                 if metrics is not None and metrics.n is not None else "")
        if card.is_classifier:
            if card.accuracy is None:
                return self("report_text.accuracy_not_measured")
            return self("report_text.accuracy_score", accuracy=self.percent(card.accuracy), split=split, count=count)
        if card.reconstruction_mse is None:
            return self("report_text.reconstruction_not_measured")
        return self("report_text.reconstruction_score", mse=f"{card.reconstruction_mse:.4f}", split=split,
                    count=count)

    # The prediction.

    def what_the_model_reads(self, numbers, channels, kind):
        values = self("report_text.grey_levels") if channels == 1 else self("report_text.colour_values")
        return self("report_text.what_the_model_reads", numbers=self.count(numbers), values=values,
                    preprocessing=self._looked_up(PREPROCESSING, kind, self("report_text.resized")))

    def explanation_note(self, class_label, class_specific):
        same = "" if class_specific else self("report_text.explanation_same_for_every_class")
        return same + self("report_text.explanation_note", label=class_label)

    def verdict(self, check):
        """A trust check's verdict: in English `trust`'s own sentence, in another language the catalog's for its level."""
        key = VERDICTS.get(getattr(check, "level", None))
        if self.language == texts.DEFAULT or key is None:
            return check.verdict
        steps = check.randomization
        scrambled = self("verdicts.scrambled", correlation=f"{steps[-1].spearman:.2f}") if steps else ""
        return self(key, probability=self.percent(getattr(check, "probability", None), 0), scrambled=scrambled)

    def trust_areas(self, deletion, random_deletion, insertion, random_insertion):
        return self("report_text.trust_areas", deletion=f"{deletion:.2f}", random_deletion=f"{random_deletion:.2f}",
                    insertion=f"{insertion:.2f}", random_insertion=f"{random_insertion:.2f}")

    # The model card.

    def input_spec(self, shape, color_mode, value_range):
        size = " x ".join(str(size) for size in shape)
        values = (self("report_text.input_values", low=f"{value_range[0]:g}", high=f"{value_range[1]:g}")
                  if value_range else "")
        return self("report_text.input_spec", size=size, colour_mode=color_mode or self("report_text.unknown_colour_mode"),
                    values=values)

    def preprocessing(self, kind, invert, normalisation, resize):
        parts = [self._looked_up(PREPROCESSING, kind)]
        if invert == "auto":
            parts.append(self("report_text.inverted"))
        if resize:
            parts.append(self("report_text.resize_policy", policy=resize))
        if normalisation:
            parts.append(self("report_text.normalisation", normalisation=normalisation))
        return self("report_text.parts_separator").join(parts)

    def class_list(self, names, shown=20):
        names = [self.class_name(name) for name in names]
        more = self("report_text.class_list_more", count=self.count(len(names) - shown)) if len(names) > shown else ""
        return self("report_text.class_list", count=self.count(len(names)), names=self.listed(names[:shown]), more=more)

    def training_summary(self, config, seconds_taken, samples_per_second, train_samples, validation_samples):
        epochs = config.get("epochs")
        epoch_count = self("report_text.epoch_count_one" if epochs == 1 else "report_text.epoch_count", count=epochs)
        return self("report_text.training_summary", epochs=epoch_count, batch=config.get("batch_size"),
                    optimizer=config.get("optimizer"), learning_rate=f"{config.get('learning_rate'):g}",
                    dropout=config.get("dropout"), l2=f"{config.get('l2'):g}", train=self.count(train_samples),
                    validation=self.count(validation_samples), seconds=self.seconds(seconds_taken),
                    speed=self.count(round(samples_per_second or 0)))

    def weights_source(self, package, version, licence):
        return self("report_text.weights_source", package=package, version=version or "",
                    licence=licence or self("report_text.licence_not_recorded")).replace("  ", " ")

    def imported_from(self, file_name, size):
        return self("report_text.imported_from", file=file_name or self("report_text.a_file"),
                    size=self.file_size(size))

    def created(self, when, keras_version):
        by = self("report_text.created_with", version=keras_version) if keras_version else ""
        return self("report_text.created", when=when or self("report_text.unknown_time"), by=by)

    # A run.

    def headline_time(self, seconds_taken, samples_per_second):
        return self("report_text.headline_time", seconds=self.seconds(seconds_taken),
                    speed=self.count(round(samples_per_second or 0)))


ENGLISH = Words()


def words(language="en"):
    """Returns the report's `Words` in a language of `texts.LANGUAGES`.

    Raises:
        ValueError: for a language the catalogs do not have.
    """
    if language not in texts.LANGUAGES:
        raise ValueError(f"A report is written in {' or '.join(texts.LANGUAGES)}, not {language!r}.")
    return ENGLISH if language == texts.DEFAULT else Words(texts.Texts(language))
