"""The CLI contract: models, predict, evaluate, train, data, export; user errors exit 2 with one line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from imgrec import cli


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
    assert {"mnist", "fashion-mnist", "digits", "mnist-5k", "cifar10"} <= {row["name"] for row in rows}


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
