"""imgrec's web app: declares the pages and their stable URLs; each page does its own work."""

import pathlib

import streamlit as st

# A file of our own, served from the app's origin: a ":material/...:" page icon makes every
# browser fetch the tab's icon from fonts.gstatic.com, which fails offline.
ICON = pathlib.Path(__file__).resolve().parent / "pages" / "_ui" / "favicon.png"

st.set_page_config(page_title="imgrec: how image recognition works", page_icon=str(ICON), layout="wide")
st.navigation({
    "Explore": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/learn.py", title="Learn", icon=":material/school:", url_path="learn"),
        st.Page("pages/predict.py", title="Predict", icon=":material/image_search:", url_path="predict"),
        st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:", url_path="feature-maps"),
        st.Page("pages/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
        st.Page("pages/filters.py", title="Filters", icon=":material/filter_vintage:", url_path="filters"),
        st.Page("pages/data_map.py", title="Data map", icon=":material/scatter_plot:", url_path="data-map"),
    ],
    "Build": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/models.py", title="Models", icon=":material/inventory_2:", url_path="models"),
    ],
}).run()
