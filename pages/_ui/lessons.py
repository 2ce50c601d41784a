"""The lessons of /learn: one TOML file per lesson in `lessons/`, read and checked, each step a link into a page.

Lessons are data a teacher edits without touching code: a title, a summary and steps, each
text in every language of `LANGUAGES`; a step may open a page (`page`) with a link that
presets its view (`link`, the parameters that page restores through `pages/_ui/links.py`).
A file that breaks these rules is reported in one sentence and left out; the others still load.
"""

import dataclasses
import pathlib
import tomllib

from pages._ui import i18n

LESSONS_DIR = pathlib.Path(__file__).resolve().parents[2] / "lessons"
LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.DEFAULT


@dataclasses.dataclass(frozen=True)
class Page:
    """A page a step can open."""

    script: str  # The page's script, as st.page_link names it.
    title: str  # The catalog key of the page's title in the menu (pages/_ui/i18n.py).
    icon: str  # Its menu icon.
    parameters: tuple[str, ...]  # The link parameters the page restores (pages/_ui/links.py).


# The link parameters are the names each page passes to `links.choice`, `links.number` or
# `links.requested`; tests/test_lessons.py opens every step's link to check each one is restored.
PAGES = {
    "predict": Page("pages/predict.py", "nav.predict", ":material/image_search:",
                    ("model", "sample", "class", "method", "layer", "opacity", "cmap")),
    "feature-maps": Page("pages/feature_maps.py", "nav.feature_maps", ":material/grid_view:",
                         ("model", "sample", "layer", "channel", "row", "col", "scale")),
    "attention": Page("pages/attention.py", "nav.attention", ":material/visibility:",
                      ("model", "sample", "layer", "head", "query", "fusion", "discard", "cmap")),
    "train": Page("pages/train.py", "nav.train", ":material/model_training:", ("run", "tab")),
    "models": Page("pages/models.py", "nav.models", ":material/inventory_2:", ("model", "tab")),
}


class LessonError(ValueError):
    """A lesson file that cannot be used, in one sentence that names the file and what to fix."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a lesson: a short text, and the page view it opens (if any)."""

    title: dict[str, str]  # {language: the step's title}.
    text: dict[str, str]  # {language: the step's text, Markdown}.
    page: str | None  # A key of PAGES, or None for a step of text only.
    link: dict[str, str]  # The parameters of the link into the page, as text.


@dataclasses.dataclass(frozen=True)
class Lesson:
    """A lesson: its id (the file's name), its place in the list, its title, summary and steps."""

    id: str
    order: int  # Lessons are listed by this number, then by id.
    title: dict[str, str]
    summary: dict[str, str]
    steps: tuple[Step, ...]


def in_language(texts, language):
    """The text of `texts` ({language: text}) in `language`, or in English when that language has none."""
    return texts.get(language) or texts[DEFAULT_LANGUAGE]


def _texts(value, where):
    """Checks a table of texts has a non-empty text in every language; returns it as a dict."""
    if not isinstance(value, dict):
        raise LessonError(f"{where} must be a table with one text per language ({', '.join(LANGUAGES)}).")
    missing = [language for language in LANGUAGES if not str(value.get(language) or "").strip()]
    if missing:
        raise LessonError(f"{where} has no text in {', '.join(missing)}; add it.")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise LessonError(f"{where} has a text in {', '.join(unknown)}, but lessons are written in "
                          f"{', '.join(LANGUAGES)}; rename or remove it.")
    return {language: str(value[language]).strip() for language in LANGUAGES}


def _step(value, where):
    if not isinstance(value, dict):
        raise LessonError(f"{where} must be a table ([[steps]]).")
    unknown = sorted(set(value) - {"title", "text", "page", "link"})
    if unknown:
        raise LessonError(f"{where} has keys {', '.join(unknown)}; a step has title, text, page and link.")
    page, link = value.get("page"), value.get("link", {})
    if page is not None and page not in PAGES:
        raise LessonError(f"{where} opens page '{page}', but the pages are {', '.join(PAGES)}.")
    if not isinstance(link, dict) or (link and page is None):
        raise LessonError(f"{where} has a link but no page, or a link that is not a table; give both or neither.")
    for name, parameter in link.items():
        if name not in PAGES[page].parameters:
            raise LessonError(f"{where} links to {page} with '{name}', but that page knows "
                              f"{', '.join(PAGES[page].parameters)}.")
        if not isinstance(parameter, str | int | float) or isinstance(parameter, bool):
            raise LessonError(f"{where}: the link's '{name}' must be a text or a number.")
    return Step(title=_texts(value.get("title"), f"{where}'s title"), text=_texts(value.get("text"), f"{where}'s text"),
                page=page, link={name: str(parameter) for name, parameter in link.items()})


def load_lesson(path):
    """Reads and checks one lesson file.

    Args:
        path: the lesson's TOML file; its name without `.toml` is the lesson's id.

    Returns:
        The `Lesson`.

    Raises:
        LessonError: the file is not TOML, or a text, page or link parameter is missing or unknown.
    """
    path = pathlib.Path(path)
    where = f"lessons/{path.name}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LessonError(f"{where} cannot be read as TOML ({error}); fix the file.") from error
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise LessonError(f"{where} has no steps; add at least one [[steps]] table.")
    order = data.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool):
        raise LessonError(f"{where}: order must be a whole number.")
    return Lesson(
        id=path.stem, order=order, title=_texts(data.get("title"), f"{where}'s title"),
        summary=_texts(data.get("summary"), f"{where}'s summary"),
        steps=tuple(_step(step, f"{where}, step {number}") for number, step in enumerate(steps, start=1)),
    )


def load_lessons(folder=LESSONS_DIR):
    """Reads every lesson of a folder, in their order.

    Args:
        folder: where the `*.toml` files are. Defaults to the repository's `lessons/`.

    Returns:
        (lessons, problems): the lessons that loaded, sorted by order then id, and one sentence
        for each file that did not.
    """
    loaded, problems = [], []
    for path in sorted(pathlib.Path(folder).glob("*.toml")):
        try:
            loaded.append(load_lesson(path))
        except LessonError as error:
            problems.append(str(error))
    return sorted(loaded, key=lambda lesson: (lesson.order, lesson.id)), problems
