"""The words imgrec shows people, in English and Chinese: key-based catalogs read from `locales/<language>.toml`.

One file per language, a `[section]` table per page or figure family, `{name}` placeholders
filled by `str.format`; a teacher edits the files without touching code. The app picks the
language of each session (`pages/_ui/i18n.py`); figures and reports take a `Texts` and are
English by default, so code outside the app needs nothing. tests/test_i18n.py keeps the two
files in step: the same keys, the same placeholders, every key used by some code.
"""

import dataclasses
import functools
import pathlib
import tomllib

LOCALES_DIR = pathlib.Path(__file__).resolve().parents[1] / "locales"
LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"
CLASSES = "classes"  # The section of class names, keyed by their English name.


def _flatten(table, prefix=""):
    flat = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = str(value)
    return flat


@functools.cache
def catalog(language):
    """Every text of a language, `{"section.key": text}`, read once from `locales/<language>.toml`."""
    with open(LOCALES_DIR / f"{language}.toml", "rb") as file:
        return _flatten(tomllib.load(file))


@dataclasses.dataclass(frozen=True)
class Texts:
    """The texts of one language: `texts("section.key", name=value)` and `texts.class_name(name)`."""

    language: str = DEFAULT

    def __call__(self, key, **values):
        """The text of `key`, `{placeholders}` filled from `values`; English when this language lacks the key.

        A key missing from English raises KeyError: a bug in the code, which tests/test_i18n.py catches.
        """
        text = catalog(self.language).get(key)
        if text is None:
            text = catalog(DEFAULT)[key]
        return text.format(**values) if values else text

    def class_name(self, name):
        """A class's name in this language (Fashion-MNIST, CIFAR-10, shapes), or as it is (digits, ImageNet)."""
        return catalog(self.language).get(f"{CLASSES}.{name}", str(name))


ENGLISH = Texts(DEFAULT)


def said(error_class, key, **values):
    """An `error_class` exception whose message is the English text of `key`, carrying the key and values.

    For the sentences a user can cause (a bad upload or model file, a refused setting, search,
    run or quota; the `errors_*` sections): the app says them in the visitor's language from
    the same key (`pages/_ui/i18n.error_text`); everyone else reads the English.
    """
    error = error_class(ENGLISH(key, **values))
    error.text_key, error.text_values = key, values
    return error


def carried(error_class, error):
    """`said` again with another exception's key and values (or its message, when it has no key)."""
    key = getattr(error, "text_key", None)
    return said(error_class, key, **error.text_values) if key else error_class(str(error))
