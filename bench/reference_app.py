"""The reference page of the serving benchmarks: the least a Streamlit page can do for an upload.

It decodes the upload, prepares the model's input, predicts with the cached `tf.function`
(`imgrec.inference`) and shows the image and a bar chart of the top five classes: no
explanation, no model picker, no session state. `python -m bench serving` runs it with
Streamlit's defaults (TensorFlow in the server, as a first Streamlit app would have it) and
measures its server's CPU per upload beside the real app's.

Run: streamlit run bench/reference_app.py, then open /?model=NAME.
"""

import numpy as np
import streamlit as st

from imgrec import images, inference, registry


@st.cache_resource
def load(name):
    return registry.load(name)


classifier = load(st.query_params.get("model", "mnist-cnn"))
upload = st.file_uploader("Upload an image", type=["png", "jpg", "jpeg"])
if upload is not None:
    model_input = classifier.preprocess(images.decode_image(upload.getvalue()))
    probabilities = inference.predict_probabilities(classifier.model, model_input[None])[0]
    top = np.argsort(-probabilities)[:5]
    pixels = np.clip(model_input, 0, 255).astype(np.uint8)
    st.image(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, caption=upload.name, width=180)
    st.bar_chart({"class": [classifier.class_names[i] for i in top], "probability": probabilities[top]},
                 x="class", y="probability", horizontal=True)
