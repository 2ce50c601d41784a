"""Where a model puts images: the numbers it decides from (or an autoencoder's code), projected onto a 2-D map.

A classifier's last layer weighs one vector per image, the input of its "predictions" layer
(the penultimate activations): images the model finds alike get nearby vectors. An
autoencoder's vector is its code (layer "latent"). `embed` projects those vectors of a
sample of test images to two dimensions, with PCA (a linear view: the two directions the
vectors spread most) or t-SNE (keeps close neighbours close, at the cost of distances).
UMAP is not offered: its package pulls in numba, whose first compile takes tens of seconds
on 2 cores, and t-SNE on 1,500 points answers in seconds.

`separation` measures how well a map groups the classes, so a trained model's map can be
compared with a map of the raw pixels (`pixel_features`).
"""

import dataclasses

import numpy as np

from imgrec import architectures, inference
from imgrec.explain import layers, taps

METHODS = ("pca", "tsne")
METHOD_TITLES = {"pca": "PCA", "tsne": "t-SNE"}
DEFAULT_SAMPLES = 1500  # Enough for every class to form a visible cloud; t-SNE takes ~5-10 s on 2 cores.
# t-SNE first reduces to this many dimensions with PCA, as its authors advise: it is faster and
# drops the noisiest directions.
TSNE_PCA_DIMENSIONS = 50
TSNE_PERPLEXITY = 30  # Roughly the neighbours each point keeps close; 5-50 is the usual range.
NEIGHBOURS = 5  # The k of the k-nearest-neighbour score in `separation`.


@dataclasses.dataclass(frozen=True, eq=False)
class Embedding:
    """Test images placed on a 2-D map by a model. Equality is identity (it holds arrays)."""

    method: str  # "pca" or "tsne".
    points: np.ndarray  # float32 (n, 2): each image's place on the map.
    indices: np.ndarray  # int64 (n,): each image's position in its split.
    labels: np.ndarray  # int64 (n,): its true class.
    predicted: np.ndarray | None  # int64 (n,): the class the model chose; None for an autoencoder.
    confidence: np.ndarray | None  # float32 (n,): the probability of that class; None for an autoencoder.
    layer: str  # The layer whose vectors were projected, e.g. "dense" or "latent".
    dimensions: int  # How many numbers each vector had before the projection.

    def to_json(self, class_names=None):
        """Returns the CLI's JSON: `{"method", "n", "layer", "dimensions", "points": [{"x", "y", "label", "predicted"}]}`.

        Args:
            class_names: names to write for `label` and `predicted`. Defaults to `None`: the
                class indices.
        """
        def name(index):
            return int(index) if class_names is None else str(class_names[int(index)])

        predicted = self.predicted if self.predicted is not None else [None] * len(self.labels)
        points = [{"x": float(x), "y": float(y), "label": name(label),
                   "predicted": None if guess is None else name(guess), "index": int(index)}
                  for (x, y), label, guess, index in zip(self.points, self.labels, predicted, self.indices, strict=True)]
        return {"method": self.method, "n": len(points), "layer": self.layer, "dimensions": self.dimensions,
                "points": points}


def feature_layer(model):
    """Returns `(layer, which)`: the tensor whose vectors the map shows.

    An autoencoder's code (the output of "latent"); for a classifier, the input of its
    output layer (the penultimate activations), also when the classifier is nested.
    """
    if architectures.is_autoencoder(model):
        return model.get_layer(architectures.LATENT_LAYER), "output"
    return layers.output_layer(model), "input"


def feature_layer_name(model):
    """Returns the name of the layer whose output the map shows, e.g. "dense" (a classifier's penultimate layer)."""
    layer, which = feature_layer(model)
    if which == "output":
        return layer.name
    tensor, source = layer.input, None
    while True:
        source = next((candidate for candidate, _, _ in layers.walk(model)
                       if not layers.is_model(candidate) and _output_of(candidate) is tensor), None)
        # Dropout passes its input through unchanged at inference: name the layer that made the numbers.
        if source is None or "Dropout" not in layers.type_names(source):
            break
        tensor = source.input
    return source.name if source is not None else f"the input of {layer.name}"


def _output_of(layer):
    try:
        return layer.output
    except (AttributeError, ValueError):  # A layer never called in the graph.
        return None


def features(model, images, batch_size=256):
    """Returns the vectors of `feature_layer` for images: float32 `(N, dimensions)`.

    Args:
        model: a `keras.Model` taking raw 0..255 pixels.
        images: `(N, height, width, channels)`.
        batch_size: images per forward pass. Defaults to `256`.
    """
    tapped = (feature_layer(model),)
    images = np.asarray(images, dtype=np.float32)
    chunks = [taps.read(model, images[start : start + batch_size], tapped)[0]
              for start in range(0, len(images), batch_size)]
    if not chunks:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(chunks).reshape(len(images), -1).astype(np.float32)


def pixel_features(images):
    """Returns raw pixels as vectors (0..1), the baseline a model's map is compared with."""
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1) / 255.0


def project(vectors, method="pca", seed=0):
    """Projects vectors to 2-D.

    Args:
        vectors: `(N, D)` with N >= 3 and D >= 2.
        method: "pca" or "tsne". Defaults to `"pca"`.
        seed: seeds t-SNE (and PCA's randomised solver). Defaults to `0`.

    Returns:
        float32 `(N, 2)`.

    Raises:
        ValueError: for an unknown method or too few vectors.
    """
    from sklearn.decomposition import PCA

    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 3 or vectors.shape[1] < 2:
        raise ValueError(f"A 2-D map needs at least 3 vectors of at least 2 numbers, got shape {vectors.shape}.")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors).astype(np.float32)
    from sklearn.manifold import TSNE

    dimensions = min(TSNE_PCA_DIMENSIONS, vectors.shape[1], len(vectors))
    if dimensions < vectors.shape[1]:
        vectors = PCA(n_components=dimensions, random_state=seed).fit_transform(vectors)
    perplexity = min(TSNE_PERPLEXITY, (len(vectors) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    return tsne.fit_transform(vectors).astype(np.float32)


def sample_indices(labels, count, seed=0):
    """Returns up to `count` indices, the same share from every class (stratified), in split order."""
    labels = np.asarray(labels).astype(np.int64).ravel()
    if count >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    try:
        chosen, _ = train_test_split(np.arange(len(labels)), train_size=int(count), stratify=labels, random_state=seed)
    except ValueError:  # A class with a single image cannot be stratified: a plain random draw.
        chosen = np.random.default_rng(seed).choice(len(labels), int(count), replace=False)
    return np.sort(chosen)


def embed(model, images, labels, *, samples=DEFAULT_SAMPLES, method="pca", seed=0):
    """Places a stratified sample of images on a 2-D map of the model's vectors.

    Args:
        model: a classifier or an autoencoder (`keras.Model`) taking the images.
        images: the split's images `(N, height, width, channels)`, 0..255.
        labels: their true classes `(N,)`.
        samples: how many images to place. Defaults to `DEFAULT_SAMPLES`.
        method: "pca" or "tsne". Defaults to `"pca"`.
        seed: seeds the sample and the projection. Defaults to `0`.

    Returns:
        An `Embedding`; a classifier's also says what it predicted for each image.

    Raises:
        ValueError: for an unknown method, or fewer than 3 images.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    indices = sample_indices(labels, samples, seed)
    chosen = np.asarray(images)[indices]
    vectors = features(model, chosen)
    predicted = confidence = None
    if not architectures.is_autoencoder(model):
        probabilities = inference.predict_probabilities(model, chosen)
        predicted = probabilities.argmax(axis=1).astype(np.int64)
        confidence = probabilities.max(axis=1).astype(np.float32)
    return Embedding(method=method, points=project(vectors, method, seed), indices=indices.astype(np.int64),
                     labels=np.asarray(labels).astype(np.int64)[indices], predicted=predicted, confidence=confidence,
                     layer=feature_layer_name(model), dimensions=int(vectors.shape[1]))


def separation(points, labels, neighbours=NEIGHBOURS):
    """Measures how well a 2-D map groups images by class.

    Args:
        points: `(N, 2)` map positions.
        labels: `(N,)` true classes.
        neighbours: the k of the k-nearest-neighbour score. Defaults to `NEIGHBOURS`.

    Returns:
        `{"neighbour_accuracy", "silhouette"}`: the share of points whose k nearest other
        points mostly share their class (leave-one-out), and the silhouette score (-1 to 1,
        higher when classes form tight, separate clouds).

    Example:

    >>> separated = separation(np.array([[0, 0], [0, 1], [1, 0], [9, 9], [9, 8], [8, 9]]), [0, 0, 0, 1, 1, 1], 2)
    >>> separated["neighbour_accuracy"]
    1.0
    """
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier

    points, labels = np.asarray(points, dtype=np.float64), np.asarray(labels).astype(np.int64).ravel()
    knn = KNeighborsClassifier(n_neighbors=int(neighbours) + 1).fit(points, labels)
    # Each point's own neighbours, itself left out (it is its own nearest neighbour).
    nearest = knn.kneighbors(points, return_distance=False)[:, 1:]
    votes = labels[nearest]
    guessed = np.array([np.bincount(row).argmax() for row in votes])
    return {"neighbour_accuracy": float((guessed == labels).mean()),
            "silhouette": float(silhouette_score(points, labels)) if len(np.unique(labels)) > 1 else 0.0}
