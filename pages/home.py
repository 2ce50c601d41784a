"""Home: what imgrec is, the models with their measured accuracy, a small gallery and the way in."""

import streamlit as st

from pages._ui import inputs, models, navigation, views

# One sample per collection for the gallery, with the collection's suited model when present.
GALLERY = ("mnist-00", "fashion-mnist-00", "cifar10-00", "imagenet-07", "photos-chelsea", "photos-coffee")


def intro():
    st.title("How does a computer recognise an image?")
    st.markdown(
        "To a computer, a picture is only a grid of numbers: one brightness per pixel, or three "
        "(red, green, blue) for a colour photo. An **image classifier** is a neural network that turns "
        "that grid into one probability per class, such as *cat*, *digit 7* or *sneaker*. It does this "
        "in layers. The first layers slide small **filters** (3 x 3 grids of weights) over the image and "
        "light up where they find an edge, a corner or a stroke; later layers combine those findings into "
        "parts and whole objects, and the last layer weighs all the evidence into the probabilities. "
        "Nobody writes the filters by hand: the network **learns** them from thousands of labelled examples, "
        "nudging every weight a little after each mistake. A **vision transformer** works differently: it "
        "cuts the image into patches and lets every patch *attend* to the others. The pages below let you "
        "watch each of these steps on your own images."
    )


def page_links():
    pages = (
        ("pages/predict.py", "Predict", ":material/image_search:",
         "Upload, photograph, draw or pick an image; see the top classes and which pixels made the model "
         "choose each one."),
        ("pages/feature_maps.py", "Feature maps", ":material/grid_view:",
         "Look inside the network: what every filter of a layer lights up on, and the arithmetic behind one "
         "number, small enough to check by hand."),
        ("pages/attention.py", "Attention", ":material/visibility:",
         "For a vision transformer: where each patch looks, head by head and layer by layer, and how the "
         "attention flows to the decision."),
        ("pages/filters.py", "Filters", ":material/filter_vintage:",
         "What each filter looks for: the pattern it answers to most, grown from grey, beside the test images "
         "that excite it."),
        ("pages/data_map.py", "Data map", ":material/scatter_plot:",
         "Where the test images lie for a model: one dot each, close when the model finds them alike; click one "
         "to open it."),
    )
    for column, (page, label, icon, text) in zip(st.columns(len(pages)), pages, strict=True):
        with column.container(border=True):
            st.page_link(page, label=label, icon=icon)
            st.caption(text)


def models_table(cards):
    st.subheader("The models")
    st.markdown(
        "Each model below was trained here and then **measured on images it never saw during training** "
        "(the split named beside the number). That measured accuracy is the honest score: a model can be "
        "perfect on its training images and still fail on new ones."
    )
    rows = []
    for card in cards:
        # The measured accuracy comes right after the title: it is what the table is for.
        rows.append({
            "Model": card.display_title,
            "Accuracy": card.accuracy,
            "Reconstruction error": card.reconstruction_mse,
            "Measured on": card.measured_on_text(),
            "Architecture": card.architecture,
            "Dataset": card.dataset,
            "Classes": len(card.class_names) if card.is_classifier else None,
            "Parameters": card.parameters,
            "Name": card.name,
        })
    st.dataframe(
        rows, hide_index=True,
        column_config={
            "Model": st.column_config.TextColumn("Model", width="medium"),
            "Accuracy": st.column_config.NumberColumn("Accuracy", format="percent", width="small"),
            "Reconstruction error": st.column_config.NumberColumn(
                format="%.4f", help="An autoencoder's score: how far its rebuilt images are from the originals "
                                    "(mean squared, pixels 0..1); lower is better."),
            "Parameters": st.column_config.NumberColumn("Parameters", format="localized"),
        },
    )


def _model_for(collection, cards):
    """The name of a model that suits a sample collection, or None."""
    for card in cards:
        if inputs.default_collection(card) == collection:
            return card.name
    if collection == "imagenet":
        return next((card.name for card in cards if card.name == "imagenet-efficientnet-lite0"), None)
    return None


def _square(rgb):
    """The central square of an image, so the gallery's tiles line up."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top : top + side, left : left + side]


def _short_title(title):
    """'MNIST sample 0: 7' -> '7'; 'Chelsea the cat' -> 'Chelsea the cat'; at most 16 characters."""
    short = title.split(": ")[-1]
    if short.isdigit():
        return f"Digit {short}"
    return short if len(short) <= 16 else short[:15].rstrip() + "..."


def gallery(cards):
    st.subheader("Try one")
    listing = {sample_id: (title, collection) for sample_id, title, collection in inputs.sample_list()}
    chosen = [sample_id for sample_id in GALLERY if sample_id in listing]
    if not chosen:
        st.caption("No sample images are installed on this server; upload your own on the Predict page.")
        return
    for column, sample_id in zip(st.columns(len(chosen)), chosen, strict=True):
        title, collection = listing[sample_id]
        model = _model_for(collection, cards)
        with column:
            st.image(views.thumbnail_png(_square(inputs.sample_image(sample_id)), 128), width=112)
            params = {"sample": sample_id, **({"model": model} if model else {})}
            st.page_link("pages/predict.py", label=_short_title(title), query_params=params)


def main():
    intro()
    page_links()
    cards = models.model_cards()
    gallery(cards)
    models_table(cards)


navigation.run_inside_navigation()
main()
