"""The interface's catalogs (locales/*.toml): the same keys in both languages, each used by the code, each
placeholder in both, Chinese text that is Chinese, and every shipped dataset's class names in both."""

import ast
import pathlib
import re
import string

import pytest

from imgrec import datasets, texts
from pages._ui import i18n

REPO = pathlib.Path(__file__).resolve().parents[1]
CODE = [REPO / "streamlit_app.py", *sorted((REPO / "pages").rglob("*.py")), *sorted((REPO / "imgrec").rglob("*.py"))]
# Texts that read the same in Chinese: names, symbols and formats.
SAME_IN_BOTH = re.compile(r"^[^A-Za-z]*$|^[A-Za-z0-9+\-/ .:%(){}×x,]*$")
CLASS_LISTS = (datasets.FASHION_MNIST_CLASSES, datasets.SHAPES_CLASSES, datasets.CIFAR10_CLASSES)


def literals():
    """Every string constant of the app's code that looks like a catalog key ("section.key")."""
    sections = {key.split(".")[0] for key in i18n.catalog(i18n.DEFAULT)}
    found = set()
    for path in CODE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", node.value) and node.value.split(".")[0] in sections:
                found.add(node.value)
    return found


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    english, chinese = i18n.catalog("en"), i18n.catalog("zh-CN")
    assert sorted(set(english) - set(chinese)) == [], "missing from locales/zh-CN.toml"
    assert sorted(set(chinese) - set(english)) == [], "missing from locales/en.toml"


def test_every_key_the_code_names_is_in_the_catalog_and_every_key_is_used():
    english, named = i18n.catalog("en"), literals()
    assert sorted(named - set(english)) == [], "named in the code but not in locales/en.toml"
    unused = {key for key in english if not key.startswith(f"{i18n.CLASSES}.")} - named
    assert sorted(unused) == [], "in the catalogs but used by no code"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_placeholders_are_the_same_in_both_languages(language):
    english = i18n.catalog("en")
    for key, text in i18n.catalog(language).items():
        assert placeholders(text) == placeholders(english[key]), key


def test_chinese_text_is_translated():
    english = i18n.catalog("en")
    untranslated = [key for key, text in i18n.catalog("zh-CN").items()
                    if text == english[key] and not SAME_IN_BOTH.match(text)]
    assert untranslated == []


def test_every_class_of_the_shipped_datasets_has_a_name_in_both_languages_and_no_other():
    names = {name for classes in CLASS_LISTS for name in classes}
    for language in i18n.LANGUAGES:
        listed = {key.split(".", 1)[1] for key in i18n.catalog(language) if key.startswith(f"{i18n.CLASSES}.")}
        assert listed == names, language
    assert i18n.class_name("Sneaker") == "Sneaker"  # Outside the app: English.


def test_the_language_a_link_or_a_locale_names():
    assert [i18n.match(text) for text in ("zh-CN", "zh", "zh_TW", "ZH-cn", "en-GB", "en", "fr", "", None)] == \
           ["zh-CN", "zh-CN", "zh-CN", "zh-CN", "en", "en", None, None, None]


def test_a_refused_upload_says_its_sentence_in_english_and_carries_it_for_chinese():
    from imgrec import images

    cases = (b"", b"II*\x00" + bytes(40), b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"not an image at all")
    for data in cases:
        try:
            images.decode_image(data)
        except images.ImageError as error:
            assert str(error) == texts.ENGLISH(error.text_key, **error.text_values)
            assert re.search(r"[\u4e00-\u9fff]", texts.Texts("zh-CN")(error.text_key, **error.text_values))
        else:
            raise AssertionError(f"{data[:10]!r} was accepted")
    plain = texts.carried(ValueError, RuntimeError("no key"))
    assert str(plain) == "no key" and not hasattr(plain, "text_key")
