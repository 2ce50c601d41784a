"""What an autoencoder learned: test images beside their reconstructions, the error, its latent space and a walk over it.

Shared by the Models page and a finished run's results; the model is a `source` as
`compute` names it.
"""

import math

import streamlit as st

from imgrec import datasets, figures, reconstruction
from pages._ui import charts, compute_learned, data_map_view, i18n
from pages._ui.i18n import t

PAIRS = 12  # Test images shown beside their reconstructions: the first ones, then the worst rebuilt.


def error_view(mse, n, per_class):
    """The measured error in words, and per class."""
    typical = math.sqrt(mse)
    st.metric(t("models_autoencoder.error"), f"{mse:.4f}", help=t("models_autoencoder.error_help", n=f"{n:,}"))
    st.caption(t("models_autoencoder.error_caption", error=f"{mse:.4f}", typical=f"{typical:.2f}",
                 share=f"{typical:.0%}"))
    rows = [(i18n.class_name(name), value) for name, value in (per_class or {}).items() if value is not None]
    if rows:
        worst = max(rows, key=lambda row: row[1])
        st.bar_chart({"class": [name for name, _ in rows], "error": [value for _, value in rows]}, x="class",
                     y="error", height=220, y_label=t("models_autoencoder.bar_error"),
                     x_label=t("models_autoencoder.bar_class"))
        st.caption(t("models_autoencoder.hardest", name=worst[0], error=f"{worst[1]:.4f}"))


def pairs_view(source, key, dataset, worst=()):
    """The first test images and the worst-rebuilt ones, each beside its reconstruction, with class and error."""
    data = datasets.load(dataset)
    indices = tuple(dict.fromkeys([*range(PAIRS - len(worst[:PAIRS // 2])), *worst[:PAIRS // 2]]))
    rebuilt, walk = compute_learned.autoencoder_views(source, key, dataset, indices)
    originals = data.x_test[list(indices)]
    errors = reconstruction.squared_errors(originals, rebuilt)
    names = [i18n.class_name(str(name)) for name in data.class_names]
    labels = [f"{names[int(data.y_test[index])]}: {error:.3f}" for index, error in zip(indices, errors, strict=True)]
    charts.show(figures.image_pairs(originals, rebuilt, labels, texts=i18n.texts_now()), key=f"pairs-{source}")
    st.caption(t("models_autoencoder.pairs_caption_worst" if worst else "models_autoencoder.pairs_caption"))
    return walk


def walk_view(walk, source):
    charts.show(figures.latent_walk(walk.images, walk.x, walk.y, walk.axes_are_the_code, texts=i18n.texts_now()),
                key=f"walk-{source}")
    plane = t("models_autoencoder.plane_code" if walk.axes_are_the_code else "models_autoencoder.plane_directions")
    st.caption(t("models_autoencoder.walk_caption", plane=plane))


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
        st.info(t("models_autoencoder.no_test_split", dataset=dataset), icon=":material/info:")
        return
    error_view(mse, n, per_class)
    st.subheader(t("models_autoencoder.pairs"))
    walk = pairs_view(source, key, dataset, tuple(int(index) for index in worst))
    st.subheader(t("models_autoencoder.latent"))
    st.markdown(t("models_autoencoder.latent_text"))
    data_map_view.map_view(source, key, dataset, datasets.class_names(dataset), predicts=False,
                           chart_key=f"latent-map-{source}")
    st.subheader(t("models_autoencoder.walk"))
    walk_view(walk, source)
