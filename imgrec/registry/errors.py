"""The registry's exceptions, in a module of their own so every part of the registry can raise them."""


class RegistryError(ValueError):
    """A model cannot be listed, loaded or saved; `str(e)` is one sentence saying why."""


class ModelNotFound(RegistryError):
    """No model of that name in the registry."""


class UnsafeModelError(RegistryError):
    """A model file that fails a safety or integrity check; it was not deserialised."""
