"""The per-model cache of compiled `tf.function`s and tap models, so a repeated click costs one graph call.

One entry per live model object (weakly, as in `inference.py`), holding sub-models and
compiled functions per layer: the first Grad-CAM of a layer traces (about a second on
EfficientNet-Lite0), every later one is a single call.
"""

import functools
import threading
import weakref

# Weak keys: a model that is dropped (a replaced registry entry) frees its graphs too. The
# values hold layers and sub-models, never the model object itself.
_CACHE = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.RLock()
# Someone clicking through all 140 layers of EfficientNet would otherwise keep 140 graphs;
# the oldest are dropped and rebuilt on demand (one trace, about a second).
MAX_ENTRIES_PER_MODEL = 48


def cached(model, key, build):
    """Returns `build()` for (model, key), computing it once per live model.

    Args:
        model: the `keras.Model` the entry belongs to (held weakly).
        key: a hashable name for the entry, e.g. `("forward", layer names...)`.
        build: a function of no arguments that makes the entry.

    Returns:
        The entry; the least recently used entries beyond `MAX_ENTRIES_PER_MODEL` are dropped.
    """
    with _CACHE_LOCK:
        entries = _CACHE.setdefault(model, {})
        if key in entries:
            entries[key] = entries.pop(key)  # Most recently used last.
        else:
            entries[key] = build()
            while len(entries) > MAX_ENTRIES_PER_MODEL:
                entries.pop(next(iter(entries)))
        return entries[key]


def entries(model):
    """Returns the keys cached for a model, least recently used first (empty when none)."""
    with _CACHE_LOCK:
        return list(_CACHE.get(model, {}))


def cached_models():
    """Returns how many live models have cache entries."""
    with _CACHE_LOCK:
        return len(_CACHE)


def clear_cache(model=None):
    """Forgets the compiled functions of one model (or of all models)."""
    with _CACHE_LOCK:
        if model is None:
            _CACHE.clear()
        else:
            _CACHE.pop(model, None)


def compile_function(python_function, bound, specs):
    """Wraps `python_function(*bound, *tensors)` in a tf.function with a fixed input signature.

    A `functools.partial` rather than a closure: TensorFlow counts traces per code object,
    and would warn about "excessive retracing" when each layer's own function traces once.
    """
    import tensorflow as tf

    return tf.function(functools.partial(python_function, *bound), input_signature=list(specs), reduce_retracing=True)
