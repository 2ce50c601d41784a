"""The /learn page through AppTest: every step of every lesson renders, back and next, progress, deep links
(`?lesson=ID&step=N`), the lesson text in the language `?lang=` asks for, and links into the pages."""

import urllib.parse

import pytest

from pages._ui import lessons
from tests.app.conftest import REPO, TIMEOUT
from tests.support.apptest import open_page

pytestmark = pytest.mark.filterwarnings("ignore")
LISTING = lessons.load_lessons()[0]


def fresh():
    """Another browser: a new AppTest of the whole app (the `app` fixture's registry stays set)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)


def address(at):
    return {name: value[-1] if isinstance(value, list) else value for name, value in at.query_params.items()}


def progress(at):
    """The progress bar's text, e.g. "Step 2 of 5"."""
    [bar] = at.get("progress")
    return bar.proto.text


def step_link(at):
    """The link into a page the step shows: (the page's address, its parameters), or None for a step of text only."""
    links = [element.proto for element in at.get("page_link")]
    if not links:
        return None
    [link] = links
    return link.page, dict(urllib.parse.parse_qsl(link.query_string))


def shows(at, text):
    return any(text in block.value for block in at.markdown)


def test_every_step_of_every_lesson_renders_and_next_walks_through_them(app):
    at = open_page(app, "pages/learn.py")
    for lesson in LISTING:
        at.selectbox(key="learn-lesson").set_value(lesson.id).run()
        for number, step in enumerate(lesson.steps, start=1):
            assert not at.exception, (lesson.id, number)
            assert progress(at) == f"Step {number} of {len(lesson.steps)}"
            assert address(at) == {"lesson": lesson.id, "step": str(number)}
            assert at.subheader[-1].value == step.title["en"]
            assert shows(at, step.text["en"][:40])
            if step.page is None:
                assert step_link(at) is None
            else:
                assert step_link(at) == (step.page, step.link)  # The page by its address, as the menu names it.
            assert at.button(key="learn-next").disabled == (number == len(lesson.steps))
            if number < len(lesson.steps):
                at.button(key="learn-next").click().run()


def test_back_goes_one_step_back_and_is_off_on_the_first_step(app):
    at = open_page(app, "pages/learn.py", lesson="pooling", step="3")
    assert progress(at) == "Step 3 of 6" and not at.warning
    at.button(key="learn-back").click().run()
    assert progress(at) == "Step 2 of 6" and address(at)["step"] == "2"
    at.button(key="learn-back").click().run()
    assert at.button(key="learn-back").disabled


def test_a_deep_link_opens_its_lesson_and_step_and_the_contents_tick_the_steps_seen(app):
    at = open_page(app, "pages/learn.py", lesson="attention", step="4")
    lesson = next(lesson for lesson in LISTING if lesson.id == "attention")
    assert at.selectbox(key="learn-lesson").value == "attention"
    assert at.subheader[-1].value == lesson.steps[3].title["en"]
    assert step_link(at) == ("attention", {"model": "mnist-vit", "sample": "mnist-00", "query": "class",
                                                    "layer": "4", "head": "mean"})
    at.button(key="learn-contents-2").click().run()
    assert progress(at) == "Step 2 of 6"
    # Steps 4 and 2 have been opened: the contents count them and tick them.
    assert any(block.value == "**Steps** (2 of 6 opened)" for block in at.sidebar.markdown)
    assert at.button(key="learn-contents-4").proto.icon == ":material/check_circle:"
    assert at.button(key="learn-contents-5").proto.icon == ":material/radio_button_unchecked:"


def test_choosing_another_lesson_starts_it_at_step_one(app):
    at = open_page(app, "pages/learn.py", lesson="learning", step="5")
    at.selectbox(key="learn-lesson").set_value("sequences").run()
    assert address(at) == {"lesson": "sequences", "step": "1"}


def test_lang_shows_the_lesson_text_in_chinese_and_travels_in_the_address(app):
    at = open_page(app, "pages/learn.py", lesson="pixels", step="1", lang="zh-CN")
    lesson = LISTING[0]
    assert at.subheader[-1].value == lesson.steps[0].title["zh-CN"]
    assert shows(at, lesson.steps[0].text["zh-CN"][:20])
    assert address(at)["lang"] == "zh-CN" and not at.warning
    at.radio(key="i18n-switch").set_value("en").run()
    assert at.subheader[-1].value == lesson.steps[0].title["en"] and "lang" not in address(at)


def test_a_link_to_a_lesson_or_step_that_does_not_exist_is_named_in_a_sentence(app):
    at = open_page(app, "pages/learn.py", lesson="astrology", step="1")
    [said] = [warning.value.replace("\\", "") for warning in at.warning]
    assert said.startswith("The link asked for lesson 'astrology', but the lessons are pixels, convolution")
    assert address(at)["lesson"] == "pixels"
    at = open_page(fresh(), "pages/learn.py", lesson="pixels", step="9")
    said = [warning.value.replace("\\", "") for warning in at.warning]
    assert any(text.startswith("The link asked for step '9', but this lesson has steps 1 to 5") for text in said)
    at = open_page(fresh(), None, lang="fr")  # The language is the app's: the page the link opens says so.
    said = [warning.value.replace("\\", "") for warning in at.warning]
    assert said == ["The link asked for lang 'fr', but the interface speaks en, zh-CN; it shows English instead."]
    assert "lang" not in address(at)


def test_coming_back_through_the_menu_finds_the_same_lesson_step_and_language(app):
    at = open_page(app, "pages/learn.py", lesson="attention", step="3", lang="zh-CN")
    at.query_params.clear()  # The menu's links carry no parameters.
    at.switch_page("pages/predict.py").run()
    at.query_params.clear()
    at.switch_page("pages/learn.py").run()
    assert address(at) == {"lesson": "attention", "step": "3", "lang": "zh-CN"}
    assert at.subheader[-1].value == LISTING[5].steps[2].title["zh-CN"]
