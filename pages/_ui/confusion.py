"""A confusion matrix whose cells open: click one (true 4, predicted 9) and see exactly its test images, surest first."""

import streamlit as st

from imgrec import figures, metrics, mistakes
from pages._ui import charts, compute_learned, i18n, views
from pages._ui.i18n import t

SHOWN = 12  # Images of a cell drawn with their heatmaps; the count says how many the cell holds.
COLUMNS = 4


def clicked_cell(chart_key, class_names):
    """The (true, predicted) class indices of the cell a visitor clicked, or None."""
    names = [str(name) for name in class_names]
    for point in views.selected_points(chart_key):
        if point.get("x") in names and point.get("y") in names:
            return names.index(point["y"]), names.index(point["x"])
    return None


def cell_gallery(source, key, dataset, names, labels, probabilities, cell):
    """Every test image of one cell, the surest first, each with its top 3 and the heatmap of the class chosen."""
    true, predicted = cell
    # A diagonal cell holds the images the model got right, so "wrong only" would leave it empty.
    indices = mistakes.select(labels, probabilities, true=true, predicted=predicted, wrong_only=true != predicted)
    heading = ("confusion.cell_right_one" if len(indices) == 1 else "confusion.cell_right") if true == predicted else (
        "confusion.cell_wrong_one" if len(indices) == 1 else "confusion.cell_wrong")
    st.markdown("#### " + t(heading, true=names[true], predicted=names[predicted], count=f"{len(indices):,}"))
    if not len(indices):
        st.info(t("confusion.empty_cell"), icon=":material/info:")
        return
    shown = tuple(int(index) for index in indices[:SHOWN])
    cases = compute_learned.cases(source, key, dataset, shown)
    more = t("confusion.more", shown=len(shown), count=f"{len(indices):,}") if len(indices) > len(shown) else ""
    st.caption(t("confusion.gallery", explainer=cases[0].explainer, more=more))
    columns = st.columns(COLUMNS)
    for position, case in enumerate(cases):
        with columns[position % COLUMNS]:
            st.image(views.case_image(case))
            st.markdown(case_caption(case))


def case_caption(case):
    """What the model said about a case: true and chosen class, then its top classes (`views.case_caption`'s words
    in the session's language)."""
    if i18n.language() == i18n.DEFAULT:
        return views.case_caption(case)
    top = ", ".join(f"{i18n.class_name(label)} {probability:.0%}" for label, probability in case.top)
    return t("confusion.case", index=case.index, true=i18n.class_name(case.true_label),
             predicted=i18n.class_name(case.predicted_label), top=top)


def confusion_view(source, key, dataset, class_names, chart_key):
    """The clickable confusion matrix of a model on a dataset's whole test split, and the images of the clicked cell.

    Class names are shown in the session's language: the chart's cells and a click name them so.
    """
    names = [i18n.class_name(str(name)) for name in class_names]
    labels, probabilities = compute_learned.test_outputs(source, key, dataset)
    matrix = metrics.from_probabilities(labels, probabilities, names)["confusion"]
    normalize = st.toggle(t("confusion.normalize"), key=f"{chart_key}-normalize")
    cell = clicked_cell(chart_key, names)  # A click reruns the page with the selection already set.
    figure = figures.confusion_matrix(matrix, names, normalize=normalize, clickable=True, highlight=cell,
                                      texts=i18n.texts_now())
    charts.show(figure, key=chart_key, on_select="rerun", selection_mode="points")
    if cell is None:
        st.caption(t("confusion.caption", count=f"{len(labels):,}"))
        return
    cell_gallery(source, key, dataset, names, labels, probabilities, cell)
