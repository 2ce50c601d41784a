"""A loaded model plus its card, and the ranked predictions it makes."""

import numpy as np


class Prediction(tuple):
    """One ranked class: `(label, index, probability)`, also as attributes."""

    __slots__ = ()

    def __new__(cls, label, index, probability):
        return super().__new__(cls, (label, index, probability))

    label = property(lambda self: self[0])
    index = property(lambda self: self[1])
    probability = property(lambda self: self[2])

    def to_dict(self):
        return {"label": self.label, "index": self.index, "probability": self.probability}


class Classifier:
    """A loaded model plus its card: knows its input, its classes and how to prepare any image."""

    def __init__(self, name, model_card, model):
        self.name = name
        self.card = model_card  # The `ModelCard`.
        self.model = model
        self.class_names = tuple(model_card.class_names)
        self.input_shape = tuple(int(size) for size in model.input_shape[1:])
        # `preprocess.prepare` reads the spec as JSON; converted once, not per image.
        self._preprocessing_spec = model_card.preprocessing.to_json()

    @property
    def is_classifier(self):
        """Whether the model gives class scores; an autoencoder gives an image back instead."""
        return self.card.is_classifier

    def __repr__(self):
        return f"Classifier({self.name!r}, input={self.input_shape}, classes={len(self.class_names)})"

    def preprocess(self, rgb):
        """Returns what the model sees: float32 `input_shape` in 0..255."""
        from imgrec import preprocess

        return preprocess.prepare(rgb, self.input_shape, self._preprocessing_spec)

    def predict_proba(self, rgb_images):
        """Returns `(N, num_classes)` probabilities for a list of decoded RGB images."""
        batch = np.stack([self.preprocess(rgb) for rgb in rgb_images]).astype(np.float32)
        return self.predict_inputs(batch)

    def predict_inputs(self, batch):
        """Returns probabilities for a batch already in model-input form."""
        from imgrec import inference

        return inference.predict_probabilities(self.model, batch)

    def top_k(self, rgb, k=5):
        """Returns the k most probable classes of one decoded RGB image as `Prediction`s."""
        probabilities = self.predict_proba([rgb])[0]
        return self.rank(probabilities, k)

    def rank(self, probabilities, k=5):
        """Returns the k most probable classes of a probability vector."""
        k = max(1, min(int(k), len(self.class_names)))
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [Prediction(self.class_names[i], int(i), float(probabilities[i])) for i in order]

    def predict_bytes(self, data, k=5):
        """Decodes untrusted image bytes and returns the top k (raises `images.ImageError`)."""
        from imgrec import images

        return self.top_k(images.decode_image(data), k)
