"""Learn: guided lessons, one short step at a time, each step a link into the live page that shows it."""

import streamlit as st

from pages._ui import lessons, links, navigation, presenter

# The language names as the switch shows them, each in its own language.
LANGUAGE_NAMES = {"en": "English", "zh-CN": "中文"}
# Session keys that outlive the page (Streamlit forgets a widget's key while its page is not shown, and a
# visitor comes back from the page a step opened through the menu): the lesson, the step, the language
# and the steps opened. The widgets have keys of their own, set from these each run.
_LESSON, _STEP, _LANGUAGE, _SEEN = "learn-lesson-id", "learn-step", "learn-language-code", "learn-seen"


def language_ui():
    """The language of the lessons' text (`?lang=en|zh-CN`, English by default); returns its code."""
    if st.session_state.get(_LANGUAGE) not in lessons.LANGUAGES:
        st.session_state[_LANGUAGE] = lessons.DEFAULT_LANGUAGE
    asked = links.choice("lang", lessons.LANGUAGES, problem=f"lessons are written in {', '.join(lessons.LANGUAGES)}",
                         instead=LANGUAGE_NAMES[st.session_state[_LANGUAGE]])
    if asked is not None:
        st.session_state[_LANGUAGE] = asked
    st.session_state["learn-language"] = st.session_state[_LANGUAGE]
    language = st.sidebar.radio("Lesson language", lessons.LANGUAGES, format_func=LANGUAGE_NAMES.get,
                                key="learn-language", horizontal=True, on_change=_remember_language)
    links.write(lang=None if language == lessons.DEFAULT_LANGUAGE else language)
    return language


def _remember_language():
    st.session_state[_LANGUAGE] = st.session_state["learn-language"]


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
    asked = links.choice("lesson", list(by_id), problem=f"the lessons are {', '.join(by_id)}",
                         instead=f"the lesson '{by_id[st.session_state[_LESSON]].id}'")
    if asked is not None and asked != st.session_state[_LESSON]:
        st.session_state[_LESSON], st.session_state[_STEP] = asked, 1

    st.session_state["learn-lesson"] = st.session_state[_LESSON]
    chosen = st.selectbox("Lesson", list(by_id), key="learn-lesson", on_change=_start_lesson,
                          format_func=lambda item: f"{listing.index(by_id[item]) + 1}. "
                                                   f"{lessons.in_language(by_id[item].title, language)}")
    return by_id[chosen]


def step_ui(lesson):
    """Restores `?step=N` (1-based); returns the step number to show."""
    count = len(lesson.steps)
    if not 1 <= st.session_state.get(_STEP, 1) <= count:
        st.session_state[_STEP] = 1
    asked = links.number("step", 1, count, integer=True, instead=f"step {st.session_state[_STEP]}",
                         what=f"this lesson has steps 1 to {count}")
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
        st.markdown(f"**Steps** ({seen_count(lesson)} of {len(lesson.steps)} opened)")
        for index, step in enumerate(lesson.steps, start=1):
            icon = (":material/arrow_right:" if index == number else
                    ":material/check_circle:" if (lesson.id, index) in seen else ":material/radio_button_unchecked:")
            st.button(f"{index}. {lessons.in_language(step.title, language)}", key=f"learn-contents-{index}",
                      icon=icon, type="tertiary", on_click=_go_to, args=(index,), disabled=index == number)


def step_view(lesson, number, language):
    """The step's text, the link into the page it shows, and back and next."""
    step, count = lesson.steps[number - 1], len(lesson.steps)
    st.progress(number / count, text=f"Step {number} of {count}")
    st.subheader(lessons.in_language(step.title, language))
    st.markdown(lessons.in_language(step.text, language))
    if step.page is not None:
        page = lessons.PAGES[step.page]
        with st.container(border=True):
            st.page_link(page.script, label=f"Open this view on {page.title}", icon=page.icon,
                         query_params=presenter.keep(step.link))
            if step.link:
                st.caption("The link sets " + ", ".join(f"{name} **{value}**" for name, value in step.link.items())
                           + ". Come back to this step through **Learn** in the menu.")
    back, _, forward = st.columns([1, 3, 1])
    back.button("Back", icon=":material/arrow_back:", key="learn-back", on_click=_move, args=(-1,),
                disabled=number == 1, width="stretch")
    forward.button("Next", icon=":material/arrow_forward:", key="learn-next", on_click=_move, args=(1,),
                   disabled=number == count, width="stretch")


def main():
    st.title("Learn")
    links.begin("learn")
    presenter.apply()
    st.markdown("Guided lessons through the live pages, one short step at a time. Each step opens the page that "
                "shows it, already set to the right model, image and layer: read, open, look, come back, go on.")
    listing, problems = lessons.load_lessons()
    for problem in problems:
        st.error(problem, icon=":material/error:")
    if not listing:
        st.info("There are no lessons on this server: add TOML files to the lessons/ folder.", icon=":material/info:")
        return
    language = language_ui()
    lesson = lesson_ui(listing, language)
    st.caption(lessons.in_language(lesson.summary, language))
    number = step_ui(lesson)
    contents(lesson, number, language)
    step_view(lesson, number, language)


navigation.run_inside_navigation()
main()
