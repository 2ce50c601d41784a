"""TrainConfig validation and train(): progress, cancel, NaN, reproducibility, every optimizer."""

import dataclasses

import numpy as np
import pytest

from imgrec import training

TINY = {"dataset": "digits", "max_samples": 200, "epochs": 1, "batch_size": 32}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": "resnet"}, "Unknown architecture"),
        ({"dataset": "imagenet"}, "Unknown dataset"),
        ({"optimizer": "lion"}, "Unknown optimizer"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 100000}, "batch_size"),
        ({"dropout": 0.99}, "dropout"),
        ({"validation_fraction": 0.9}, "validation_fraction"),
        ({"max_samples": 5}, "max_samples"),
        ({"augment_rotate": 720.0}, "augment_rotate"),
        ({"architecture": "vit", "vit_dim": 30, "vit_heads": 4}, "multiple of vit_heads"),
        ({"architecture": "vit", "patch_size": 5}, "must divide the image size"),
        ({"recurrent_cell": "cnn"}, "recurrent_cell"),
    ],
)
def test_invalid_settings_get_one_clear_sentence(changes, message):
    config = dataclasses.replace(training.TrainConfig(), **changes)
    with pytest.raises(training.ConfigError, match=message):
        config.validate()


def test_from_dict_refuses_unknown_keys_and_wrong_types():
    with pytest.raises(training.ConfigError, match="Unknown setting 'epoch'"):
        training.TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(training.ConfigError, match="whole number"):
        training.TrainConfig.from_dict({"epochs": 2.5})
    with pytest.raises(training.ConfigError, match="true or false"):
        training.TrainConfig.from_dict({"augment_flip": "yes"})
    with pytest.raises(training.ConfigError, match="JSON object"):
        training.TrainConfig.from_dict([1, 2])
    config = training.TrainConfig.from_dict({"epochs": 2, "learning_rate": 1, "max_samples": None})
    assert config.epochs == 2 and config.learning_rate == 1.0


def test_every_preset_is_valid():
    for name in training.PRESETS:
        assert training.preset(name).validate().epochs >= 1
    with pytest.raises(training.ConfigError, match="Unknown preset"):
        training.preset("best")


def test_train_reports_batches_and_epochs_and_returns_history():
    events = []
    config = training.TrainConfig(architecture="cnn", **{**TINY, "epochs": 2})
    result = training.train(config, on_progress=events.append, progress_interval=0.0)
    kinds = [event["event"] for event in events]
    assert kinds.count("epoch") == 2 and kinds[-1] == "done" and "batch" in kinds
    batch = next(event for event in events if event["event"] == "batch")
    assert {"loss", "step", "total_steps", "epoch"} <= set(batch)
    assert [epoch["epoch"] for epoch in result.history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(result.history[-1])
    assert result.model.output_shape == (None, 10) and not result.cancelled
    assert result.train_samples + result.validation_samples == 200


def test_same_seed_gives_the_same_weights():
    config = training.TrainConfig(architecture="mlp", **TINY, seed=7)
    first = training.train(config).model.get_weights()
    second = training.train(dataclasses.replace(config)).model.get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_should_stop_cancels_the_run():
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 2

    config = training.TrainConfig(architecture="mlp", **{**TINY, "epochs": 5})
    result = training.train(config, should_stop=should_stop)
    assert result.cancelled and len(result.history) == 1


def test_divergent_learning_rate_raises_non_finite():
    config = training.TrainConfig(architecture="mlp", optimizer="sgd", learning_rate=100.0, dropout=0.0,
                                  **{**TINY, "epochs": 3})
    with pytest.raises(training.NonFiniteError, match="smaller learning rate"):
        training.train(config)


@pytest.mark.parametrize("optimizer", training.OPTIMIZERS)
def test_every_optimizer_trains(optimizer):
    config = training.TrainConfig(architecture="mlp", optimizer=optimizer, learning_rate=0.01, l1=1e-5, l2=1e-4,
                                  **TINY)
    result = training.train(config)
    assert np.isfinite(result.history[-1]["loss"])


def test_two_class_task_trains_a_sigmoid_head_with_augmentation():
    config = training.TrainConfig(architecture="cnn", dataset="digits:3,8", epochs=2, batch_size=16,
                                  augment_rotate=10.0, augment_shift=0.1, augment_noise=5.0, lr_schedule="cosine")
    result = training.train(config)
    assert result.model.output_shape == (None, 1)
    assert result.class_names == ("3", "8")
    from imgrec import metrics

    report = metrics.evaluate(result.model, "digits:3,8")
    assert report["accuracy"] > 0.6 and len(report["per_class"]) == 2
