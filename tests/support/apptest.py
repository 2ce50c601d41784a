"""Reading an AppTest of the whole app: opening a page as a link would, and the Plotly figures it drew."""

import json


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
