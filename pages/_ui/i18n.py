"""The interface's two languages: key-based catalogs a teacher edits, the session's language, and the switch.

Every text a page shows comes from `t("section.key", **values)`, looked up in
`locales/<language>.toml` through `imgrec.texts` (one file per language, a `[section]` table per
page, `{name}` placeholders filled by `str.format`); a figure from `imgrec.figures` takes
`texts_now()`, the same texts as an object. tests/test_i18n.py fails on a key missing from either
file, a key no code uses, or a placeholder one language lacks; tests/app/test_languages.py
opens every page in Chinese and fails on English sentences left in it.

The language is, in this order: a link's `?lang=en|zh-CN` (it travels in shared links: every
page writes it back while it is not English), the visitor's choice in the sidebar's switch,
then the browser's locale (`st.context.locale`: any `zh*` reads Chinese), then English.

Not translated, by choice: Streamlit's own widget texts ("Browse files", "Drag and drop file
here"), which Streamlit renders in English; the 1,000 ImageNet class names (no openly licensed
Chinese list ships offline; see the README); names of models, layers, files and methods.
"""

import streamlit as st

from imgrec import texts

LANGUAGES = texts.LANGUAGES
DEFAULT = texts.DEFAULT
NAMES = {"en": "English", "zh-CN": "中文"}  # Each in its own language, as the switch shows them.
PARAMETER = "lang"
CLASSES = texts.CLASSES
catalog = texts.catalog
_CURRENT = "i18n-language"  # The language of this run, set by `begin`.
_CHOSEN = "i18n-chosen"  # The language a link or the switch chose for this session.


def match(text):
    """The language a link's value or a browser's locale names ("zh", "zh-cn", "zh_TW", "en-GB"), or None."""
    text = (text or "").strip().lower().replace("_", "-")
    if text.startswith("zh"):
        return "zh-CN"
    if text.startswith("en"):
        return DEFAULT
    return None


def begin():
    """Decides this run's language (link, then the switch's choice, then the browser's locale); returns it.

    The app's entry script calls it first, before the menu's titles are drawn.
    """
    found = named(st.query_params.get(PARAMETER))
    if found is not None:
        st.session_state[_CHOSEN] = found
    language = st.session_state.get(_CHOSEN)
    if language is None:
        try:
            language = match(st.context.locale)
        except Exception:  # noqa: BLE001 - No browser behind this run (a bare or test run): no locale to read.
            language = None
    st.session_state[_CURRENT] = language or DEFAULT
    return st.session_state[_CURRENT]


def language():
    """This run's language (`begin` decided it; English outside the app)."""
    return st.session_state.get(_CURRENT, DEFAULT) if st.runtime.exists() else DEFAULT


def texts_now():
    """This run's `imgrec.texts.Texts`: what the figures and reports the page builds take."""
    return texts.Texts(language())


def t(key, **values):
    """The text of `key` in this run's language, its `{placeholders}` filled from `values` (see `imgrec.texts`)."""
    return texts.Texts(language())(key, **values)


def class_name(name):
    """A class's name in this run's language (Fashion-MNIST, CIFAR-10, shapes), or as it is (digits, ImageNet)."""
    return texts.Texts(language()).class_name(name)


def error_text(error):
    """The sentence of an error raised by `imgrec` in this run's language.

    An error made by `imgrec.texts.said` (the `errors_*` sections) is said from its key; any other is
    English, introduced in this run's language when that is not English.
    """
    if language() == DEFAULT:
        return str(error)
    key = getattr(error, "text_key", None)
    if key is not None:
        return t(key, **error.text_values)
    return t("common.error_in_english", detail=str(error))


def choose(chosen):
    """Makes `chosen` the session's language from this run on (the switch calls it)."""
    st.session_state[_CHOSEN] = st.session_state[_CURRENT] = chosen


def named(value):
    """The language a link's `?lang=` value names ("en", "zh-CN", "zh", any case), or None."""
    text = (value or "").strip().lower()
    return match(text) if text in ("en", "zh", "zh-cn") else None


def keep(parameters):
    """The parameters of a link the app shows, with `lang` added while the session reads Chinese."""
    return dict(parameters) if language() == DEFAULT else {**parameters, PARAMETER: language()}
