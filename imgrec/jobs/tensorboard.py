"""TensorBoard logs of a run: its progress events written as scalars, without the `tensorboard` package."""

import pathlib


class TensorBoardScalars:
    """Writes a run's progress events as TensorBoard scalars, in the layout of Keras's TensorBoard callback.

    Keras's callback needs the `tensorboard` package for `tf.summary.scalar`; TensorFlow's core
    `tf.summary.write` with the scalars plugin's metadata writes the same event files without it.
    Epoch values go to `train/` and `validation/` as `epoch_loss`, `epoch_accuracy`; the
    throttled batch values to `train/` as `batch_loss`, `batch_accuracy` by global step.

    Args:
        log_dir: the folder for the logs (`runs/<id>/tb`).
    """

    def __init__(self, log_dir):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        self._tf = tf
        self._metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        self._writers = {
            "train": tf.summary.create_file_writer(str(pathlib.Path(log_dir) / "train")),
            "validation": tf.summary.create_file_writer(str(pathlib.Path(log_dir) / "validation")),
        }

    def _scalar(self, writer, tag, value, step):
        if isinstance(value, int | float) and not isinstance(value, bool):
            with self._writers[writer].as_default():
                self._tf.summary.write(tag, self._tf.constant(value, self._tf.float32), step=step,
                                       metadata=self._metadata)

    def write(self, event):
        """Writes the scalars of one `training.train` progress event."""
        if event.get("event") == "epoch":
            for key in ("loss", "accuracy"):
                self._scalar("train", f"epoch_{key}", event.get(key), event["epoch"])
                self._scalar("validation", f"epoch_{key}", event.get(f"val_{key}"), event["epoch"])
        elif event.get("event") == "batch":
            for key in ("loss", "accuracy"):
                self._scalar("train", f"batch_{key}", event.get(key), event["step"])

    def close(self):
        """Flushes and closes the event files."""
        for writer in self._writers.values():
            writer.close()
