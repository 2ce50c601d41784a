"""The Train page's New run tab: the data, model, optimizer and augmentation of the next run, and starting it."""

import streamlit as st

from imgrec import architectures, datasets, training
from pages._ui import compute, train_runs, train_settings, views
from pages._ui.train_settings import field

PREVIEW_IMAGES = 8  # Training images in the augmentation preview...
PREVIEW_COPIES = 3  # ...each shown with this many augmented versions.
# The ViT's settings side by side: (setting, label, minimum, maximum, step).
VIT_FIELDS = (("patch_size", "Patch size (0 = automatic)", 0, 64, 1), ("vit_dim", "Token width", 4, 512, 8),
              ("vit_depth", "Blocks", 1, 12, 1), ("vit_heads", "Heads", 1, 16, 1))
# The augmentation sliders, from 0: (setting, label, maximum, step); the flip toggle comes after them.
AUGMENT_SLIDERS = (("augment_rotate", "Rotate (degrees either way)", 90.0, 1.0),
                   ("augment_shift", "Shift (share of the size)", 0.5, 0.01),
                   ("augment_noise", "Noise (grey levels)", 64.0, 1.0))


def augmentation_preview(dataset, rotate, shift, flip, noise, seed):
    """Training images (first row) and augmented versions of them, as one uint8 grid image, enlarged."""
    settings = (("augment_flip", flip), ("augment_noise", noise), ("augment_rotate", rotate), ("augment_shift", shift))
    return views.enlarge(compute.augmentation_preview(dataset, settings, PREVIEW_IMAGES, PREVIEW_COPIES, seed), 640)


def data_and_model_ui():
    left, right = st.columns(2)
    with left:
        names = datasets.names()
        dataset = field(st.selectbox, "dataset", "Dataset", options=names,
                        format_func=train_settings.dataset_title)
        st.caption(train_settings.dataset_caption(dataset))
        field(st.number_input, "max_samples", "Training samples (0 = all)", min_value=0, max_value=1_000_000,
              step=1000, help="A smaller, class-balanced subset trains faster; 20 at least.")
        field(st.slider, "validation_fraction", "Validation fraction", min_value=0.0, max_value=0.5, step=0.05,
              help="Training images held out to watch for overfitting; the test set is never touched in training.")
    with right:
        architecture = field(st.selectbox, "architecture", "Architecture", options=list(architectures.ALL_ARCHITECTURES))
        st.caption(architectures.DESCRIPTIONS.get(architecture, ""))
        epochs, batch = st.columns(2)
        with epochs:
            field(st.number_input, "epochs", "Epochs", min_value=1, max_value=500, step=1)
        with batch:
            field(st.number_input, "batch_size", "Batch size", min_value=1, max_value=4096, step=32)
        field(st.number_input, "seed", "Seed", min_value=0, max_value=2**31 - 1, step=1,
              help="The same seed gives the same split, initial weights, shuffling and augmentation.")
    return dataset, architecture


def optimizer_ui():
    left, middle, right = st.columns(3)
    with left:
        field(st.selectbox, "optimizer", "Optimizer", options=list(training.OPTIMIZERS),
              format_func=train_settings.OPTIMIZER_TITLES.get)
        field(st.number_input, "learning_rate", "Learning rate", min_value=1e-6, max_value=100.0, step=1e-4,
              format="%g", help="The size of each step downhill. Too small learns slowly; 10 with SGD diverges (NaN).")
    with middle:
        field(st.number_input, "l1", "L1 penalty", min_value=0.0, max_value=1.0, step=1e-5, format="%g",
              help="Pushes weights to exactly zero (a sparse model).")
        field(st.number_input, "l2", "L2 penalty (weight decay)", min_value=0.0, max_value=1.0, step=1e-5,
              format="%g", help="Keeps weights small, which often generalises better.")
    with right:
        field(st.slider, "dropout", "Dropout", min_value=0.0, max_value=0.95, step=0.05,
              help="Share of units switched off at random in each training step: the network cannot rely on any one.")
        field(st.selectbox, "lr_schedule", "Learning-rate schedule", options=list(training.LR_SCHEDULES),
              help="cosine lowers the rate smoothly to 0 by the last step.")


def architecture_options_ui(architecture):
    if architecture in ("rnn", "crnn"):
        left, right = st.columns(2)
        with left:
            field(st.selectbox, "recurrent_cell", "Recurrent cell", options=list(architectures.RECURRENT_CELLS))
        with right:
            field(st.number_input, "recurrent_units", "Recurrent units", min_value=1, max_value=1024, step=16)
    elif architecture == architectures.AUTOENCODER:
        left, right = st.columns(2)
        with left:
            field(st.number_input, "latent_dim", "Code size (numbers)", min_value=2, max_value=256, step=1,
                  help="How many numbers each image is squeezed into. 2 puts every image on a plane you can plot "
                       "and walk; more rebuild sharper images.")
        right.caption("An autoencoder learns without labels: its only task is to rebuild each image from a few "
                      "numbers. Its results show what it rebuilds, where its codes lie, and what it draws between "
                      "them. Augmentation stays off for it.")
    elif architecture == "vit":
        for column, (name, label, low, high, step) in zip(st.columns(4), VIT_FIELDS, strict=True):
            with column:
                field(st.number_input, name, label, min_value=low, max_value=high, step=step)


def augmentation_ui():
    columns = st.columns(4)
    for column, (name, label, high, step) in zip(columns, AUGMENT_SLIDERS, strict=False):
        with column:
            field(st.slider, name, label, min_value=0.0, max_value=high, step=step)
    with columns[3]:
        st.write("")
        field(st.toggle, "augment_flip", "Flip left-right", help="Right for clothes and photos, wrong for digits.")


def augmentation_preview_ui(values, present):
    if not present:
        return
    if not (values["augment_rotate"] or values["augment_shift"] or values["augment_flip"] or values["augment_noise"]):
        st.caption("Augmentation is off: the model sees the training images as they are. Turn on rotation, shift, "
                   "flip or noise to see what it would see instead.")
        return
    if "preview-seed" not in st.session_state:
        st.session_state["preview-seed"] = 0
    try:
        grid = augmentation_preview(values["dataset"], values["augment_rotate"], values["augment_shift"],
                                    values["augment_flip"], values["augment_noise"], st.session_state["preview-seed"])
    except (ValueError, datasets.DatasetUnavailable) as error:
        st.error(str(error), icon=":material/error:")
        return
    st.image(grid, caption="Top row: training images as stored. Below: three random versions of each, as the model "
                           "may see them in training (a new version every epoch).")
    if st.button("Show other random versions", icon=":material/shuffle:", key="preview-shuffle"):
        st.session_state["preview-seed"] += 1
        st.rerun()


def new_run_tab():
    st.markdown("Choose what to train and how. The defaults are the **quickstart**: a small convnet on MNIST that "
                "reaches about 98% test accuracy in under a minute.")
    with st.container(border=True):
        st.markdown("**Data and model**")
        dataset, architecture = data_and_model_ui()
        architecture_options_ui(architecture)
    with st.container(border=True):
        st.markdown("**Learning: optimizer and regularisation**")
        optimizer_ui()
    with st.container(border=True):
        st.markdown("**Augmentation: random changes to the training images**")
        augmentation_ui()
        values = dict(train_settings.settings())
        augmentation_preview_ui(values, train_settings.dataset_description(dataset).source is not None)
    problem = train_settings.config_problem(values)
    if problem:
        st.error(problem, icon=":material/error:")
    left, right = st.columns([1, 3])
    with left:
        start = st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=bool(problem),
                          key="start-run")
    with right:
        st.button("Reset to the quickstart", icon=":material/restart_alt:", key="reset-settings",
                  on_click=train_settings.apply_settings, args=(training.preset("quickstart").to_dict(),))
    if start and not problem:
        run_id = train_settings.submit_run(values, owner=train_settings.session_owner())
        if run_id:
            train_runs.select_run(run_id)
            st.rerun()
