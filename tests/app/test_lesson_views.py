"""Each lesson step opens the view it promises: its link, on the shipped models, restores every parameter,
with no exception and no sentence about a value the page could not show."""

import pytest

from pages._ui import lessons
from tests.app.conftest import REPO, TIMEOUT
from tests.support.apptest import open_page

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]
STEPS = [(lesson, number, step) for lesson in lessons.load_lessons()[0]
         for number, step in enumerate(lesson.steps, start=1) if step.page is not None]


@pytest.fixture
def shipped_app(tmp_path, monkeypatch):
    """An AppTest of the whole app over the repository's own models (runs go to an empty folder)."""
    from streamlit.testing.v1 import AppTest

    from pages._ui import models

    monkeypatch.delenv("IMGREC_MODELS_DIR", raising=False)
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    models.model_cards.clear()
    yield AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    models.model_cards.clear()


@pytest.mark.parametrize(("lesson", "number", "step"), STEPS, ids=[f"{lesson.id}-{number}" for lesson, number, _ in STEPS])
def test_the_step_opens_the_view_it_promises(shipped_app, lesson, number, step):
    at = open_page(shipped_app, lessons.PAGES[step.page].script, **step.link)
    assert not at.error, [block.value for block in at.error]
    assert not at.warning, [block.value for block in at.warning]
    shown = {name: value[-1] if isinstance(value, list) else value for name, value in at.query_params.items()}
    for name, value in step.link.items():
        # The page wrote back what it shows: the value asked for (a number in the page's own spelling).
        assert shown.get(name) in (value, f"{float(value):.2f}" if name in ("opacity", "discard") else value), name
