"""The "Download report" buttons: a prediction, a finished run and a model's card as one HTML file that opens anywhere.

Each report is made only when its button is clicked (Streamlit's deferred download: the
callable runs on the click, not on every rerun), so the pages pay nothing for the button.
"""

import re

import streamlit as st

from imgrec import report
from pages._ui import compute, i18n
from pages._ui.i18n import t


def file_name(*parts):
    """A safe download name from its parts, e.g. `report-mnist-cnn-seven.html` (other characters become dashes)."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", str(part)).strip("-.") for part in parts if part)
    return f"report-{stem[:100] or 'imgrec'}.html"


def _button(data, name, key):
    st.download_button(t("report_ui.label"), data, file_name=name, mime="text/html", key=key, help=t("report_ui.help"),
                       icon=":material/download:", on_click="ignore")


def prediction_button(name, key, image, class_index, method, options, alpha, checked, colormap="jet"):
    """The report of the image on /predict: its top classes and the chosen class explained by the chosen method.

    With the heatmap's trust checks when the page showed them (`checked`: taken from the cache), in the
    page's language and colours (read now: the button's callable runs on the click, outside this run).
    """
    stem, language = image.name.rsplit(".", 1)[0], i18n.language()

    def make():
        return compute.prediction_report(name, key, image.rgb, image.name, method, int(class_index), float(alpha),
                                         bool(checked), language, colormap, **options)

    _button(make, file_name(name, stem, method), "report-prediction")


def run_button(run_id, outcome, shown):
    """The report of a finished run's results, with the `shown` mistakes the page explains."""
    sha256 = (outcome.get("model") or {}).get("sha256")
    indices = tuple(mistake["index"] for mistake in (outcome.get("misclassified") or [])[:shown])

    language = i18n.language()

    def make():
        return compute.run_report(run_id, sha256, outcome["dataset"], indices, language)

    _button(make, file_name("run", run_id), f"report-run-{run_id}")


def model_button(card):
    """The report of a model's card: what it is, its training curves and its F1 per class (no model is loaded)."""
    language = i18n.language()
    _button(lambda: report.model_report(card, language=language), file_name(card.name), f"report-model-{card.name}")
