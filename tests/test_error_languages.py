"""imgrec's error sentences in both languages: each family's refusals (a hostile or wrong model import, a bad
training config, a bad search space, a run or a quota refused) keep their English sentence word for word and
carry its catalog key, so the app says them in Chinese (pages/_ui/i18n.error_text)."""

import re

import pytest

from imgrec import jobs, registry, search, texts, training
from imgrec.jobs import quota, settings
from tests.support import hostile
from tests.test_imports import models  # noqa: F401 - a fixture

pytestmark = pytest.mark.filterwarnings("ignore")

CHINESE = texts.Texts("zh-CN")
CJK = re.compile(r"[\u4e00-\u9fff]")


def assert_said(error, section):
    """`error` carries a key of `section`; its message is that key's English; its Chinese is Chinese."""
    key = getattr(error, "text_key", None)
    assert key is not None and key.startswith(f"{section}."), (key, str(error))
    assert str(error) == texts.ENGLISH(key, **error.text_values)
    chinese = CHINESE(key, **error.text_values)
    assert CJK.search(chinese) and chinese != str(error), chinese


def refusal(error_class, call, *arguments, **keywords):
    with pytest.raises(error_class) as caught:
        call(*arguments, **keywords)
    return caught.value


@pytest.mark.parametrize("case", hostile.CASES, ids=hostile.CASE_IDS)
def test_every_hostile_file_is_refused_with_a_sentence_in_both_languages(models, hostile_files, case):  # noqa: F811
    error = refusal(registry.RegistryError, registry.check_import, hostile_files.bytes(case), case.name,
                    class_names=[str(digit) for digit in range(10)], file_name="x.keras")
    assert re.search(case.message, str(error)), str(error)  # The sentence tests/test_imports.py expects.
    assert_said(error, "errors_registry")


def test_what_a_visitor_gets_wrong_in_an_import_is_said_in_both_languages(models, monkeypatch):  # noqa: F811
    cases = [
        ((b"x", "a"), {}, "Say what the model classifies"),
        ((b"x", "a"), {"class_names": ["cat", "cat"]}, "The class name 'cat' is given twice"),
        ((b"x", "a"), {"class_names": ["cat"]}, "Give from 2 to"),
        ((b"x", "a"), {"class_names": ["cat", "dog"], "preprocessing": "sepia"}, "Unknown preprocessing 'sepia'"),
        ((b"not a zip file", "mine"), {"class_names": ["cat", "dog"]}, r"save it in Keras 3 with model.save\('mine"),
        ((b"\x89HDF\r\n\x1a\n" + bytes(20), "old"), {"class_names": ["cat", "dog"]}, "HDF5 file, the format of Keras 2"),
        ((b"x", "good"), {"class_names": ["cat", "dog"]}, "A model named 'good' already exists"),
        ((b"x", "Bad Name"), {"class_names": ["cat", "dog"]}, "Invalid model name 'Bad Name'"),
    ]
    for arguments, keywords, message in cases:
        error = refusal(registry.RegistryError, registry.check_import, *arguments, **keywords)
        assert re.search(message, str(error)), str(error)
        assert_said(error, "errors_registry")
    monkeypatch.setattr(registry.imports, "MAX_IMPORT_BYTES", 4)
    error = refusal(registry.RegistryError, registry.check_import, b"12345", "big", class_names=["cat", "dog"])
    assert str(error) == "The file is 0.0 MiB, over the 0 MiB limit for imported models; import a smaller model."
    assert_said(error, "errors_registry")
    error = refusal(registry.ModelNotFound, registry.load, "nowhere")
    assert_said(error, "errors_registry")
    assert CHINESE(error.text_key, **error.text_values) == \
        "没有名为 'nowhere' 的模型；可用 `python -m imgrec models` 查看列表。"


def test_the_import_quotas_are_said_in_both_languages(models, monkeypatch):  # noqa: F811
    monkeypatch.setenv("IMGREC_MAX_IMPORTS_PER_SESSION", "2")
    error = refusal(registry.RegistryError, registry.check_quotas, session_imports=2)
    assert str(error).startswith("This session has imported 2 models, the most one visitor may")
    assert_said(error, "errors_registry")
    monkeypatch.setenv("IMGREC_MAX_IMPORTS_PER_SESSION", "many")
    assert_said(refusal(registry.RegistryError, registry.max_imports_per_session), "errors_registry")
    monkeypatch.delenv("IMGREC_MAX_IMPORTS_PER_SESSION")
    monkeypatch.setenv("IMGREC_MAX_IMPORTED_MODELS", "0")
    error = refusal(registry.RegistryError, registry.check_quotas, session_imports=0)
    assert str(error) == ("The server holds 0 imported models, its limit (IMGREC_MAX_IMPORTED_MODELS is 0); delete an "
                          "imported model on the Models page before importing another.")
    assert_said(error, "errors_registry")


@pytest.mark.parametrize(("changes", "message"), [
    ("not a dict", "A training config must be a JSON object of settings."),
    ({"colour": 1}, "Unknown setting 'colour'; known settings are "),
    ({"architecture": "lstm-xl"}, "Unknown architecture 'lstm-xl'; choose one of "),
    ({"dataset": "imagenet-21k"}, "Unknown dataset 'imagenet-21k'; choose one of "),
    ({"optimizer": "lion"}, "Unknown optimizer 'lion'; choose one of "),
    ({"learning_rate": 0}, "learning_rate must be above 0 and at most 100, got 0.0."),
    ({"lr_schedule": "wiggle"}, "Unknown lr_schedule 'wiggle'"),
    ({"epochs": 0}, "epochs must be between 1 and 500, got 0."),
    ({"epochs": 2.5}, "epochs must be a whole number, got 2.5."),
    ({"dropout": "half"}, "dropout must be a number, got 'half'."),
    ({"augment_flip": "yes"}, "augment_flip must be true or false, got 'yes'."),
    ({"architecture": "vit", "vit_dim": 30, "vit_heads": 4}, "vit_dim (30) must be a multiple of vit_heads (4)."),
    ({"architecture": "autoencoder", "augment_flip": True}, "An autoencoder learns to copy its input"),
])
def test_a_refused_training_config_is_said_in_both_languages(changes, message):
    values = changes if isinstance(changes, str) else {**training.preset("quickstart").to_dict(), **changes}
    error = refusal(training.ConfigError, training.TrainConfig.from_dict, values)
    assert str(error).startswith(message), str(error)
    assert_said(error, "errors_training")
    assert_said(refusal(training.ConfigError, training.preset, "fastest"), "errors_training")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: search.SearchSpace(learning_rate=(0.01, 0.001)).validate(),
     "The learning_rate range must have its low end below its high end, got 0.01 to 0.001."),
    (lambda: search.SearchSpace(l2=(0.0, 0.01)).validate(), "The l2 range is searched on a log scale"),
    (lambda: search.SearchSpace(dropout=(0.0, 0.99)).validate(), "The dropout range must lie within 0 to 0.95"),
    (lambda: search.SearchSpace(dropout=(0.1,)).validate(), "The dropout range must be two numbers, low and high."),
    (lambda: search.SearchSpace(optimizers=("adam", "lion")).validate(), "Unknown optimizer 'lion'; choose from "),
    (lambda: search.SearchSpace(optimizers=()).validate(), "Choose at least one optimizer to search over."),
    (lambda: search.SearchSpace(optimizers=("adam", "adam")).validate(), "Each optimizer may be listed once."),
    (lambda: search.SearchSpace(grid_points=1).validate(), "grid_points must be a whole number from 2 to 10, got 1."),
    (lambda: search.SearchSpace(learning_rate=None, dropout=None, l2=None, optimizers=None).validate(),
     "The search space is empty"),
    (lambda: search.SearchSpace.from_dict({"momentum": (0, 1)}), "Unknown search-space key 'momentum'"),
    (lambda: search.plan("hyperband", search.SearchSpace(), 4), "Unknown search kind 'hyperband'"),
    (lambda: search.plan("random", search.SearchSpace(), 0), "The trial budget must be a whole number from 1 to"),
    (lambda: search.Search.load("../../etc/passwd"), "Invalid search id '../../etc/passwd'"),
])
def test_a_refused_search_is_said_in_both_languages(call, message):
    error = refusal(search.SearchError, call)
    assert str(error).startswith(message), str(error)
    assert_said(error, "errors_search")


def test_refused_runs_and_the_runs_quota_are_said_in_both_languages(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGREC_RUNS_DIR", str(tmp_path))
    error = refusal(jobs.JobError, jobs.status, "../etc")
    assert str(error) == "Invalid run id '../etc': run ids look like 20261121-203015-ab12cd."
    assert_said(error, "errors_jobs")
    assert_said(refusal(jobs.JobError, jobs.status, "20261121-203015-ab12cd"), "errors_jobs")
    monkeypatch.setenv("IMGREC_MAX_RUNS_PER_SESSION", "lots")
    error = refusal(jobs.JobError, settings.max_runs_per_session)
    assert str(error) == "IMGREC_MAX_RUNS_PER_SESSION must be a whole number of at least 1, got 'lots'."
    assert_said(error, "errors_jobs")
    monkeypatch.setenv("IMGREC_RUNS_MAX_MB", "big")
    assert_said(refusal(jobs.JobError, quota.max_bytes), "errors_jobs")


def test_a_failed_export_is_said_in_both_languages(models, tmp_path, monkeypatch):  # noqa: F811
    from imgrec import export

    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # Any export "differs": the check's sentence, without a converter.
    error = refusal(export.ExportError, export.export, registry.load("good"), "keras", tmp_path / "good.keras")
    assert str(error) == "The keras export predicts differently from the model (max difference 0.00e+00)."
    assert_said(error, "errors_export")
