"""Driving an AppTest of the whole app: opening a page as a link would, the Plotly figures it drew, clicking a chart.

AppTest (Streamlit 1.67) cannot click a chart. A chart made with `on_select="rerun"` is a
widget whose value is the selection as JSON; the browser sends it in the next run's widget
states under the chart's element id. `select_in_chart` sends the same thing.
"""

import json
import re


def open_page(app, page, **query):
    """Runs the app with `query` in its address, then switches to `page` (None: stays home); fails on an exception.

    The address is kept through the switch, as a shared link keeps it.
    """
    app.query_params.update(query)
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def chart(at, key):
    """Returns the chart element (Plotly or Vega-Lite) whose widget key is `key`."""
    found = [element for kind in ("plotly_chart", "arrow_vega_lite_chart", "vega_lite_chart")
             for element in at.get(kind) if element.proto.id.endswith(f"-{key}")]
    if len(found) != 1:
        raise LookupError(f"Expected one chart with key {key!r}, found {len(found)}.")
    return found[0]


def select_in_chart(at, key, selection):
    """Reruns the app as if a visitor had selected points in the chart with widget key `key`.

    Args:
        at: an `AppTest` that has run.
        key: the chart's `key`.
        selection: what the browser sends under "selection": for a Plotly chart
            `{"points": [{"x": ..., "y": ...}], "point_indices": [...], "box": [], "lasso": []}`;
            for a Vega-Lite chart `{"PARAMETER": [{"FIELD": value}]}`.

    Returns:
        The `AppTest`, run.
    """
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    element = chart(at, key)
    states = at._tree.get_widget_states()
    state = WidgetState(id=element.proto.id)
    state.string_value = json.dumps({"selection": selection})
    states.widgets.append(state)
    return at._run(states)


def plotly_click(x, y):
    """The selection a click on one Plotly point at (x, y) sends."""
    return {"points": [{"x": x, "y": y, "curve_number": 1, "point_number": 0, "point_index": 0}],
            "point_indices": [0], "box": [], "lasso": []}


def charts(at):
    """The Plotly figures on the page, as dicts (`.proto.spec` is the figure's JSON)."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_titles(at):
    """The title of each figure on the page, in order ("" for one without a title)."""
    titles = []
    for figure in charts(at):
        title = figure.get("layout", {}).get("title", {})
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


# Four English words in a row (letters only, two or more each): a sentence or phrase left untranslated.
_ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3,}\b")
# Text that is data, not interface: code spans, links' targets, LaTeX.
_NOT_INTERFACE = re.compile(r"`[^`]*`|\]\([^)]*\)|https?://\S+|\$[^$]*\$")


def _texts(at):
    """Every text the page shows a visitor: headings, Markdown, captions, alerts, widget labels and options,
    tab and expander labels, and the Plotly figures' titles and axis titles."""
    texts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success",
                 "exception"):
        texts += [str(element.value) for element in at.get(kind)]
    for kind in ("button", "checkbox", "toggle", "selectbox", "multiselect", "radio", "select_slider", "slider",
                 "number_input", "text_input", "text_area", "date_input", "color_picker", "tabs", "expander",
                 "metric", "download_button", "file_uploader", "segmented_control", "pills"):
        for element in at.get(kind):
            texts += [str(getattr(element, attribute, "") or "") for attribute in ("label", "help")]
            proto = getattr(element, "proto", None)
            texts += [str(option) for option in getattr(proto, "options", [])] if proto is not None else []
    for figure in charts(at):
        layout = figure.get("layout", {})
        for name, value in layout.items():
            if name == "title" or name.startswith(("xaxis", "yaxis")):
                title = value.get("title", value) if name != "title" else value
                texts.append(title.get("text", "") if isinstance(title, dict) else str(title or ""))
    return texts


def english_sentences(at, allowed=()):
    """The runs of four or more English words on the page, outside code spans and the `allowed` texts (data
    such as model titles and file names); what a page in Chinese must not show."""
    found = []
    for text in _texts(at):
        for allowed_text in allowed:
            text = text.replace(allowed_text, "")
        found += _ENGLISH_RUN.findall(_NOT_INTERFACE.sub(" ", text))
    return found
