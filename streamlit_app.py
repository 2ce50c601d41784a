"""imgrec's web app: declares the pages and their stable URLs; each page does its own work."""

import pathlib

import streamlit as st

st.set_page_config(page_title="imgrec: how image recognition works", page_icon=":material/image_search:", layout="wide")

PAGES = pathlib.Path(__file__).parent / "pages"
explore = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/predict.py", title="Predict", icon=":material/image_search:", url_path="predict"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:", url_path="feature-maps"),
    st.Page("pages/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
]
# Training and the model registry arrive as their own pages (/train, /models); each is listed once its script exists.
build = [
    st.Page(f"pages/{script}.py", title=title, icon=icon, url_path=script)
    for script, title, icon in (("train", "Train", ":material/model_training:"), ("models", "Models", ":material/inventory_2:"))
    if (PAGES / f"{script}.py").exists()
]
st.navigation({"Explore": explore, "Build": build} if build else explore).run()
