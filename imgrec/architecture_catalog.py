"""The architectures imgrec builds, by name, with one sentence each: importable without Keras.

`architectures.py` builds them (and imports Keras); the web server and a config's validation
only need the names, so they read them here and never import TensorFlow.
"""

ARCHITECTURES = ("cnn", "cnn-deep", "cnn-gap", "crnn", "rnn", "vit", "mlp")
RECURRENT_CELLS = ("simple", "gru", "lstm")

DESCRIPTIONS = {
    "cnn": "Classic convnet: Conv(32)-Pool-Conv(64)-Pool-Flatten-Dropout-Dense (keras.io's MNIST example).",
    "cnn-deep": "Deeper convnet: three Conv-BatchNorm-ReLU-Pool stages (32, 64, 128 filters), then Dense.",
    "cnn-gap": "All-convolutional net: four Conv-BatchNorm-ReLU stages (32, 64, 128, 128 filters), then the average "
               "of each map (global average pooling) into the classifier: few weights, and a feature counts "
               "wherever it appears.",
    "crnn": "Conv stack, then the feature map's columns read left to right as a sequence by a recurrent layer.",
    "rnn": "The image's rows read top to bottom as a sequence of vectors by a recurrent layer.",
    "vit": "Vision Transformer: patches, a class token, position embeddings and self-attention blocks.",
    "mlp": "Baseline multi-layer perceptron on the flattened pixels.",
}
