"""The `explain` command: its JSON, its overlay PNGs, and one `error:` line with exit 2 for each user error."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from imgrec import cli, datasets, explain, images, registry
from imgrec.cli import explain as explain_command


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def digits(tmp_path):
    """Two MNIST samples (a 7 and a 2) as PNG files."""
    paths = []
    for sample_id in ("mnist-00", "mnist-01"):
        path = tmp_path / f"{sample_id}.png"
        Image.fromarray(datasets.load_sample(sample_id)).save(path)
        paths.append(path)
    return paths


def reference(path, method, class_index=None, **options):
    """The class and the heatmap's peak computed through the library, as the command should report them."""
    classifier = registry.load("tiny-cnn")
    model_input = classifier.preprocess(images.read_image_file(path))
    if class_index is None:
        class_index = classifier.top_k(images.read_image_file(path), 1)[0].index
    heatmap = explain.explain(classifier.model, model_input, method, class_index, **options)
    return class_index, list(np.unravel_index(int(np.argmax(heatmap)), heatmap.shape))


def test_json_explains_the_top_class_of_each_file_in_model_input_coordinates(models_dir, digits, capsys):
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
        assert [result["class_index"], result["peak"]] == list(reference(path, "gradcam"))


def test_class_and_layer_are_the_ones_given(models_dir, digits, capsys):
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--class", "3",
                         "--layer", "conv1", "--json", str(digits[0]))
    assert code == 0, err
    [result] = json.loads(out)
    assert result["class_index"] == 3 and result["label"] == "3"
    assert result["peak"] == reference(digits[0], "gradcam", 3, layer="conv1")[1]


def test_without_json_one_line_per_file(models_dir, digits, capsys):
    code, out, _ = run(capsys, "explain", "--model", "tiny-cnn", "--method", "saliency", *map(str, digits))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(f"{digits[0]}: Saliency of ") and lines[0].endswith("of 28x28")


def test_output_writes_a_png_per_file_that_decodes(models_dir, digits, tmp_path, capsys):
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
                                                       "gradcam, gradcam++, saliency, smoothgrad."),
        (["--model", "tiny-cnn", "--method", "rollout"], "--method rollout does not apply to model 'tiny-cnn'; "
                                                         "choose one of gradcam, gradcam++, saliency, smoothgrad."),
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
def test_user_errors_exit_2_with_one_line(models_dir, digits, capsys, argv, message):
    code, out, err = run(capsys, "explain", *argv, str(digits[0]))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize(("content", "message"), [(b"not an image", "not a PNG, JPEG"), (None, "no such file")])
def test_an_unreadable_image_exits_2_with_one_line_and_writes_nothing(models_dir, digits, tmp_path, capsys, content,
                                                                       message):
    bad = tmp_path / "bad.png"
    if content is not None:
        bad.write_bytes(content)
    output = tmp_path / "out.png"
    code, out, err = run(capsys, "explain", "--model", "tiny-cnn", "--method", "gradcam", "--output", str(output),
                         str(digits[0]), str(bad))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and message in err, err
    assert not list(tmp_path.glob("out*.png"))  # Every file is read before anything is written.
