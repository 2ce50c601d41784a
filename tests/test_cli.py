"""The CLI contract: models, predict, evaluate, explain, train, data, export, trust, localisation; user errors exit 2 with one line."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgrec import cli, datasets, explain, images, registry
from imgrec.cli import explain as explain_command


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_models_json_lists_cards_with_metrics(fresh_registry, capsys):
    code, out, _ = run(capsys, "models", "--json")
    cards = json.loads(out)
    assert code == 0
    tiny = next(card for card in cards if card["name"] == "tiny-cnn")
    assert tiny["architecture"] == "cnn" and tiny["dataset"] == "mnist"
    assert 0 <= tiny["metrics"]["test_accuracy"] <= 1
    assert all("test_accuracy" in card["metrics"] for card in cards)


def test_predict_json_contract(fresh_registry, digit_png_file, capsys):
    code, out, _ = run(capsys, "predict", "--model", "tiny-cnn", "--top", "3", "--json", str(digit_png_file))
    results = json.loads(out)
    assert code == 0 and results[0]["file"] == str(digit_png_file)
    top = results[0]["top"]
    assert len(top) == 3 and set(top[0]) == {"label", "index", "probability"}
    assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]


def test_evaluate_json_contract(fresh_registry, capsys):
    code, out, _ = run(capsys, "evaluate", "--model", "tiny-cnn", "--max-samples", "300", "--json")
    report = json.loads(out)
    assert code == 0
    assert {"accuracy", "n", "dataset", "split", "per_class"} <= set(report)
    assert report["n"] == 300 and report["split"] == "test" and report["dataset"] == "mnist"


def test_train_from_a_config_file_and_save(fresh_registry, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"architecture": "mlp", "dataset": "digits", "epochs": 1, "max_samples": 200}))
    code, out, _ = run(capsys, "train", "--config", str(config), "--json", "--save", "cli-mlp")
    result = json.loads(out)
    assert code == 0 and result["saved"] == "cli-mlp" and 0 <= result["test_accuracy"] <= 1
    assert (fresh_registry / "cli-mlp.keras").exists()


def test_data_lists_every_dataset(capsys):
    code, out, _ = run(capsys, "data", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {"mnist", "fashion-mnist", "digits", "mnist-5k", "cifar10", "shapes"} <= {row["name"] for row in rows}
    shapes_row = next(row for row in rows if row["name"] == "shapes")
    assert shapes_row["present_source"].startswith("drawn by imgrec")
    assert (shapes_row["train_size"], shapes_row["test_size"]) == (16_000, 4_000)


def test_trust_json_contract(fresh_registry, digit_png_file, capsys):
    code, out, _ = run(capsys, "trust", "--model", "tiny-cnn", "--method", "gradcam", "--json", str(digit_png_file))
    results = json.loads(out)
    assert code == 0 and len(results) == 1
    result = results[0]
    assert list(result) == ["file", "method", "class_index", "deletion_auc", "insertion_auc", "random_deletion_auc",
                            "random_insertion_auc", "randomization", "verdict"]
    assert result["file"] == str(digit_png_file) and result["method"] == "gradcam"
    # Without --class the top class is explained; the classic CNN's groups from the output down.
    assert [row["layer"] for row in result["randomization"]] == ["predictions", "conv2", "conv1"]
    assert all(-1 <= row["spearman"] <= 1 for row in result["randomization"])
    assert all(0 <= result[key] <= 1 for key in ("deletion_auc", "insertion_auc", "random_deletion_auc",
                                                 "random_insertion_auc"))
    assert result["verdict"].endswith(".")
    code, out, _ = run(capsys, "trust", "--model", "tiny-cnn", "--method", "occlusion", "--class", "3", str(digit_png_file))
    assert code == 0 and "occlusion for '3'" in out and "Spearman" in out


def test_localisation_json_contract(fresh_registry, capsys):
    from imgrec import architectures, registry

    model = architectures.build("cnn-gap", (64, 64, 3), 4, seed=0)
    registry.save(model, "tiny-shapes", registry.card_for_model("cnn-gap", "shapes", (64, 64, 3),
                                                                datasets.SHAPES_CLASSES))
    code, out, _ = run(capsys, "localisation", "--model", "tiny-shapes", "--method", "gradcam++", "--n", "6", "--json")
    result = json.loads(out)
    assert code == 0 and list(result) == ["dataset", "method", "n", "pointing_game", "relevance_mass"]
    assert result["dataset"] == "shapes" and result["method"] == "gradcam++" and result["n"] == 6
    assert 0 <= result["pointing_game"] <= 1 and 0 <= result["relevance_mass"] <= 1


@pytest.fixture
def without_cifar10(tmp_path, monkeypatch):
    """An offline machine with an empty data cache and no earlier Keras download: CIFAR-10 is nowhere."""
    monkeypatch.setenv("IMGREC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMGREC_OFFLINE", "1")
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(datasets.sources, "_keras_datasets_dirs", lambda: [tmp_path / "keras" / "datasets"])
    return tmp_path


def test_data_says_exactly_how_to_get_a_missing_dataset(without_cifar10, capsys):
    code, out, _ = run(capsys, "data")
    assert code == 0
    assert f"\ncifar10: {datasets.how_to_get('cifar10')}" in out
    assert "data_batch_1 to data_batch_5" in out and str(without_cifar10 / "data" / "cifar10") in out
    code, out, _ = run(capsys, "data", "--json")
    cifar = {row["name"]: row for row in json.loads(out)}["cifar10"]
    assert cifar["present_source"] is None and cifar["how_to_get"] == datasets.how_to_get("cifar10")


def test_a_cifar10_run_or_search_is_refused_offline_as_the_app_refuses_it(without_cifar10, capsys):
    from imgrec import jobs

    config = without_cifar10 / "cifar.json"
    config.write_text(json.dumps({"architecture": "cnn", "dataset": "cifar10", "epochs": 1}))
    with pytest.raises(datasets.DatasetUnavailable) as refused:
        jobs.check_config({"architecture": "cnn", "dataset": "cifar10", "epochs": 1})
    expected = f"error: {refused.value}\n"
    assert datasets.how_to_get("cifar10") in expected
    for argv in (["runs", "submit", str(config)], ["search", "submit", str(config), "--trials", "2"]):
        code, out, err = run(capsys, *argv)
        assert (code, out, err) == (2, "", expected)
    assert not (without_cifar10 / "runs").exists() or not any((without_cifar10 / "runs").iterdir())


def test_export_tflite_and_savedmodel(fresh_registry, tmp_path, capsys):
    code, out, _ = run(capsys, "export", "--model", "tiny-cnn", "--format", "tflite", "--output",
                       str(tmp_path / "m.tflite"))
    assert code == 0 and (tmp_path / "m.tflite").stat().st_size > 1000
    code, out, _ = run(capsys, "export", "--model", "tiny-cnn", "--format", "savedmodel", "--output",
                       str(tmp_path / "saved"))
    assert code == 0 and (tmp_path / "saved" / "saved_model.pb").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--model", "no-such-model", "x.png"],
        ["predict", "--model", "../etc", "x.png"],
        ["predict", "--model", "tiny-cnn", "missing.png"],
        ["predict", "--model", "tiny-cnn", "--top", "0", "x.png"],
        ["evaluate", "--model", "tiny-cnn", "--split", "holdout"],
        ["train", "--preset", "no-such-preset"],
        ["train"],
        ["frobnicate"],
        ["predict", "--model"],
        ["trust", "--model", "tiny-cnn", "--method", "lime", "x.png"],
        ["trust", "--model", "tiny-cnn", "--method", "rollout", "x.png"],
        ["trust", "--model", "tiny-cnn", "--method", "gradcam", "--class", "10", "x.png"],
        ["trust", "--model", "tiny-cnn", "--method", "gradcam", "missing.png"],
        ["localisation", "--model", "tiny-cnn", "--method", "gradcam"],
        ["localisation", "--model", "tiny-cnn", "--method", "gradcam", "--n", "0"],
    ],
)
def test_user_errors_exit_2_with_one_line(fresh_registry, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_image_file_is_one_line(fresh_registry, tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<html>not an image</html>")
    code, _, err = run(capsys, "predict", "--model", "tiny-cnn", str(fake))
    assert code == 2 and "not a PNG, JPEG" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_subprocess_error_has_no_tensorflow_noise(fresh_registry, tmp_path):
    # The real command line: TensorFlow's start-up banner must not reach the user's stderr.
    fake = tmp_path / "fake.png"
    fake.write_bytes(np.zeros(10, np.uint8).tobytes())
    process = subprocess.run([sys.executable, "-m", "imgrec", "predict", "--model", "tiny-cnn", str(fake)],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().count("\n") == 0 and process.stderr.startswith("error:")


@pytest.mark.slow
def test_runs_contract_through_the_main_cli(fresh_registry, tmp_path, monkeypatch, capsys):
    from imgrec import jobs

    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path / "runs"))
    code, out, _ = run(capsys, "runs", "submit", "--preset", "quickstart", "--epochs", "1", "--max-samples", "200",
                       "--json")
    run_id = json.loads(out)["id"]
    assert code == 0
    jobs.wait(run_id, timeout=300)
    code, out, _ = run(capsys, "runs", "show", run_id, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "done" and 0 <= shown["test_accuracy"] <= 1
    code, out, _ = run(capsys, "runs", "--json")
    assert code == 0 and run_id in [row["id"] for row in json.loads(out)]
    code, _, err = run(capsys, "runs", "show", "../../etc", "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1


# The explain command.


@pytest.fixture
def digits(tmp_path):
    """Two MNIST samples (a 7 and a 2) as PNG files."""
    paths = []
    for sample_id in ("mnist-00", "mnist-01"):
        path = tmp_path / f"{sample_id}.png"
        Image.fromarray(datasets.load_sample(sample_id)).save(path)
        paths.append(path)
    return paths


def explain_reference(path, method, class_index=None, **options):
    """The class and the heatmap's peak computed through the library, as the command should report them."""
    classifier = registry.load("tiny-cnn")
    model_input = classifier.preprocess(images.read_image_file(path))
    if class_index is None:
        class_index = classifier.top_k(images.read_image_file(path), 1)[0].index
    heatmap = explain.explain(classifier.model, model_input, method, class_index, **options)
    return class_index, list(np.unravel_index(int(np.argmax(heatmap)), heatmap.shape))


def test_explain_json_explains_the_top_class_of_each_file_in_model_input_coordinates(fresh_registry, digits, capsys):
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--json", *map(str, digits))
    assert code == 0, err
    results = json.loads(out)
    assert [result["file"] for result in results] == [str(path) for path in digits]
    code, out, _ = run(capsys, "predict", "--model", "tiny-cnn", "--top", "1", "--json", *map(str, digits))
    predicted = [entry["top"][0] for entry in json.loads(out)]
    for result, top, path in zip(results, predicted, digits, strict=True):
        assert list(result) == list(explain_command.JSON_FIELDS)
        assert result["model"] == "tiny-cnn" and result["method"] == "gradcam" and result["shape"] == [28, 28]
        # Without --class: the class `predict` ranks first.
        assert result["class_index"] == top["index"] and result["label"] == top["label"]
        assert 0 <= result["peak"][0] < 28 and 0 <= result["peak"][1] < 28
        assert [result["class_index"], result["peak"]] == list(explain_reference(path, "gradcam"))


@pytest.mark.parametrize("method", ["integrated-gradients", "occlusion"])
def test_explain_runs_the_path_and_occlusion_explainers(fresh_registry, digits, capsys, method):
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", method, "--class", "4", "--json",
                         str(digits[1]))
    assert code == 0, err
    [result] = json.loads(out)
    assert result["method"] == method and result["class_index"] == 4
    assert [result["class_index"], result["peak"]] == list(explain_reference(digits[1], method, 4))


def test_explain_class_and_layer_are_the_ones_given(fresh_registry, digits, capsys):
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--class", "3",
                         "--layer", "conv1", "--json", str(digits[0]))
    assert code == 0, err
    [result] = json.loads(out)
    assert result["class_index"] == 3 and result["label"] == "3"
    assert result["peak"] == explain_reference(digits[0], "gradcam", 3, layer="conv1")[1]


def test_explain_without_json_prints_one_line_per_file(fresh_registry, digits, capsys):
    code, out, _ = run(capsys, "explain", "--model", "tiny-cnn", "--method", "saliency", *map(str, digits))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(f"{digits[0]}: Saliency of ") and lines[0].endswith("of 28x28")


def test_explain_output_writes_a_png_per_file_that_decodes(fresh_registry, digits, tmp_path, capsys):
    single = tmp_path / "single.png"
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--output", str(single),
                         str(digits[0]))
    assert code == 0 and out.rstrip().endswith(f"-> {single}"), err
    overlay = np.asarray(Image.open(io.BytesIO(single.read_bytes())).convert("RGB"))
    assert overlay.shape == (224, 224, 3)  # 28 x 28 enlarged 8 times with square pixels.
    assert np.array_equal(overlay[::8, ::8], overlay[7::8, 7::8])
    # The heatmap's colours are over the digit: not the grey input.
    assert np.abs(overlay[..., 0].astype(int) - overlay[..., 2]).max() > 50

    several = tmp_path / "many.png"
    code, _, _ = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--output", str(several),
                     *map(str, digits))
    written = sorted(path.name for path in tmp_path.glob("many*.png"))
    assert code == 0 and written == ["many-1.png", "many-2.png"]
    assert all(Image.open(tmp_path / name).size == (224, 224) for name in written)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nope", "--method", "gradcam"], "no model named 'nope'"),
        (["--model", "tiny-cnn", "--method", "magic"], "Unknown --method 'magic'; for model 'tiny-cnn' choose one of "
                                                       "gradcam, gradcam++, saliency, smoothgrad, integrated-gradients, occlusion."),
        (["--model", "tiny-cnn", "--method", "rollout"], "--method rollout does not apply to model 'tiny-cnn'; "
                                                         "choose one of gradcam, gradcam++, saliency, smoothgrad, integrated-gradients, occlusion."),
        (["--model", "tiny-cnn", "--method", "gradcam", "--class", "10"], "--class must be from 0 to 9"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--class", "-1"], "--class must be from 0 to 9"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--class", "seven"], "invalid int value: 'seven'"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--layer", "dense"], "--layer dense: model 'tiny-cnn' has no "
                                                                             "2-D feature map of that name"),
        (["--model", "tiny-cnn", "--method", "saliency", "--layer", "conv1"], "saliency weights no layer"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--output", "out.jpg"], "give a file name ending in .png"),
        (["--model", "tiny-cnn", "--method", "gradcam", "--output", "/no/such/folder/out.png"], "does not exist"),
        (["--model", "tiny-cnn"], "the following arguments are required: --method"),
    ],
)
def test_explain_user_errors_exit_2_with_one_line(fresh_registry, digits, capsys, argv, message):
    code, out, err = run(capsys, "explain", *argv, str(digits[0]))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize(("content", "message"), [(b"not an image", "not a PNG, JPEG"), (None, "no such file")])
def test_explain_of_an_unreadable_image_exits_2_with_one_line_and_writes_nothing(fresh_registry, digits, tmp_path, capsys, content,
                                                                       message):
    bad = tmp_path / "bad.png"
    if content is not None:
        bad.write_bytes(content)
    output = tmp_path / "out.png"
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--output", str(output),
                         str(digits[0]), str(bad))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and message in err, err
    assert not list(tmp_path.glob("out*.png"))  # Every file is read before anything is written.


@pytest.fixture
def autoencoder_registry(fresh_registry):
    """The fresh registry plus `tiny-ae`, an untrained autoencoder with an autoencoder's card."""
    from imgrec import architectures
    from tests.support.registries import tiny_autoencoder_card

    registry.save(architectures.build_autoencoder((28, 28, 1), latent_dim=2, seed=0), "tiny-ae", tiny_autoencoder_card())
    return fresh_registry


def test_features_writes_one_png_per_channel_and_lists_them(fresh_registry, tmp_path, capsys):
    folder = tmp_path / "filters"
    code, out, _ = run(capsys, "features", "--model", "tiny-cnn", "--layer", "first", "--channels", "3",
                       "--output", str(folder), "--json")
    listed = json.loads(out)
    assert code == 0 and [item["channel"] for item in listed] == [0, 1, 2]
    assert all(set(item) == {"channel", "png", "activation"} for item in listed)
    for item in listed:
        picture = images.decode_image((folder / f"channel-{item['channel']:03d}.png").read_bytes())
        assert item["png"] == str(folder / f"channel-{item['channel']:03d}.png") and picture.shape == (112, 112, 3)
        assert picture.std() > 0  # a pattern, not a blank square
    code, out, _ = run(capsys, "features", "--model", "tiny-cnn", "--layer", "conv2", "--channels", "2",
                       "--output", str(folder))
    assert code == 0 and "layer conv2: 2 of 64 filters pictured" in out


def test_embed_json_contract(fresh_registry, capsys):
    code, out, _ = run(capsys, "embed", "--model", "tiny-cnn", "--n", "200", "--json")
    placed = json.loads(out)
    assert code == 0 and placed["method"] == "pca" and placed["n"] == 200 == len(placed["points"])
    point = placed["points"][0]
    assert set(point) == {"x", "y", "label", "predicted", "index"} and point["label"] in datasets.MNIST_CLASSES
    labels = datasets.load("mnist").y_test
    assert all(datasets.MNIST_CLASSES[labels[item["index"]]] == item["label"] for item in placed["points"])


def test_embed_without_json_compares_the_map_with_the_raw_pixels(fresh_registry, capsys):
    code, out, _ = run(capsys, "embed", "--model", "tiny-cnn", "--n", "100")
    assert code == 0 and "100 mnist test images on a 2-D map (PCA of layer flatten, 1600 numbers each)" in out
    assert "share its class" in out and "(raw pixels: " in out


def test_an_autoencoder_is_listed_evaluated_and_mapped_but_has_no_classes_to_predict(autoencoder_registry, capsys,
                                                                                      digit_png_file):
    code, out, _ = run(capsys, "models")
    assert code == 0 and any(line.startswith("tiny-ae") and "0.0500 reconstruction MSE" in line
                             for line in out.splitlines())
    code, out, _ = run(capsys, "evaluate", "--model", "tiny-ae", "--max-samples", "50", "--json")
    report = json.loads(out)
    assert code == 0 and report["task"] == "reconstruction" and report["n"] == 50
    assert 0 < report["reconstruction_mse"] < 1 and len(report["per_class"]) == 10
    code, out, _ = run(capsys, "embed", "--model", "tiny-ae", "--n", "30", "--json")
    assert code == 0 and {point["predicted"] for point in json.loads(out)["points"]} == {None}
    for command in (["predict", "--model", "tiny-ae"], ["explain", "--model", "tiny-ae", "--method", "saliency"],
                    ["trust", "--model", "tiny-ae", "--method", "saliency"],
                    ["report", "--model", "tiny-ae", "--output", str(digit_png_file.with_suffix(".html"))]):
        code, _, err = run(capsys, *command, str(digit_png_file))
        assert code == 2 and "is an autoencoder: it rebuilds images and has no class scores" in err
        assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "localisation", "--model", "tiny-ae", "--method", "saliency")
    assert code == 2 and "has no class scores to localise" in err and len(err.strip().splitlines()) == 1


def test_train_an_autoencoder_from_a_config_file(fresh_registry, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"architecture": "autoencoder", "dataset": "mnist", "epochs": 1, "max_samples": 300,
                                  "latent_dim": 2}))
    code, out, _ = run(capsys, "train", "--config", str(config), "--json", "--save", "cli-ae")
    result = json.loads(out)
    assert code == 0 and result["saved"] == "cli-ae" and 0 < result["reconstruction_mse"] < 1
    assert "test_accuracy" not in result and registry.card("cli-ae").reconstruction_mse == result["reconstruction_mse"]


@pytest.mark.parametrize(("argv", "message"), [
    (["embed", "--model", "tiny-cnn", "--method", "umap"], "UMAP is not installed here"),
    (["embed", "--model", "tiny-cnn", "--dataset", "cifar10"], "its images are (32, 32, 3)"),
    (["embed", "--model", "tiny-cnn", "--n", "3"], "--n must be at least 10"),
    (["features", "--model", "tiny-cnn", "--layer", "dense", "--output", "x"], "--layer dense"),
    (["features", "--model", "tiny-cnn", "--layer", "first", "--channels", "0", "--output", "x"],
     "--channels must be at least 1"),
])
def test_features_and_embed_user_errors_exit_2_with_one_line(fresh_registry, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
