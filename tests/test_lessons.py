"""The lesson files of /learn: every one loads, every text is in both languages, and every link opens a page
with parameters that page restores, on a model and a sample this repository ships."""

import pathlib
import re

import pytest

from imgrec import datasets, registry
from pages._ui import lessons

REPO = pathlib.Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def listing():
    loaded, problems = lessons.load_lessons()
    assert problems == []
    return loaded


def all_steps(listing):
    return [(lesson, number, step) for lesson in listing for number, step in enumerate(lesson.steps, start=1)]


def test_the_seven_lessons_follow_the_seeds_path(listing):
    assert [lesson.id for lesson in listing] == ["pixels", "convolution", "pooling", "learning", "sequences",
                                                 "attention", "your-own"]
    assert all(len(lesson.steps) >= 4 for lesson in listing)


def test_every_text_is_in_english_and_in_chinese(listing):
    texts = [lesson.title for lesson in listing] + [lesson.summary for lesson in listing]
    texts += [text for _, _, step in all_steps(listing) for text in (step.title, step.text)]
    for text in texts:
        assert set(text) == set(lessons.LANGUAGES), text
        assert CJK.search(text["zh-CN"]), text  # Not the English copied over.
        assert not CJK.search(text["en"]), text


def _names_read(script, seen=None):
    """The link parameters a page's code reads or writes back (pages/_ui/links.py), following its pages._ui imports."""
    seen = set() if seen is None else seen
    if script in seen:
        return set()
    seen.add(script)
    source = (REPO / script).read_text(encoding="utf-8")
    names = set(re.findall(r"links\.(?:choice|number|requested|unused)\(\s*\"(\w+)\"", source))
    # Feature maps reads row and col in a loop over the names; every page writes back what it restores.
    for written in re.findall(r"links\.write\(([^)]*)\)", source):
        names |= set(re.findall(r"(\w+)=", written))
    for group in re.findall(r"from pages\._ui import \(?([\w,\s]+)\)?", source):
        for module in re.findall(r"\w+", group):
            if (REPO / "pages" / "_ui" / f"{module}.py").exists():
                names |= _names_read(f"pages/_ui/{module}.py", seen)
    return names


@pytest.mark.parametrize("page", list(lessons.PAGES))
def test_each_page_reads_every_parameter_the_lessons_may_set(page):
    # A parameter in the table that the page never reads would be dropped in silence.
    assert set(lessons.PAGES[page].parameters) <= _names_read(lessons.PAGES[page].script)
    assert lessons.PAGES[page].script in (REPO / "streamlit_app.py").read_text(encoding="utf-8")


def test_every_link_names_a_shipped_model_and_an_installed_sample(listing, monkeypatch):
    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)  # The repository's own models/.
    shipped = {card.name for card in registry.list_models() if registry.is_protected(card)}
    samples = {sample.id for sample in datasets.samples()}
    for lesson, number, step in all_steps(listing):
        if "model" in step.link:
            assert step.link["model"] in shipped, (lesson.id, number)
        if "sample" in step.link:
            assert step.link["sample"] in samples, (lesson.id, number)
    assert any(step.page for _, _, step in all_steps(listing))


def write(folder, text):
    path = folder / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_STEP = '[[steps]]\npage = "predict"\nlink = { model = "mnist-cnn" }\ntitle = { en = "T", zh-CN = "题" }\n'


@pytest.mark.parametrize(("text", "said"), [
    ('title = { en = "A" }\nsummary = { en = "S", zh-CN = "概" }\n' + GOOD_STEP + 'text = { en = "x", zh-CN = "文" }',
     "lessons/broken.toml's title has no text in zh-CN; add it."),
    ('title = { en = "A", zh-CN = "甲" }\nsummary = { en = "S", zh-CN = "概" }\n' + GOOD_STEP + 'text = { en = "x" }',
     "lessons/broken.toml, step 1's text has no text in zh-CN; add it."),
    ('title = { en = "A", zh-CN = "甲" }\nsummary = { en = "S", zh-CN = "概" }\n'
     + GOOD_STEP.replace('"predict"', '"gallery"') + 'text = { en = "x", zh-CN = "文" }',
     "lessons/broken.toml, step 1 opens page 'gallery', but the pages are predict, feature-maps, attention, train, "
     "models."),
    ('title = { en = "A", zh-CN = "甲" }\nsummary = { en = "S", zh-CN = "概" }\n'
     + GOOD_STEP.replace('model = ', 'colour = ') + 'text = { en = "x", zh-CN = "文" }',
     "lessons/broken.toml, step 1 links to predict with 'colour', but that page knows model, sample, class, method, "
     "layer, opacity, cmap."),
    ('title = { en = "A", zh-CN = "甲" }\nsummary = { en = "S", zh-CN = "概" }\n',
     "lessons/broken.toml has no steps; add at least one [[steps]] table."),
    ('title = "A\n', "lessons/broken.toml cannot be read as TOML"),
])
def test_a_broken_lesson_is_named_in_one_sentence_and_the_others_still_load(tmp_path, text, said):
    write(tmp_path, text)
    (tmp_path / "fine.toml").write_text((REPO / "lessons" / "pixels.toml").read_text(encoding="utf-8"), encoding="utf-8")
    loaded, problems = lessons.load_lessons(tmp_path)
    assert [lesson.id for lesson in loaded] == ["fine"]
    [problem] = problems
    assert problem.startswith(said), problem


def test_a_language_missing_from_a_text_falls_back_to_english():
    assert lessons.in_language({"en": "Pooling", "zh-CN": "池化"}, "zh-CN") == "池化"
    assert lessons.in_language({"en": "Pooling"}, "fr") == "Pooling"
