"""imgrec: see, explain and train image-recognition models; a Keras library with no UI."""

__version__ = "0.1.0"
