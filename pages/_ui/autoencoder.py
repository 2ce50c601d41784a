"""What an autoencoder learned: test images beside their reconstructions, the error, its latent space and a walk over it.

Shared by the Models page and a finished run's results; the model is a `source` as
`compute` names it.
"""

import math

import streamlit as st

from imgrec import datasets, figures, reconstruction
from pages._ui import compute_learned, data_map_view, views

PAIRS = 12  # Test images shown beside their reconstructions: the first ones, then the worst rebuilt.


def error_view(mse, n, per_class):
    """The measured error in words, and per class."""
    typical = math.sqrt(mse)
    st.metric("Reconstruction error (MSE)", f"{mse:.4f}",
              help=f"The mean squared difference per pixel between each of {n:,} test images and its rebuilt copy, "
                   "with pixels from 0 (black) to 1 (white). Lower is better.")
    st.caption(f"An error of {mse:.4f} means a typical pixel comes back about {typical:.2f} off, "
               f"{typical:.0%} of the way from black to white: the shapes survive the squeeze, the fine detail less.")
    rows = [(name, value) for name, value in (per_class or {}).items() if value is not None]
    if rows:
        worst = max(rows, key=lambda row: row[1])
        st.bar_chart({"class": [name for name, _ in rows], "error": [value for _, value in rows]}, x="class",
                     y="error", height=220, y_label="reconstruction error", x_label="class")
        st.caption(f"Hardest to rebuild: **{worst[0]}** ({worst[1]:.4f}); its shapes vary the most, or look "
                   "most like another class's.")


def pairs_view(source, key, dataset, worst=()):
    """The first test images and the worst-rebuilt ones, each beside its reconstruction, with class and error."""
    data = datasets.load(dataset)
    indices = tuple(dict.fromkeys([*range(PAIRS - len(worst[:PAIRS // 2])), *worst[:PAIRS // 2]]))
    rebuilt, walk = compute_learned.autoencoder_views(source, key, dataset, indices)
    originals = data.x_test[list(indices)]
    errors = reconstruction.squared_errors(originals, rebuilt)
    names = [str(name) for name in data.class_names]
    labels = [f"{names[int(data.y_test[index])]}: {error:.3f}" for index, error in zip(indices, errors, strict=True)]
    st.plotly_chart(figures.image_pairs(originals, rebuilt, labels), key=f"pairs-{source}", config=views.CHART_CONFIG)
    note = " The last ones are the test images it rebuilt worst." if worst else ""
    st.caption(f"Above each pair: its class and its error.{note} The code is all the decoder gets: whatever the "
               "few numbers cannot hold is lost.")
    return walk


def walk_view(walk, source):
    st.plotly_chart(figures.latent_walk(walk.images, walk.x, walk.y, walk.axes_are_the_code), key=f"walk-{source}",
                    config=views.CHART_CONFIG)
    plane = ("its two numbers are the code itself" if walk.axes_are_the_code else
             "the plane is the one where the test images' codes spread most (their first two principal directions)")
    st.caption(f"Each tile is what the decoder draws from one point of the latent space ({plane}). Neighbouring "
               "points draw similar images, and one kind of image morphs into the next: the autoencoder has laid "
               "its images out by shape, with no labels.")


def autoencoder_view(source, key, dataset, *, mse, n, per_class=None, worst=()):
    """Everything an autoencoder shows: its error, pairs, its latent space on the data map, and the walk.

    Args:
        source, key: the model, as `compute` names it.
        dataset: the dataset of its test images.
        mse: its measured reconstruction error; n: on how many test images.
        per_class: class name -> error. Defaults to `None`.
        worst: test indices of the worst-rebuilt images, worst first. Defaults to none.
    """
    if dataset.split(":", 1)[0] not in datasets.names():
        st.info(f"This autoencoder learned from {dataset}, which has no test split here to rebuild.",
                icon=":material/info:")
        return
    error_view(mse, n, per_class)
    st.subheader("Test images and what it rebuilt")
    walk = pairs_view(source, key, dataset, tuple(int(index) for index in worst))
    st.subheader("Its latent space: where each test image's code lies")
    st.markdown("The autoencoder never saw a label, yet images of the same class get nearby codes. The colours are "
                "the true classes, added here only to show it.")
    data_map_view.map_view(source, key, dataset, datasets.class_names(dataset), predicts=False,
                           chart_key=f"latent-map-{source}")
    st.subheader("Walking the latent space")
    walk_view(walk, source)
