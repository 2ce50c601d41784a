"""The images a visitor chooses: samples, an upload, a camera photo or a drawing, kept from page to page.

Every image is decoded from untrusted bytes here (and shrunk to WORKING_SIDE), so pages only
ever see checked uint8 RGB arrays.
"""

import hashlib
import typing

import numpy as np
import streamlit as st

from imgrec import datasets, images
from pages._ui import links, views
from pages._ui.models import remember

# Images read from one upload: enough for a table of a class's photos, few enough that one
# visitor cannot keep the shared server busy.
MAX_FILES = 12
# Photos are shrunk to this long side after decoding: every model here reads 224 x 224 or
# less, and a phone photo at full size would cost 36 MB of server memory per student.
WORKING_SIDE = 1024
TOOLBAR_ROOM = 56  # Pixels kept free above the drawing canvas for its floating toolbar.
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
SOURCES = {
    "samples": ":material/photo_library: Samples",
    "upload": ":material/upload: Upload",
    "camera": ":material/photo_camera: Camera",
    "draw": ":material/draw: Draw",
}
COLLECTION_TITLES = {"mnist": "MNIST digits", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10",
                     "cifar100": "CIFAR-100", "imagenet": "ImageNet", "photos": "Photos", "shapes": "Shapes"}


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
        st.warning(f"You chose {len(files)} files; the first {MAX_FILES} are read. Remove some to see the others.",
                   icon=":material/warning:")
        files = files[:MAX_FILES]
    for file in files:
        # The uploader's type filter and size limit are only conveniences in the browser: check here too.
        if file.size > images.MAX_UPLOAD_BYTES:
            st.error(f"**{safe_name(file.name)}**: the file is larger than the "
                     f"{images.MAX_UPLOAD_BYTES // 2**20} MB limit; shrink or compress it and upload it again.",
                     icon=":material/error:")
            continue
        try:
            decoded.append(InputImage(file.name, decode(file.getvalue())))
        except images.ImageError as error:
            st.error(f"**{safe_name(file.name)}**: {error}", icon=":material/error:")
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
        "Upload images (PNG, JPEG, WEBP, BMP or GIF, up to 10 MB each)" if multiple
        else "Upload an image (PNG, JPEG, WEBP, BMP or GIF, up to 10 MB)",
        type=UPLOAD_TYPES, accept_multiple_files=multiple, key=key,
        on_change=_mark_changed, args=(f"{key}-changed",),
    )
    files = files if isinstance(files, list) else [files] if files is not None else []
    kept = _kept_input("upload", key, files)
    if kept and not files:
        st.caption(f"Showing your earlier upload ({', '.join(safe_name(item.name) for item in kept[:3])}"
                   f"{', ...' if len(kept) > 3 else ''}); upload here to replace it.")
    return kept


def camera_ui(*, key="camera"):
    """The camera; returns the photo as a one-element list (empty until a photo is taken)."""
    photo = st.camera_input("Take a photo", key=key, on_change=_mark_changed, args=(f"{key}-changed",))
    return _kept_input("camera", key, [photo] if photo is not None else [])


def canvas_component():
    """Returns streamlit-drawable-canvas's `st_canvas`, or None when the package is missing or broken."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # Missing, or a version that does not register with this Streamlit.
        return None
    return st_canvas


def draw_ui(*, key="canvas"):
    """A canvas to draw a digit or a piece of clothing with the mouse or a finger; returns the drawing."""
    st_canvas = canvas_component()
    if st_canvas is None:
        st.info("Drawing needs the `streamlit-drawable-canvas` package (0.13 or newer) on the server. "
                "Meanwhile, draw on paper, take a photo and upload it.", icon=":material/draw:")
        return []
    canvas, tips = st.columns([1, 1], gap="large")
    with canvas:
        # The canvas's toolbar floats 46 pixels above its top edge: without this room it covered the
        # lower half of the Upload and Camera buttons, and took their clicks.
        st.space(TOOLBAR_ROOM)
        result = st_canvas(
            stroke_width=18, stroke_color="#000000", background_color="#ffffff",
            height=280, width=280, drawing_mode="freedraw", return_image_data=True, key=key,
        )
    tips.markdown(
        "Draw one large digit (or a piece of clothing) with the mouse or a finger, filling most of the box. "
        "The model gets your drawing when you lift the pen; the bin above the box clears it.\n\n"
        "MNIST digits are light ink on black, centred by their centre of mass: the model's view below shows "
        "your drawing turned into exactly that."
    )
    drawing = result.image_bytes if result is not None else None
    if not drawing:
        return []
    try:
        rgb = decode(drawing)  # The canvas's PNG comes from the browser: it goes through the same checks.
    except images.ImageError as error:
        st.error(str(error), icon=":material/error:")
        return []
    if rgb.min() > 250:  # Nothing drawn yet: a blank canvas is not a digit.
        return []
    return [InputImage("your drawing", rgb)]


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
    links.refused("sample", requested, "no sample image of that name is installed on this server",
                  f"“{current.title}”" if current else "the first sample the model knows")
    return False


def _domain_note(card, sample):
    """One sentence when the model does not know this kind of image (`datasets.domain_mismatch`)."""
    sentence = datasets.domain_mismatch(card.dataset, card.class_names, sample.collection, sample.label_name)
    if sentence:
        st.warning(sentence, icon=":material/help:")


def samples_ui(card, *, key="sample"):
    """The gallery of shipped samples; returns the chosen sample as a one-element list.

    The choice is kept in session state and written into the URL (`?sample=ID`). When the
    model changes, a sample it does not know gives way to one it knows.
    """
    listing = sample_list()
    if not listing:
        st.info("No sample images are installed here (they ship with the pip packages foolbox and scikit-image).")
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
        "Collection", collections, format_func=COLLECTION_TITLES.get, key=f"{key}-collection",
        on_change=_switch_collection, args=(f"{key}-collection",),
    ) or by_id[current].collection
    ids = [sample.id for sample in listing if sample.collection == collection]
    st.session_state[f"{key}-id"] = current if current in ids else ids[0]
    sample_id = st.columns([1, 1])[0].selectbox("Sample", ids, format_func=lambda item: by_id[item].title,
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
        "Image source", list(SOURCES), format_func=SOURCES.get, key=f"{key}-source",
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
    position = st.selectbox("Look closely at", range(len(chosen)), format_func=lambda i: chosen[i].name, key=key)
    return chosen[position]
