"""How a model's own layers connect: the edges of its architecture graph, read from public information.

A Sequential model is a chain. A functional model's `get_config()` names, for every call of
every layer, the layers whose outputs that call took (the `keras_history` of its inbound
nodes): the same graph Keras rebuilds a saved model from, without its private attributes.
"""


def _history_names(value):
    """Yields the layer names that a serialised call's arguments come from, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value["config"]["keras_history"][0]
            return
        for item in value.values():
            yield from _history_names(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _history_names(item)


def layer_edges(model):
    """Returns the connections between a model's own layers, as `(from, to)` layer names.

    A nested model is one of the model's layers, so it is one node here; the layers inside
    it add no edges. Edges come in the order of the layers they lead to, each once.

    Args:
        model: a `keras.Model` (Sequential or functional; a subclassed model has no graph
            to read and gives no edges).

    Returns:
        A list of `(parent name, child name)` pairs, both among `model.layers`.

    Example:

    >>> layer_edges(architectures.build("cnn", (28, 28, 1), 10))[:2]
    [('image', 'rescale'), ('rescale', 'conv1')]
    """
    import keras

    names = [layer.name for layer in model.layers]
    if isinstance(model, keras.Sequential):
        return list(zip(names, names[1:], strict=False))
    try:
        config = model.get_config()
    except NotImplementedError:  # A subclassed model without get_config: no graph to read.
        return []
    known = set(names)
    edges = []
    for layer_config in config.get("layers", []):
        child = layer_config.get("name")
        if child not in known:
            continue
        for parent in _history_names(layer_config.get("inbound_nodes", [])):
            if parent in known:
                edges.append((parent, child))
    return list(dict.fromkeys(edges))
