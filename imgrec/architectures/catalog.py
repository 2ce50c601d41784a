"""What architectures there are: their names and tasks, one-line descriptions, recurrent cells, the ViT's patch.

Plain data with no Keras import, so validating a training config, listing architectures on
a page or queueing a run costs no TensorFlow start (~4 s and ~300 MB per process).
"""

ARCHITECTURES = ("cnn", "cnn-deep", "cnn-gap", "crnn", "rnn", "vit", "mlp")  # The classifiers.
AUTOENCODER = "autoencoder"
ALL_ARCHITECTURES = (*ARCHITECTURES, AUTOENCODER)  # What a training config may name.
# What a model does: "classification" (one probability per class) or "reconstruction" (the image again).
TASKS = ("classification", "reconstruction")
RECURRENT_CELLS = ("simple", "gru", "lstm")
LATENT_LAYER = "latent"  # The autoencoder's code layer: where the image is smallest.

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
    "autoencoder": "Convolutional autoencoder: squeezes each image into a few numbers (the latent code), then "
                   "rebuilds the image from them alone.",
}


def task_of(architecture):
    """Returns what a model of an architecture does: "reconstruction" for the autoencoder, else "classification"."""
    return "reconstruction" if architecture == AUTOENCODER else "classification"


def default_patch_size(input_shape):
    """Returns the ViT patch side used when none is given: 7 for 28x28, else 4 (or 2 for tiny inputs)."""
    height, width = input_shape[0], input_shape[1]
    for size in (7, 4, 2, 1):
        if height % size == 0 and width % size == 0 and (height // size) * (width // size) <= 256:
            return size
    return 1
