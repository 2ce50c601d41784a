"""Background jobs that picture a large model's filters (activation maximisation), cached beside the model.

A small model's whole layer is pictured in about a second, where the page is; EfficientNet-
Lite0 needs about a second per filter at 224 x 224, so its filters are pictured by a worker
process, a block of channels at a time, and kept. A job is a folder in the cache, next to
the built ImageNet model (`.cache/filters/NAME-SHA/LAYER-FIRST-COUNT/`):

```
request.json   the model (name and sha256), the layer and the channels asked for
status.json    {"status": running|done|failed, "done", "total", "reason", "pid", "pid_start", ...}
filters.npz    the result: channels, images (0..255), activations, the strongest sample indices
worker.log     the worker's output, for post-mortems
```

The folder is named after the model's sha256, so a replaced model is pictured afresh. The
worker is `python -m imgrec.jobs filters FOLDER`; nothing here imports TensorFlow.
"""

import contextlib
import hashlib
import os
import re
import subprocess
import sys
import time

import numpy as np

from imgrec import atomic, paths, texts
from imgrec.jobs import errors, folders, processes

# Models whose inputs have more pixels than this are pictured in the background: a 28 x 28
# layer takes about a second where the page is, a 224 x 224 one about a second per filter.
INLINE_MAX_PIXELS = 64 * 64
BLOCK = 16  # Channels per job: ~15-30 s of EfficientNet on 2 cores, a wait a visitor sees progress through.
BATCH = 4  # Channels climbed together at 224 x 224: the batch's maps fit in memory, progress moves often.
REQUEST_FILE, STATUS_FILE, RESULT_FILE, LOG_FILE = "request.json", "status.json", "filters.npz", "worker.log"
RUNNING, DONE, FAILED = folders.RUNNING, folders.DONE, folders.FAILED
DIED_REASON = "The background job stopped before it finished; start it again."


def needs_background(card):
    """Whether a model's filters are pictured in a background job (large inputs) rather than at once."""
    height, width = card.input.shape[:2]
    return height * width > INLINE_MAX_PIXELS


def folder_for(card, layer_name, first_channel=0, count=BLOCK):
    """Returns the job folder of a block of a layer's channels, for a registry model's card.

    Raises:
        JobError: for a card without a sha256 (a model not built or saved yet).
    """
    if not card.sha256:
        raise texts.said(errors.JobError, "errors_jobs.filters_not_built", name=card.name)
    # Layer names may hold "/" (inside a nested model) or dots: kept readable, made safe, and
    # told apart by a short hash.
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", layer_name)[:60]
    digest = hashlib.sha256(layer_name.encode()).hexdigest()[:6]
    name = f"{safe}-{digest}-{int(first_channel)}-{int(count)}"
    return paths.cache_dir() / "filters" / f"{card.name}-{card.sha256[:16]}" / name


def status(folder):
    """Returns a job's status dict, or None when it was never started.

    A job whose worker died before finishing reads as failed with `DIED_REASON`.
    """
    state = atomic.read_json(folder / STATUS_FILE)
    if state is None:
        return None
    if state.get("status") == RUNNING and not processes.worker_alive(state):
        # The worker may have finished between the two reads: trust the file once more.
        state = atomic.read_json(folder / STATUS_FILE) or state
        if state.get("status") == RUNNING:
            return {**state, "status": FAILED, "reason": DIED_REASON}
    return state


def start(card, layer_name, first_channel=0, count=BLOCK):
    """Starts picturing a block of a layer's channels in a worker process, unless it runs or is done.

    Args:
        card: the model's `registry.ModelCard` (its name and sha256 name the model).
        layer_name: a spatial layer, or "first" / "last".
        first_channel: the block's first channel. Defaults to `0`.
        count: channels in the block (fewer when the layer ends sooner). Defaults to `BLOCK`.

    Returns:
        The job's status dict.

    Raises:
        JobError: for a model not built yet, or a worker that cannot start.
    """
    folder = folder_for(card, layer_name, first_channel, count)
    with atomic.locked(folder / ".lock"):
        state = status(folder)
        if state is not None and state["status"] in (RUNNING, DONE):
            return state
        for name in (STATUS_FILE, RESULT_FILE):
            (folder / name).unlink(missing_ok=True)
        atomic.write_json(folder / REQUEST_FILE, {"model": card.name, "sha256": card.sha256, "layer": layer_name,
                                                  "first_channel": int(first_channel), "count": int(count)})
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(paths.REPO_ROOT), environment.get("PYTHONPATH")) if part)
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            with open(folder / LOG_FILE, "ab") as log:
                # Its own session, as a training run's worker: it outlives the page that asked for it.
                process = subprocess.Popen([sys.executable, "-m", "imgrec.jobs", "filters", str(folder)], cwd=folder,
                                           env=environment, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as error:
            raise errors.JobError(f"The background job could not start: {error.strerror or error}.") from None
        identity = processes.process_identity(process.pid)
        state = {"status": RUNNING, "done": 0, "total": None, "reason": None, "pid": process.pid,
                 "pid_start": identity[0] if identity else None, "started": time.time()}
        atomic.write_json(folder / STATUS_FILE, state)
    return state


def result(folder):
    """Returns a finished job's arrays (`channels`, `images`, `activations`, `strongest`, `sample_ids`), or None.

    `strongest` holds, per channel, the positions in `sample_ids` of the sample photos
    (`datasets.samples`) that excite it most.
    """
    state = status(folder)
    if state is None or state["status"] != DONE:
        return None
    with np.load(folder / RESULT_FILE, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def _update(folder, **changes):
    state = atomic.read_json(folder / STATUS_FILE) or {}
    atomic.write_json(folder / STATUS_FILE, {**state, **changes})


def run(folder):
    """Pictures the channels a job folder asks for; the body of `python -m imgrec.jobs filters FOLDER`.

    Always leaves the job done or failed (with a one-sentence reason).

    Returns:
        The process exit status: 0.
    """
    import pathlib

    folder = pathlib.Path(folder).absolute()
    with contextlib.suppress(OSError):
        os.nice(5)  # Below the web server, as training workers are.
    try:
        _picture(folder)
    except BaseException as error:  # noqa: B036 - every way out must leave a final status.
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        _update(folder, status=FAILED, reason=f"Picturing the filters failed: {detail}", finished=time.time())
    return 0


def _picture(folder):
    from imgrec import datasets, registry
    from imgrec.explain import maximisation

    request = atomic.read_json(folder / REQUEST_FILE)
    if request is None:
        raise errors.JobError("the job's request.json is missing")
    classifier = registry.load(request["model"])
    if classifier.card.sha256 != request["sha256"]:
        raise errors.JobError("the model was replaced since the job was asked for")
    model, first = classifier.model, int(request["first_channel"])
    layer = maximisation.resolve_layer(model, request["layer"])
    channels = list(range(first, min(first + int(request["count"]), maximisation.channel_count(model, layer))))
    _update(folder, total=len(channels))
    images, activations = maximisation.filter_images(
        model, layer, channels, batch_size=BATCH, on_progress=lambda done, total: _update(folder, done=done))
    # A large model has no test split here: the photos that ship with the app stand in for it.
    samples = datasets.samples("imagenet") + datasets.samples("photos")
    inputs = np.stack([classifier.preprocess(datasets.load_sample(sample.id)) for sample in samples])
    strongest, _ = maximisation.strongest_images(model, layer, inputs, channels)
    buffer = folder / f".{RESULT_FILE}.tmp"
    with open(buffer, "wb") as handle:
        np.savez_compressed(handle, channels=np.asarray(channels), images=images, activations=activations,
                            strongest=strongest, sample_ids=np.asarray([sample.id for sample in samples]))
    os.replace(buffer, folder / RESULT_FILE)
    _update(folder, status=DONE, done=len(channels), finished=time.time(), layer=layer)
