"""imgrec's web app: declares the pages and their stable URLs; each page does its own work."""

import pathlib

import streamlit as st

from imgrec import serving
from pages._ui import i18n
from pages._ui.i18n import t

# A file of our own, served from the app's origin: a ":material/...:" page icon makes every
# browser fetch the tab's icon from fonts.gstatic.com, which fails offline.
ICON = pathlib.Path(__file__).resolve().parent / "pages" / "_ui" / "favicon.png"

# The inference workers start now, in the background, not at the page's first model request: a
# fresh server's first page then imports TensorFlow in a worker while it imports its own modules
# and draws, instead of after (bench/first_load.py). A no-op once the pool is running.
serving.shared_pool()
i18n.begin()
st.set_page_config(page_title=t("nav.page_title"), page_icon=str(ICON), layout="wide")
st.navigation({
    t("nav.explore"): [
        st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
        st.Page("pages/learn.py", title=t("nav.learn"), icon=":material/school:", url_path="learn"),
        st.Page("pages/predict.py", title=t("nav.predict"), icon=":material/image_search:", url_path="predict"),
        st.Page("pages/feature_maps.py", title=t("nav.feature_maps"), icon=":material/grid_view:", url_path="feature-maps"),
        st.Page("pages/attention.py", title=t("nav.attention"), icon=":material/visibility:", url_path="attention"),
        st.Page("pages/filters.py", title=t("nav.filters"), icon=":material/filter_vintage:", url_path="filters"),
        st.Page("pages/data_map.py", title=t("nav.data_map"), icon=":material/scatter_plot:", url_path="data-map"),
    ],
    t("nav.build"): [
        st.Page("pages/train.py", title=t("nav.train"), icon=":material/model_training:", url_path="train"),
        st.Page("pages/models.py", title=t("nav.models"), icon=":material/inventory_2:", url_path="models"),
    ],
}).run()
