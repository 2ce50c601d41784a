"""The images a visitor chooses: samples, an upload, a camera photo or a drawing, kept from page to page.

Every image is decoded from untrusted bytes here (and shrunk to WORKING_SIDE), so pages only
ever see checked uint8 RGB arrays.
"""

import hashlib
import typing

import numpy as np
import streamlit as st

from imgrec import datasets, images
from pages._ui import i18n, links, views
from pages._ui.drawing import drawing_png
from pages._ui.i18n import t
from pages._ui.models import remember

# Images read from one upload: enough for a table of a class's photos, few enough that one
# visitor cannot keep the shared server busy.
MAX_FILES = 12
# Photos are shrunk to this long side after decoding: every model here reads 224 x 224 or
# less, and a phone photo at full size would cost 36 MB of server memory per student.
WORKING_SIDE = 1024
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
# Each source's icon and the key of its word.
SOURCES = {
    "samples": (":material/photo_library:", "inputs.source_samples"),
    "upload": (":material/upload:", "inputs.source_upload"),
    "camera": (":material/photo_camera:", "inputs.source_camera"),
    "draw": (":material/draw:", "inputs.source_draw"),
}
COLLECTION_TITLES = {"mnist": "inputs.collection_mnist", "fashion-mnist": "inputs.collection_fashion_mnist",
                     "cifar10": "inputs.collection_cifar10", "cifar100": "inputs.collection_cifar100",
                     "imagenet": "inputs.collection_imagenet", "photos": "inputs.collection_photos",
                     "shapes": "inputs.collection_shapes"}

# The photos' titles (`datasets.samples`), by sample id.
PHOTO_TITLES = {"photos-astronaut": "inputs.photo_astronaut", "photos-chelsea": "inputs.photo_chelsea",
                "photos-coffee": "inputs.photo_coffee", "photos-rocket": "inputs.photo_rocket",
                "photos-motorcycle": "inputs.photo_motorcycle", "photos-camera": "inputs.photo_camera",
                "photos-coins": "inputs.photo_coins", "photos-moon": "inputs.photo_moon",
                "photos-hubble": "inputs.photo_hubble", "photos-retina": "inputs.photo_retina"}


def source_title(source):
    """A source's label in this run's language, with its icon: ":material/upload: Upload"."""
    icon, key = SOURCES[source]
    return f"{icon} {t(key)}"


def collection_title(collection):
    """A sample collection's name in this run's language ("MNIST digits")."""
    return t(COLLECTION_TITLES[collection]) if collection in COLLECTION_TITLES else collection


def sample_title(sample):
    """A sample's title as this run's language reads it ("MNIST sample 3: 7", "Chelsea the cat")."""
    if i18n.language() == i18n.DEFAULT:
        return sample.title
    if sample.label is None:
        return t(PHOTO_TITLES[sample.id]) if sample.id in PHOTO_TITLES else sample.title
    label = i18n.class_name(sample.label_name) if sample.label_name else t("inputs.class_number", number=sample.label)
    number = sample.id.rsplit("-", 1)[-1].lstrip("0") or "0"
    return t("inputs.sample_title", collection=collection_title(sample.collection), number=number, label=label)


class InputImage(typing.NamedTuple):
    """One image a visitor chose: a name to show and its decoded pixels."""

    name: str
    rgb: np.ndarray  # uint8 (height, width, 3), at most WORKING_SIDE on its long side.


def _working_size(rgb):
    """The image shrunk to WORKING_SIDE on its long side, or as it is when it is smaller."""
    return images.thumbnail(rgb, WORKING_SIDE) if max(rgb.shape[:2]) > WORKING_SIDE else rgb


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def decode(data):
    """Decodes untrusted bytes (raises images.ImageError) and shrinks the result to WORKING_SIDE."""
    return _working_size(images.decode_image(data))


@st.cache_data(max_entries=256, show_spinner=False)
def sample_image(sample_id):
    """The pixels of one shipped sample image."""
    return _working_size(datasets.load_sample(sample_id))


@st.cache_data(ttl=60, show_spinner=False)
def sample_list():
    """Every sample image on this machine, as `datasets.Sample`s."""
    return datasets.samples()


def safe_name(name):
    """A user's file name made safe to show in Markdown: short, with Markdown's special characters escaped."""
    return views.plain(str(name) or "image", 60)


def digest(rgb):
    """A short fingerprint of an image's pixels, for widget keys that must reset with the image."""
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()[:16]


def _mark_changed(flag):
    st.session_state[flag] = True


def _decode_files(files):
    """Decodes uploaded files, showing one sentence per file that is refused; returns the InputImages."""
    decoded = []
    if len(files) > MAX_FILES:
        st.warning(t("inputs.too_many_files", count=len(files), limit=MAX_FILES), icon=":material/warning:")
        files = files[:MAX_FILES]
    for file in files:
        # The uploader's type filter and size limit are only conveniences in the browser: check here too.
        if file.size > images.MAX_UPLOAD_BYTES:
            st.error(t("inputs.too_large", name=safe_name(file.name), limit=images.MAX_UPLOAD_BYTES // 2**20),
                     icon=":material/error:")
            continue
        try:
            decoded.append(InputImage(file.name, decode(file.getvalue())))
        except images.ImageError as error:
            st.error(f"**{safe_name(file.name)}**: {i18n.error_text(error)}", icon=":material/error:")
    return decoded


def _kept_input(source, widget_key, files):
    """Keeps what a source produced in session state, so the same image follows the visitor to other pages."""
    flag = f"{widget_key}-changed"
    if files or st.session_state.pop(flag, False):
        st.session_state[f"kept-{source}"] = _decode_files(files)
    return st.session_state.get(f"kept-{source}", [])


def upload_ui(*, multiple=True, key="upload"):
    """The file uploader; returns the decoded images (this page's upload, or the last one on another page)."""
    files = st.file_uploader(
        t("inputs.upload_many") if multiple else t("inputs.upload_one"),
        type=UPLOAD_TYPES, accept_multiple_files=multiple, key=key,
        on_change=_mark_changed, args=(f"{key}-changed",),
    )
    files = files if isinstance(files, list) else [files] if files is not None else []
    kept = _kept_input("upload", key, files)
    if kept and not files:
        names = ", ".join(safe_name(item.name) for item in kept[:3]) + (", ..." if len(kept) > 3 else "")
        st.caption(t("inputs.earlier_upload", names=names))
    return kept


def camera_ui(*, key="camera"):
    """The camera; returns the photo as a one-element list (empty until a photo is taken)."""
    photo = st.camera_input(t("inputs.take_photo"), key=key, on_change=_mark_changed, args=(f"{key}-changed",))
    return _kept_input("camera", key, [photo] if photo is not None else [])


def draw_ui(*, key="canvas"):
    """A canvas to draw a digit or a piece of clothing with the mouse or a finger; returns the drawing."""
    drawing = drawing_png(key=key)
    if not drawing:
        return []
    try:
        rgb = decode(drawing)  # The canvas's PNG comes from the browser: it goes through the same checks.
    except images.ImageError as error:
        st.error(i18n.error_text(error), icon=":material/error:")
        return []
    if rgb.min() > 250:  # Nothing drawn yet: a blank canvas is not a digit.
        return []
    return [InputImage(t("inputs.your_drawing"), rgb)]


def fitting_samples(card):
    """The ids of the samples a model knows (`datasets.collections_for`), its own collection's first.

    Within a collection, samples of the model's own classes come first: a two-class model
    opens on one of its two classes.
    """
    order = {collection: rank for rank, collection in enumerate(datasets.collections_for(card.dataset))}
    known = {name.lower() for name in card.class_names}
    fitting = [sample for sample in sample_list() if sample.collection in order]
    fitting.sort(key=lambda sample: (order[sample.collection], (sample.label_name or "").lower() not in known))
    return [sample.id for sample in fitting]


def _first_sample(card):
    """The sample a model opens on: the first it knows, else a photo (for a model of unknown kind), else any."""
    fitting = fitting_samples(card)
    photos = [sample.id for sample in sample_list() if sample.collection == "photos"]
    return (fitting or photos or [sample.id for sample in sample_list()])[0]


def _sample_from_link(by_id):
    """Takes a `?sample=ID` a link gives: shows that sample (and the samples), or says why it cannot."""
    requested = links.requested("sample")
    if requested is None:
        return False
    if requested in by_id:
        st.session_state.sample_id = requested
        st.session_state.image_source = "samples"
        return True
    current = by_id.get(st.session_state.get("sample_id"))
    links.refused("sample", requested, t("inputs.sample_refused"),
                  f"“{sample_title(current)}”" if current else t("inputs.first_sample"))
    return False


def _domain_note(card, sample):
    """One sentence when the model does not know this kind of image (`datasets.domain_mismatch`).

    `imgrec` words it in English; in another language the page says the same more briefly, naming the collection.
    """
    sentence = datasets.domain_mismatch(card.dataset, card.class_names, sample.collection, sample.label_name)
    if sentence and i18n.language() != i18n.DEFAULT:
        sentence = t("inputs.domain_mismatch", collection=collection_title(sample.collection))
    if sentence:
        st.warning(sentence, icon=":material/help:")


def samples_ui(card, *, key="sample"):
    """The gallery of shipped samples; returns the chosen sample as a one-element list.

    The choice is kept in session state and written into the URL (`?sample=ID`). When the
    model changes, a sample it does not know gives way to one it knows.
    """
    listing = sample_list()
    if not listing:
        st.info(t("inputs.no_samples"))
        return []
    by_id = {sample.id: sample for sample in listing}
    collections = [name for name in COLLECTION_TITLES if any(sample.collection == name for sample in listing)]
    current = st.session_state.get("sample_id")
    model_changed = st.session_state.get("sample-model") != card.name
    if current not in by_id or (model_changed and current not in fitting_samples(card) and fitting_samples(card)):
        current = st.session_state.sample_id = _first_sample(card)
    st.session_state["sample-model"] = card.name
    st.session_state[f"{key}-collection"] = by_id[current].collection
    collection = st.segmented_control(
        t("inputs.collection"), collections, format_func={name: collection_title(name) for name in collections}.get,
        key=f"{key}-collection",
        on_change=_switch_collection, args=(f"{key}-collection",),
    ) or by_id[current].collection
    ids = [sample.id for sample in listing if sample.collection == collection]
    st.session_state[f"{key}-id"] = current if current in ids else ids[0]
    # Each format_func reads texts made now: AppTest calls it again outside the run, where no language is set.
    titles = {item: sample_title(by_id[item]) for item in ids}
    sample_id = st.columns([1, 1])[0].selectbox(t("inputs.sample"), ids, format_func=titles.get,
                                                 key=f"{key}-id", on_change=remember, args=("sample_id", f"{key}-id"))
    st.session_state.sample_id = sample_id
    links.write(sample=sample_id)
    _domain_note(card, by_id[sample_id])
    return [InputImage(by_id[sample_id].title, sample_image(sample_id))]


def _switch_collection(widget_key):
    collection = st.session_state[widget_key]
    if collection:
        st.session_state.sample_id = next(sample.id for sample in sample_list() if sample.collection == collection)


def image_input(card, *, multiple=True, key="input"):
    """Lets the visitor choose images: samples, upload, camera or a drawing; returns a list of InputImage.

    The chosen source and image carry from page to page within a session; a link's
    `?sample=ID` shows that sample, whatever this session looked at before.
    """
    if _sample_from_link({sample.id: sample for sample in sample_list()}):
        st.session_state["sample-model"] = card.name  # The link chose this pair: keep it, even if it does not fit.
    if "image_source" not in st.session_state:
        st.session_state.image_source = "samples"
    st.session_state[f"{key}-source"] = st.session_state.image_source
    source = st.segmented_control(
        t("inputs.source"), list(SOURCES), format_func={source: source_title(source) for source in SOURCES}.get,
        key=f"{key}-source",
        on_change=remember, args=("image_source", f"{key}-source"), label_visibility="collapsed",
    ) or st.session_state.image_source
    if source != "samples":
        links.write(sample=None)  # An upload, a photo or a drawing cannot travel in a link.
    if source == "upload":
        return upload_ui(multiple=multiple, key=f"{key}-upload")
    if source == "camera":
        return camera_ui(key=f"{key}-camera")
    if source == "draw":
        return draw_ui(key=f"{key}-canvas")
    return samples_ui(card, key=f"{key}-sample")


def pick_one(chosen, *, key="pick"):
    """With several images, a selector for the one to look at closely; returns that InputImage (or None)."""
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]
    position = st.selectbox(t("inputs.look_closely"), range(len(chosen)), format_func=lambda i: chosen[i].name, key=key)
    return chosen[position]
