"""Every word of the report, in English: short labels by key, and one function per sentence.

The one place a translation replaces: `label(key)` looks a label up, and each sentence is a
function of the values it names, so a catalogue lookup (`zh-CN`, `en`) can stand in for
either without touching the builders. Texts are plain; `report.markup` escapes them.
"""

import datetime

LANGUAGE = "en"

LABELS = {
    # Section headings.
    "prediction": "The prediction",
    "explanations": "Why this class?",
    "card": "The model",
    "training": "Training",
    "per_class": "Per class",
    "run": "The run",
    "curves": "Training curves",
    "confusion": "Confusion matrix",
    "roc": "ROC curves",
    "mistakes": "Mistakes",
    # Figures and charts.
    "your_image": "Your image",
    "model_sees": "What the model sees",
    "top_classes": "The classes the model finds most likely",
    "heatmap_over_input": "Heatmap over the model's input",
    "heatmap_alone": "The heatmap alone (white is highest)",
    "loss": "Loss (lower is better)",
    "accuracy": "Accuracy (higher is better)",
    "epoch": "epoch",
    "loss_axis": "loss",
    "accuracy_axis": "accuracy",
    "training_loss": "training loss",
    "validation_loss": "validation loss",
    "training_accuracy": "training accuracy",
    "validation_accuracy": "validation accuracy",
    "batch_loss": "batch loss (smoothed)",
    "f1_per_class": "F1 per class on the test split (1 is perfect)",
    "true_class": "true class",
    "predicted_class": "predicted class",
    "false_positive_rate": "false positive rate",
    "true_positive_rate": "true positive rate",
    "chance": "chance",
    "deletion": "Deletion: lower is better",
    "insertion": "Insertion: higher is better",
    "removed": "image removed (%)",
    "revealed": "image revealed (%)",
    "class_probability": "probability (%)",
    "this_map": "this map",
    "random_maps": "random maps",
    "scrambled": "Scrambling the model, from the output down",
    "trained_model": "trained model",
    # Table headers and facts.
    "class": "Class",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "support": "Images",
    "auc": "ROC AUC",
    "probability": "Probability",
    "rank": "Rank",
    "name": "Name",
    "title": "Title",
    "summary": "What it is",
    "architecture": "Architecture",
    "dataset": "Dataset",
    "input": "Input",
    "preprocessing": "Preprocessing",
    "classes": "Classes",
    "parameters": "Parameters",
    "file_size": "File size",
    "measured": "Accuracy",
    "macro_f1": "Macro F1",
    "roc_auc": "ROC AUC",
    "top5": "Top-5 accuracy",
    "created": "Created",
    "keras_version": "Keras version",
    "sha256": "sha256 of the file",
    "trained": "How it was trained",
    "machine": "Trained on",
    "data_source": "Data from",
    "weights_source": "Weights from",
    "imported": "Imported",
    "model": "Model",
    "file": "File",
    "method": "Method",
    "layer": "Layer",
    "explained_class": "Class explained",
    "status": "Status",
    "reason": "Reason",
    "run_id": "Run",
    "test_accuracy": "Test accuracy",
    "training_time": "Training time",
    "setting": "Setting",
    "value": "Value",
    "none": "-",
}


def label(key):
    """Returns the short text of a label, e.g. `label("loss")` is "Loss (lower is better)"."""
    return LABELS[key]


# ---------------------------------------------------------------------------------------
# Numbers in words.


def percent(value, decimals=1):
    """Returns a fraction as a percentage, e.g. 0.9912 is "99.1%"; "-" when it is not a number."""
    return f"{value:.{decimals}%}" if isinstance(value, int | float) else label("none")


def count(value):
    """Returns a whole number with thousands separators, e.g. "10,000"; "-" when it is not a number."""
    return f"{value:,}" if isinstance(value, int | float) else label("none")


def decimal(value, places=3):
    """Returns a number to a fixed number of places, e.g. "0.987"; "-" when it is not a number."""
    return f"{value:.{places}f}" if isinstance(value, int | float) else label("none")


def file_size(size):
    """Returns a file size in words ("1.2 MB", "340 kB"); "-" for anything but a number."""
    if not isinstance(size, int | float):
        return label("none")
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def seconds(value):
    return f"{value:,.1f} s" if isinstance(value, int | float) else label("none")


# ---------------------------------------------------------------------------------------
# Titles and the lines under them.


def prediction_title(model_title):
    return f"What {model_title} sees in an image"


def prediction_subtitle(file_name, label_text, probability):
    return f"{file_name}: {label_text} ({percent(probability)})"


def model_title(model_title_text):
    return f"Model card: {model_title_text}"


def model_subtitle(summary, accuracy_text):
    return f"{summary} {accuracy_text[:1].upper()}{accuracy_text[1:]}." if summary else f"{accuracy_text}."


def run_title(run_id):
    return f"Training run {run_id}"


def run_subtitle(architecture, dataset, status):
    return f"{architecture} on {dataset}: {status}"


def made_by(version, when=None):
    """The report's last line: what made it and when, and that it needs no network."""
    when = when or datetime.datetime.now(datetime.UTC)
    return (f"Made by imgrec {version} on {when:%Y-%m-%d at %H:%M} UTC. This file is complete in itself: it opens "
            "in any browser without a network and prints on A4.")


# ---------------------------------------------------------------------------------------
# The prediction.


PREPROCESSING_WORDS = {
    "mnist-digit": "made grey, inverted when the ink is dark on a light background, cropped to the digit, "
                   "fitted into a 20 x 20 box and centred by its centre of mass, as MNIST itself was made",
    "fit": "padded to the model's shape with the background colour and resized",
    "imagenet": "its central square cropped and resized, as ImageNet photos were",
}


def your_image_caption(width, height):
    return f"Your image: {width} x {height} pixels"


def model_sees_caption(width, height, numbers):
    return f"What the model sees: {width} x {height} pixels, {numbers:,} numbers"


def what_the_model_reads(numbers, channels, kind):
    colour = "grey levels" if channels == 1 else "colour values (red, green, blue)"
    return (f"The model never sees your file: it reads {numbers:,} {colour} from 0 to 255, after the image was "
            f"{PREPROCESSING_WORDS.get(kind, 'resized')}.")


def top_classes_note(shown, total):
    return f"The {shown} most likely of {total:,} classes. The probabilities of all the classes add up to 100%."


def explanation_heading(method_title, class_label):
    return f"{method_title} for {class_label}"


def explanation_note(class_label, class_specific):
    same = "" if class_specific else ("It is the same for every class: it shows where the model looks, not what it "
                                      "concluded. ")
    return f"{same}Red marks what speaks most for {class_label}, blue the least."


def explanations_intro(class_label, probability):
    return (f"Each heatmap marks the pixels that pushed the model's score for {class_label} ({percent(probability)}) "
            "up. Different techniques ask the question differently; where they agree, the answer is firmer.")


def layer_option(layer_name):
    return f"Feature maps weighted: {layer_name}."


def trust_heading(method_title, class_label):
    return f"Can you trust the {method_title} heatmap for {class_label}?"


def trust_curves_note():
    return ("Deletion hides the cells the map ranks highest first and follows the probability: if the map is right "
            "about what matters, it falls fast. Insertion reveals the highest cells first on a blank canvas: the "
            "probability should rise fast. The dashed lines do the same in a random order.")


def trust_areas(deletion, random_deletion, insertion, random_insertion):
    return (f"Area under deletion {deletion:.2f} (random {random_deletion:.2f}); "
            f"under insertion {insertion:.2f} (random {random_insertion:.2f}).")


def scrambled_caption(layer_name, correlation):
    return f"{layer_name} scrambled: {correlation:+.2f}"


def scrambled_note():
    return ("Each map was computed again after scrambling the model's weights, the layers nearest the output first. "
            "The number is the rank correlation with the trained model's map: near 1 means the map shows the image, "
            "not what the model learned; near 0 means it depends on the model.")


# ---------------------------------------------------------------------------------------
# The model card.


def input_spec(shape, color_mode, value_range):
    size = " x ".join(str(size) for size in shape)
    values = f", values {value_range[0]:g} to {value_range[1]:g}" if value_range else ""
    return f"{size} ({color_mode or 'unknown colour mode'}{values})"


def preprocessing(kind, invert, normalisation, resize):
    parts = [PREPROCESSING_WORDS.get(kind, kind)]
    if invert == "auto":
        parts.append("dark-on-light drawings inverted")
    if resize:
        parts.append(f"resize policy {resize}")
    if normalisation:
        parts.append(f"normalisation {normalisation}")
    return "; ".join(parts)


def class_list(names, shown=20):
    listed = ", ".join(names[:shown])
    more = f", and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"{len(names):,}: {listed}{more}"


def training_summary(config, seconds_taken, samples_per_second, train_samples, validation_samples):
    epochs = config.get("epochs")
    return (f"{epochs} epoch{'s' * (epochs != 1)}, batch {config.get('batch_size')}, {config.get('optimizer')} at "
            f"learning rate {config.get('learning_rate'):g}, dropout {config.get('dropout')}, L2 {config.get('l2'):g}; "
            f"{count(train_samples)} training and {count(validation_samples)} validation images; "
            f"{seconds(seconds_taken)} at {count(round(samples_per_second or 0))} images per second.")


def weights_source(package, version, licence):
    return f"pip {package} {version or ''} ({licence or 'licence not recorded'})".replace("  ", " ")


def imported_from(file_name, size):
    return f"uploaded as {file_name or 'a file'} ({file_size(size)}); imgrec did not train it."


def no_history():
    return "This model's card records no training history (it was not trained here)."


def no_per_class():
    return "This model's card records no per-class scores."


def created(when, keras_version):
    by = f" with Keras {keras_version}" if keras_version else ""
    return f"{when or 'at an unknown time'}{by}"


# ---------------------------------------------------------------------------------------
# A run.


def run_not_done(status, reason):
    return reason or f"The run was {status}."


def curves_note():
    return ("When validation falls behind training, the model is starting to memorise its training images rather "
            "than learning what generalises.")


def confusion_note():
    return ("Each row is a true class and each column the class the model chose: the diagonal is right, everything "
            "else is a mix-up. Shades are shares of the row.")


def roc_note():
    return ("Each curve sweeps the threshold on one class's probability. The area under it (AUC) is 1 for a perfect "
            "ranking and 0.5 for a coin toss.")


def mistakes_heading(wrong, total):
    return f"Mistakes: {wrong:,} of {total:,} test images"


def mistakes_note(explainer_title):
    return (f"The mistakes the model was most sure of. Left: the test image; right: its {explainer_title} for the "
            "class the model wrongly chose.")


def mistake_caption(true_label, predicted_label, confidence):
    return f"true {true_label}, predicted {predicted_label} ({confidence:.0%})"


def no_mistakes():
    return "The model got every test image right."


def mistakes_unavailable(why):
    return f"The run's model could not be loaded, so its mistakes are not shown: {why}"


def no_result():
    return "This run has no result file; only its settings are shown."


def measured_on(total, split):
    return f"Measured on the {total:,} images of the {split} split, never seen in training."


def headline_time(seconds_taken, samples_per_second):
    return f"{seconds(seconds_taken)}, {count(round(samples_per_second or 0))}/s"
