"""The CLI contract: models, predict, evaluate, train, data, export, trust, localisation; user errors exit 2 with one line."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from imgrec import cli, datasets


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def digit_png(tmp_path):
    path = tmp_path / "seven.png"
    Image.fromarray(datasets.load_sample("mnist-00")).save(path)
    return path


def test_models_json_lists_cards_with_metrics(models_dir, capsys):
    code, out, _ = run(capsys, "models", "--json")
    cards = json.loads(out)
    assert code == 0
    tiny = next(card for card in cards if card["name"] == "tiny-cnn")
    assert tiny["architecture"] == "cnn" and tiny["dataset"] == "mnist"
    assert 0 <= tiny["metrics"]["test_accuracy"] <= 1
    assert all("test_accuracy" in card["metrics"] for card in cards)


def test_predict_json_contract(models_dir, digit_png, capsys):
    code, out, _ = run(capsys, "predict", "--model", "tiny-cnn", "--top", "3", "--json", str(digit_png))
    results = json.loads(out)
    assert code == 0 and results[0]["file"] == str(digit_png)
    top = results[0]["top"]
    assert len(top) == 3 and set(top[0]) == {"label", "index", "probability"}
    assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]


def test_evaluate_json_contract(models_dir, capsys):
    code, out, _ = run(capsys, "evaluate", "--model", "tiny-cnn", "--max-samples", "300", "--json")
    report = json.loads(out)
    assert code == 0
    assert {"accuracy", "n", "dataset", "split", "per_class"} <= set(report)
    assert report["n"] == 300 and report["split"] == "test" and report["dataset"] == "mnist"


def test_train_from_a_config_file_and_save(models_dir, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"architecture": "mlp", "dataset": "digits", "epochs": 1, "max_samples": 200}))
    code, out, _ = run(capsys, "train", "--config", str(config), "--json", "--save", "cli-mlp")
    result = json.loads(out)
    assert code == 0 and result["saved"] == "cli-mlp" and 0 <= result["test_accuracy"] <= 1
    assert (models_dir / "cli-mlp.keras").exists()


def test_data_lists_every_dataset(capsys):
    code, out, _ = run(capsys, "data", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {"mnist", "fashion-mnist", "digits", "mnist-5k", "cifar10", "shapes"} <= {row["name"] for row in rows}
    shapes_row = next(row for row in rows if row["name"] == "shapes")
    assert shapes_row["present_source"].startswith("drawn by imgrec")
    assert (shapes_row["train_size"], shapes_row["test_size"]) == (16_000, 4_000)


def test_trust_json_contract(models_dir, digit_png, capsys):
    code, out, _ = run(capsys, "trust", "--model", "tiny-cnn", "--method", "gradcam", "--json", str(digit_png))
    results = json.loads(out)
    assert code == 0 and len(results) == 1
    result = results[0]
    assert list(result) == ["file", "method", "class_index", "deletion_auc", "insertion_auc", "random_deletion_auc",
                            "random_insertion_auc", "randomization", "verdict"]
    assert result["file"] == str(digit_png) and result["method"] == "gradcam"
    # Without --class the top class is explained; the classic CNN's groups from the output down.
    assert [row["layer"] for row in result["randomization"]] == ["predictions", "conv2", "conv1"]
    assert all(-1 <= row["spearman"] <= 1 for row in result["randomization"])
    assert all(0 <= result[key] <= 1 for key in ("deletion_auc", "insertion_auc", "random_deletion_auc",
                                                 "random_insertion_auc"))
    assert result["verdict"].endswith(".")
    code, out, _ = run(capsys, "trust", "--model", "tiny-cnn", "--method", "occlusion", "--class", "3", str(digit_png))
    assert code == 0 and "occlusion for '3'" in out and "Spearman" in out


def test_localisation_json_contract(models_dir, capsys):
    from imgrec import architectures, registry

    model = architectures.build("cnn-gap", (64, 64, 3), 4, seed=0)
    registry.save(model, "tiny-shapes", {
        "architecture": "cnn-gap", "dataset": "shapes",
        "input": {"shape": [64, 64, 3], "dtype": "float32", "range": [0, 255], "color_mode": "rgb"},
        "preprocessing": registry.preprocessing_for_dataset("shapes"), "class_names": list(datasets.SHAPES_CLASSES),
    })
    code, out, _ = run(capsys, "localisation", "--model", "tiny-shapes", "--method", "gradcam++", "--n", "6", "--json")
    result = json.loads(out)
    assert code == 0 and list(result) == ["dataset", "method", "n", "pointing_game", "relevance_mass"]
    assert result["dataset"] == "shapes" and result["method"] == "gradcam++" and result["n"] == 6
    assert 0 <= result["pointing_game"] <= 1 and 0 <= result["relevance_mass"] <= 1


def test_export_tflite_and_savedmodel(models_dir, tmp_path, capsys):
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
def test_user_errors_exit_2_with_one_line(models_dir, capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_image_file_is_one_line(models_dir, tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<html>not an image</html>")
    code, _, err = run(capsys, "predict", "--model", "tiny-cnn", str(fake))
    assert code == 2 and "not a PNG, JPEG" in err and len(err.strip().splitlines()) == 1


def test_subprocess_error_has_no_tensorflow_noise(models_dir, tmp_path):
    # The real command line: TensorFlow's start-up banner must not reach the user's stderr.
    fake = tmp_path / "fake.png"
    fake.write_bytes(np.zeros(10, np.uint8).tobytes())
    process = subprocess.run([sys.executable, "-m", "imgrec", "predict", "--model", "tiny-cnn", str(fake)],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert process.stderr.strip().count("\n") == 0 and process.stderr.startswith("error:")


def test_runs_contract_through_the_main_cli(models_dir, tmp_path, monkeypatch, capsys):
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
