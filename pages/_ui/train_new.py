"""The Train page's New run tab: the data, model, optimizer and augmentation of the next run, and starting it."""

import streamlit as st

from imgrec import architectures, datasets, training
from pages._ui import compute, i18n, models, train_runs, train_settings, views
from pages._ui.i18n import t
from pages._ui.train_settings import field

PREVIEW_IMAGES = 8  # Training images in the augmentation preview...
PREVIEW_COPIES = 3  # ...each shown with this many augmented versions.
# The ViT's settings side by side: (setting, label, minimum, maximum, step).
VIT_FIELDS = (("patch_size", "train_new.patch_size", 0, 64, 1), ("vit_dim", "train_new.vit_dim", 4, 512, 8),
              ("vit_depth", "train_new.vit_depth", 1, 12, 1), ("vit_heads", "train_new.vit_heads", 1, 16, 1))
# The augmentation sliders, from 0: (setting, label, maximum, step); the flip toggle comes after them.
AUGMENT_SLIDERS = (("augment_rotate", "train_new.rotate", 90.0, 1.0),
                   ("augment_shift", "train_new.shift", 0.5, 0.01),
                   ("augment_noise", "train_new.noise", 64.0, 1.0))
# Each architecture's one-line description (architectures.DESCRIPTIONS, in the session's language).
DESCRIPTIONS = models.ARCHITECTURES
SCHEDULES = {"constant": "train_new.schedule_constant", "cosine": "train_new.schedule_cosine"}
CELLS = {"simple": "train_new.cell_simple", "gru": "train_new.cell_gru", "lstm": "train_new.cell_lstm"}


def _shown(keys):
    """A widget's format function: each option's text in this run's language (a dict, fixed for the run)."""
    words = {name: t(key) for name, key in keys.items()}
    return lambda name: words.get(name, name)


def augmentation_preview(dataset, rotate, shift, flip, noise, seed):
    """Training images (first row) and augmented versions of them, as one uint8 grid image, enlarged."""
    settings = (("augment_flip", flip), ("augment_noise", noise), ("augment_rotate", rotate), ("augment_shift", shift))
    return views.enlarge(compute.augmentation_preview(dataset, settings, PREVIEW_IMAGES, PREVIEW_COPIES, seed), 640)


def data_and_model_ui():
    left, right = st.columns(2)
    with left:
        names = datasets.names()
        # Format functions read dicts made in this run: they run again outside it (AppTest), in no language.
        titles = {name: train_settings.dataset_title(name) for name in names}
        dataset = field(st.selectbox, "dataset", t("train_new.dataset"), options=names,
                        format_func=lambda name: titles.get(name, name))
        st.caption(train_settings.dataset_caption(dataset))
        field(st.number_input, "max_samples", t("train_new.max_samples"), min_value=0, max_value=1_000_000,
              step=1000, help=t("train_new.max_samples_help"))
        field(st.slider, "validation_fraction", t("train_new.validation_fraction"), min_value=0.0, max_value=0.5,
              step=0.05, help=t("train_new.validation_fraction_help"))
    with right:
        architecture = field(st.selectbox, "architecture", t("train_new.architecture"),
                             options=list(architectures.ALL_ARCHITECTURES))
        st.caption(t(DESCRIPTIONS[architecture]) if architecture in DESCRIPTIONS
                   else architectures.DESCRIPTIONS.get(architecture, ""))
        epochs, batch = st.columns(2)
        with epochs:
            field(st.number_input, "epochs", t("train_new.epochs"), min_value=1, max_value=500, step=1)
        with batch:
            field(st.number_input, "batch_size", t("train_new.batch_size"), min_value=1, max_value=4096, step=32)
        field(st.number_input, "seed", t("train_new.seed"), min_value=0, max_value=2**31 - 1, step=1,
              help=t("train_new.seed_help"))
    return dataset, architecture


def optimizer_ui():
    left, middle, right = st.columns(3)
    with left:
        field(st.selectbox, "optimizer", t("train_new.optimizer"), options=list(training.OPTIMIZERS),
              format_func=train_settings.OPTIMIZER_TITLES.get)
        field(st.number_input, "learning_rate", t("train_new.learning_rate"), min_value=1e-6, max_value=100.0,
              step=1e-4, format="%g", help=t("train_new.learning_rate_help"))
    with middle:
        field(st.number_input, "l1", t("train_new.l1"), min_value=0.0, max_value=1.0, step=1e-5, format="%g",
              help=t("train_new.l1_help"))
        field(st.number_input, "l2", t("train_new.l2"), min_value=0.0, max_value=1.0, step=1e-5,
              format="%g", help=t("train_new.l2_help"))
    with right:
        field(st.slider, "dropout", t("train_new.dropout"), min_value=0.0, max_value=0.95, step=0.05,
              help=t("train_new.dropout_help"))
        field(st.selectbox, "lr_schedule", t("train_new.lr_schedule"), options=list(training.LR_SCHEDULES),
              format_func=_shown(SCHEDULES),
              help=t("train_new.lr_schedule_help"))


def architecture_options_ui(architecture):
    if architecture in ("rnn", "crnn"):
        left, right = st.columns(2)
        with left:
            field(st.selectbox, "recurrent_cell", t("train_new.recurrent_cell"), options=list(architectures.RECURRENT_CELLS),
                  format_func=_shown(CELLS))
        with right:
            field(st.number_input, "recurrent_units", t("train_new.recurrent_units"), min_value=1, max_value=1024,
                  step=16)
    elif architecture == architectures.AUTOENCODER:
        left, right = st.columns(2)
        with left:
            field(st.number_input, "latent_dim", t("train_new.latent_dim"), min_value=2, max_value=256, step=1,
                  help=t("train_new.latent_dim_help"))
        right.caption(t("train_new.autoencoder_note"))
    elif architecture == "vit":
        for column, (name, label, low, high, step) in zip(st.columns(4), VIT_FIELDS, strict=True):
            with column:
                field(st.number_input, name, t(label), min_value=low, max_value=high, step=step)


def augmentation_ui():
    columns = st.columns(4)
    for column, (name, label, high, step) in zip(columns, AUGMENT_SLIDERS, strict=False):
        with column:
            field(st.slider, name, t(label), min_value=0.0, max_value=high, step=step)
    with columns[3]:
        st.write("")
        field(st.toggle, "augment_flip", t("train_new.flip"), help=t("train_new.flip_help"))


def augmentation_preview_ui(values, present):
    if not present:
        return
    if not (values["augment_rotate"] or values["augment_shift"] or values["augment_flip"] or values["augment_noise"]):
        st.caption(t("train_new.augmentation_off"))
        return
    if "preview-seed" not in st.session_state:
        st.session_state["preview-seed"] = 0
    try:
        grid = augmentation_preview(values["dataset"], values["augment_rotate"], values["augment_shift"],
                                    values["augment_flip"], values["augment_noise"], st.session_state["preview-seed"])
    except (ValueError, datasets.DatasetUnavailable) as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return
    st.image(grid, caption=t("train_new.preview_caption"))
    if st.button(t("train_new.shuffle"), icon=":material/shuffle:", key="preview-shuffle"):
        st.session_state["preview-seed"] += 1
        st.rerun()


def new_run_tab():
    st.markdown(t("train_new.intro"))
    with st.container(border=True):
        st.markdown(t("train_new.data_and_model"))
        dataset, architecture = data_and_model_ui()
        architecture_options_ui(architecture)
    with st.container(border=True):
        st.markdown(t("train_new.learning"))
        optimizer_ui()
    with st.container(border=True):
        st.markdown(t("train_new.augmentation"))
        augmentation_ui()
        values = dict(train_settings.settings())
        augmentation_preview_ui(values, train_settings.dataset_description(dataset).source is not None)
    problem = train_settings.config_problem(values)
    if problem:
        st.error(problem, icon=":material/error:")
    left, right = st.columns([1, 3])
    with left:
        start = st.button(t("train_new.start"), type="primary", icon=":material/play_arrow:", disabled=bool(problem),
                          key="start-run")
    with right:
        st.button(t("train_new.reset"), icon=":material/restart_alt:", key="reset-settings",
                  on_click=train_settings.apply_settings, args=(training.preset("quickstart").to_dict(),))
    if start and not problem:
        run_id = train_settings.submit_run(values, owner=train_settings.session_owner())
        if run_id:
            train_runs.select_run(run_id)
            st.rerun()
