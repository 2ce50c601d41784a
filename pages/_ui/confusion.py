"""A confusion matrix whose cells open: click one (true 4, predicted 9) and see exactly its test images, surest first."""

import streamlit as st

from imgrec import figures, metrics, mistakes
from pages._ui import compute_learned, views

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
    verdict = "right" if true == predicted else "wrong"
    st.markdown(f"#### True {names[true]}, predicted {names[predicted]}: {len(indices):,} test image"
                f"{'s' * (len(indices) != 1)} it got {verdict}")
    if not len(indices):
        st.info("No test image landed in this cell. Click a cell with a number above 0.", icon=":material/info:")
        return
    shown = tuple(int(index) for index in indices[:SHOWN])
    cases = compute_learned.cases(source, key, dataset, shown)
    more = f" The first {len(shown)} of {len(indices):,} are shown." if len(indices) > len(shown) else ""
    st.caption(f"The surest first. Left: the test image as the model saw it; right: the {cases[0].explainer} of the "
               f"class it chose, the regions that spoke most for it.{more}")
    columns = st.columns(COLUMNS)
    for position, case in enumerate(cases):
        with columns[position % COLUMNS]:
            st.image(views.case_image(case))
            st.markdown(views.case_caption(case))


def confusion_view(source, key, dataset, class_names, chart_key):
    """The clickable confusion matrix of a model on a dataset's whole test split, and the images of the clicked cell."""
    names = [str(name) for name in class_names]
    labels, probabilities = compute_learned.test_outputs(source, key, dataset)
    matrix = metrics.from_probabilities(labels, probabilities, names)["confusion"]
    normalize = st.toggle("Show each row as shares of its true class", key=f"{chart_key}-normalize")
    cell = clicked_cell(chart_key, names)  # A click reruns the page with the selection already set.
    st.plotly_chart(figures.confusion_matrix(matrix, names, normalize=normalize, clickable=True, highlight=cell),
                    key=chart_key, on_select="rerun", selection_mode="points", config=views.CHART_CONFIG)
    if cell is None:
        st.caption(f"Each cell counts the test images of one true class (row) that the model put in one class "
                   f"(column), over all {len(labels):,} test images. **Click a cell** to see exactly those images.")
        return
    cell_gallery(source, key, dataset, names, labels, probabilities, cell)
