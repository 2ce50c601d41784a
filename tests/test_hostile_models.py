"""Hostile model files in the registry folder: code, bombs, malformed archives and cards, bad names; refused in one sentence.

Extends tests/test_registry.py (which covers hand-planted Lambda code, callables named in a
config, the plain Dense bomb, broken archives, wrong weights, symlinks). The hostile files
themselves are `tests/support/hostile.py`'s cases, which tests/test_imports.py also uploads
through the import path. Every case here ends with the registry still healthy: Keras is not
in unsafe-deserialisation mode and a good model still loads and predicts.
"""

import json
import time

import keras
import pytest

from imgrec import __main__ as cli
from imgrec import registry
from tests.support import hostile
from tests.support.hostile import assert_one_sentence, good_card, install, refused


@pytest.fixture(autouse=True)
def models(hostile_files, tmp_path, monkeypatch):
    """A fresh registry folder per test holding `good`, and an armed marker; afterwards the registry must be healthy."""
    yield hostile.registry_holding_good(hostile_files, tmp_path, monkeypatch)
    hostile.assert_nothing_ran(tmp_path)


def good_bytes(models):
    return (models / "good.keras").read_bytes()


@pytest.mark.parametrize("case", hostile.CASES, ids=hostile.CASE_IDS)
def test_every_hostile_file_in_the_folder_is_refused_in_one_sentence(models, hostile_files, case):
    install(models, case.name, hostile_files.bytes(case), **case.card)
    with refused(case.message, before_keras=case.before_keras, memory_kb=case.memory_kb):
        registry.load(case.name)


# ---------------------------------------------------------------------------------------
# What some cases show beyond their refusal.


def test_hdf5_model_with_a_lambda_is_never_listed_or_loaded(models, hostile_files):
    data = hostile_files.bytes(next(case for case in hostile.CASES if case.name == "hdf5-lambda"))
    assert data[:8] == b"\x89HDF\r\n\x1a\n"
    # Dropped in the folder under HDF5 names, with or without a card beside it.
    for file_name in ("x.h5", "evil.h5", "good.h5", "model.weights.h5"):
        (models / file_name).write_bytes(data)
    card = {**good_card("only-h5"), "sha256": registry.sha256_bytes(data), "file": "only-h5.h5"}
    (models / "only-h5.json").write_text(json.dumps(card))
    (models / "only-h5.h5").write_bytes(data)
    assert {card.name for card in registry.list_models()} <= {"good", "only-h5", *registry.BUILT_MODELS}
    for name in ("x.h5", "evil.h5", "model.weights.h5"):
        with pytest.raises(registry.RegistryError, match="Invalid model name") as caught:
            registry.load(name)
        assert_one_sentence(str(caught.value))
    # The card's "file" field is ignored: the model file is always NAME.keras.
    with pytest.raises(registry.ModelNotFound, match="missing"):
        registry.load("only-h5")


def test_keras_own_safe_mode_refuses_the_lambda_model_too(models, hostile_files, tmp_path):
    path = tmp_path / "lambda.keras"
    path.write_bytes(hostile_files.bytes(next(case for case in hostile.CASES if case.name == "keras-lambda")))
    # Defence in depth: were the allow-list gone, Keras's own safe mode refuses it (and runs nothing).
    with pytest.raises(ValueError, match="[Ll]ambda"):
        keras.saving.load_model(path, compile=False, safe_mode=True)
    assert not (tmp_path / "marker").exists()


def test_the_60000_unit_dense_bomb_is_refused_from_its_config_fast(models, hostile_files):
    install(models, "bomb", hostile_files.bytes(next(case for case in hostile.CASES if case.name == "dense-bomb")),
            input={"shape": [4, 4, 1]})
    started = time.perf_counter()
    with refused("3,600,060,000 parameters"):
        registry.load("bomb")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("name", ["depth-50mb", "depth-1mb", "huge-number"])
def test_config_bombs_are_refused_by_the_same_check_for_bytes_outside_the_folder(hostile_files, name):
    case = next(case for case in hostile.CASES if case.name == name)
    with pytest.raises(registry.UnsafeModelError, match=case.message):
        registry.inspect_archive(hostile_files.bytes(case), name)


# ---------------------------------------------------------------------------------------
# Cards and names.


@pytest.mark.parametrize(
    ("card_text", "message"),
    [
        pytest.param(lambda card: b"{not json", "not valid JSON", id="not-json"),
        pytest.param(lambda card: b"\xff\xfe binary", "not valid JSON", id="binary"),
        pytest.param(lambda card: json.dumps({"name": "card-test"}).encode(), "lacks required fields", id="no-fields"),
        pytest.param(lambda card: json.dumps([card]).encode(), "lacks required fields", id="a-list"),
        pytest.param(lambda card: json.dumps({**card, "name": "good"}).encode(), "names another model", id="other-name"),
        pytest.param(lambda card: json.dumps({**card, "pad": "x" * 5_000_000}).encode(), "too large", id="5-mb"),
        pytest.param(lambda card: b"[" * 200_000 + b"]" * 200_000, "nested too deeply", id="depth-bomb"),
        pytest.param(lambda card: json.dumps({**card, "input": "28x28"}).encode(), "malformed", id="input-a-string"),
        pytest.param(lambda card: json.dumps({**card, "class_names": 10}).encode(), "malformed", id="classes-a-number"),
    ],
)
def test_bad_cards_are_refused_and_do_not_break_the_list(models, card_text, message):
    data = good_bytes(models)
    card = {**good_card("card-test"), "sha256": registry.sha256_bytes(data)}
    (models / "card-test.keras").write_bytes(data)
    (models / "card-test.json").write_bytes(card_text(card))
    with refused(message):
        registry.load("card-test")
    with refused(message):
        registry.card("card-test")
    assert [card.name for card in registry.list_models() if card.name in ("good", "card-test")] == ["good"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x", "Invalid model name"),
        ("/etc/passwd", "Invalid model name"),
        ("http://example.com/model.keras", "Invalid model name"),
        ("hf://org/model", "Invalid model name"),
        ("a\x00b", "Invalid model name"),
        ("x.h5", "Invalid model name"),
        ("h5-inside", "not a valid zip"),
        ("lambda-model", "allow-list"),
        ("deep-card", "nested too deeply"),
    ],
)
def test_cli_predict_refuses_with_exit_2_and_one_line(models, hostile_files, digit_png_file, capsys, name, message):
    install(models, "h5-inside", b"\x89HDF\r\n\x1a\n" + bytes(100))
    install(models, "lambda-model", hostile_files.bytes(next(case for case in hostile.CASES if case.name == "keras-lambda")))
    install(models, "deep-card", good_bytes(models))
    (models / "deep-card.json").write_bytes(b"{" + b'"a":{' * 100_000 + b"}" * 100_001)

    code = cli.main(["predict", "--model", name, str(digit_png_file)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
    assert_one_sentence(lines[0])
