"""train_throughput_vs_fit: samples/s of imgrec.training.train against a bare model.fit, side by side."""

import time

import numpy as np

from bench.common import result

SAMPLES = 12_000  # Enough steps per epoch for a stable rate, small enough for a 2-core machine.
EPOCHS = 2
BATCH_SIZE = 128
ROUNDS = 2  # Alternate fit and train this many times; keep each one's best rate.


def run():
    import keras

    from imgrec import training

    config = training.TrainConfig(architecture="cnn", dataset="mnist", max_samples=SAMPLES, epochs=EPOCHS,
                                  batch_size=BATCH_SIZE, validation_fraction=0.0)
    _, x_train, y_train, _, _ = training.prepare_data(config)
    x_float = x_train.astype(np.float32)
    steps = int(np.ceil(len(x_train) / BATCH_SIZE))

    def bare_fit():
        keras.utils.set_random_seed(config.seed)
        model = training.build_model(config, x_train.shape[1:], 10)
        training.compile_model(model, config, steps)
        started = time.perf_counter()
        model.fit(x_float, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0, shuffle=True)
        return len(x_train) * EPOCHS / (time.perf_counter() - started)

    def imgrec_train():
        events = []
        outcome = training.train(config, on_progress=events.append)
        return outcome.samples_per_second

    fit_rates, train_rates = [], []
    for _ in range(ROUNDS):
        fit_rates.append(bare_fit())
        train_rates.append(imgrec_train())
    return [result("train_throughput_vs_fit", max(train_rates), "samples/s", max(fit_rates),
                   note=f"cnn on {len(x_train)} MNIST samples, batch {BATCH_SIZE}, {EPOCHS} epochs; target ratio >= 0.95")]
