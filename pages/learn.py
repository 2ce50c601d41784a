"""Learn: guided lessons, one short step at a time, each step a link into the live page that shows it."""

import streamlit as st

from pages._ui import i18n, lessons, links, navigation, presenter
from pages._ui.i18n import t

# Session keys that outlive the page (Streamlit forgets a widget's key while its page is not shown, and a
# visitor comes back from the page a step opened through the menu): the lesson, the step and the steps
# opened. The widgets have keys of their own, set from these each run.
_LESSON, _STEP, _SEEN = "learn-lesson-id", "learn-step", "learn-seen"


def _start_lesson():
    st.session_state[_LESSON], st.session_state[_STEP] = st.session_state["learn-lesson"], 1


def _move(steps):
    st.session_state[_STEP] += steps


def _go_to(step):
    st.session_state[_STEP] = step


def seen_count(lesson):
    """How many of a lesson's steps this visitor has opened."""
    seen = st.session_state.get(_SEEN, set())
    return sum((lesson.id, number) in seen for number in range(1, len(lesson.steps) + 1))


def lesson_ui(listing, language):
    """The lesson picker (`?lesson=ID`); returns the chosen lesson."""
    by_id = {lesson.id: lesson for lesson in listing}
    if st.session_state.get(_LESSON) not in by_id:
        st.session_state[_LESSON], st.session_state[_STEP] = listing[0].id, 1
    asked = links.choice("lesson", list(by_id), problem=t("learn.lesson_refused", lessons=", ".join(by_id)),
                         instead=t("learn.lesson_instead", lesson=by_id[st.session_state[_LESSON]].id))
    if asked is not None and asked != st.session_state[_LESSON]:
        st.session_state[_LESSON], st.session_state[_STEP] = asked, 1

    st.session_state["learn-lesson"] = st.session_state[_LESSON]
    chosen = st.selectbox(t("learn.lesson"), list(by_id), key="learn-lesson", on_change=_start_lesson,
                          format_func=lambda item: f"{listing.index(by_id[item]) + 1}. "
                                                   f"{lessons.in_language(by_id[item].title, language)}")
    return by_id[chosen]


def step_ui(lesson):
    """Restores `?step=N` (1-based); returns the step number to show."""
    count = len(lesson.steps)
    if not 1 <= st.session_state.get(_STEP, 1) <= count:
        st.session_state[_STEP] = 1
    asked = links.number("step", 1, count, integer=True, instead=t("learn.step_instead", step=st.session_state[_STEP]),
                         what=t("learn.step_refused", count=count))
    if asked is not None:
        st.session_state[_STEP] = asked
    number = st.session_state[_STEP]
    st.session_state.setdefault(_SEEN, set()).add((lesson.id, number))
    links.write(lesson=lesson.id, step=number)
    return number


def contents(lesson, number, language):
    """Every step of the lesson in the sidebar, the current one marked and the opened ones ticked; a click jumps."""
    seen = st.session_state.get(_SEEN, set())
    with st.sidebar:
        st.markdown(t("learn.steps_opened", seen=seen_count(lesson), count=len(lesson.steps)))
        for index, step in enumerate(lesson.steps, start=1):
            icon = (":material/arrow_right:" if index == number else
                    ":material/check_circle:" if (lesson.id, index) in seen else ":material/radio_button_unchecked:")
            st.button(f"{index}. {lessons.in_language(step.title, language)}", key=f"learn-contents-{index}",
                      icon=icon, type="tertiary", on_click=_go_to, args=(index,), disabled=index == number)


def step_view(lesson, number, language):
    """The step's text, the link into the page it shows, and back and next."""
    step, count = lesson.steps[number - 1], len(lesson.steps)
    st.progress(number / count, text=t("learn.step_of", number=number, count=count))
    st.subheader(lessons.in_language(step.title, language))
    st.markdown(lessons.in_language(step.text, language))
    if step.page is not None:
        page = lessons.PAGES[step.page]
        with st.container(border=True):
            st.page_link(page.script, label=t("learn.open_view", page=t(page.title)), icon=page.icon,
                         query_params=presenter.keep(step.link))
            if step.link:
                st.caption(t("learn.link_sets", settings=", ".join(f"{name} **{value}**"
                                                                   for name, value in step.link.items())))
    back, _, forward = st.columns([1, 3, 1])
    back.button(t("learn.back"), icon=":material/arrow_back:", key="learn-back", on_click=_move, args=(-1,),
                disabled=number == 1, width="stretch")
    forward.button(t("learn.next"), icon=":material/arrow_forward:", key="learn-next", on_click=_move, args=(1,),
                   disabled=number == count, width="stretch")


def main():
    st.title(t("nav.learn"))
    links.begin("learn")
    presenter.apply()
    st.markdown(t("learn.intro"))
    listing, problems = lessons.load_lessons()
    for problem in problems:
        st.error(problem, icon=":material/error:")
    if not listing:
        st.info(t("learn.no_lessons"), icon=":material/info:")
        return
    language = i18n.language()
    lesson = lesson_ui(listing, language)
    st.caption(lessons.in_language(lesson.summary, language))
    number = step_ui(lesson)
    contents(lesson, number, language)
    step_view(lesson, number, language)


navigation.run_inside_navigation()
main()
