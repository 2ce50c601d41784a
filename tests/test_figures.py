"""Tests for imgrec.figures: every figure builds from plain arrays, has the traces a reader needs, and serialises."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from imgrec import figures

RNG = np.random.default_rng(0)
EPOCHS = [
    {"event": "epoch", "epoch": 1, "loss": 0.9, "accuracy": 0.70, "val_loss": 0.8, "val_accuracy": 0.75},
    {"event": "epoch", "epoch": 2, "loss": 0.5, "accuracy": 0.85, "val_loss": 0.55, "val_accuracy": 0.83},
]
BATCHES = [{"event": "batch", "epoch": epoch, "batch": batch, "loss": 1.0 / (batch + 4 * epoch)}
           for epoch in (1, 2) for batch in (1, 2, 3, 4)]


def serialised(figure):
    """The figure as the browser gets it; fails if anything is not JSON-serialisable."""
    assert isinstance(figure, go.Figure)
    return json.loads(figure.to_json())


def mosaic_geometry(figure):
    """(mosaic, screen pixels per map pixel, label band in map pixels) of a mosaic figure."""
    z = np.asarray(figure.data[0].z, dtype=np.float64)
    layout = figure.layout
    plot_height = layout.height - layout.margin.t - layout.margin.b
    pixels = plot_height / z.shape[0]
    band = int(np.argmax(np.isfinite(z).any(axis=1)))  # Blank rows above the first row of tiles.
    return z, pixels, band


def assert_labels_sit_in_the_gap_above_their_own_tiles(figure, tile_height, tile_width, columns):
    z, pixels, band = mosaic_geometry(figure)
    # The grid fits MOSAIC_WIDTH, so the height (which we set) decides the scale: no blank
    # space, and the band is as tall on screen as planned.
    assert z.shape[1] * pixels <= figures.MOSAIC_WIDTH * 1.01  # Within the height's rounding to whole pixels.
    assert band * pixels >= figures.LABEL_PIXELS
    for index, annotation in enumerate(figure.layout.annotations):
        assert annotation.yanchor == "bottom" and annotation.yref == "y"
        top = annotation.y + 0.5  # The label's baseline is its own tile's top edge.
        assert top == int(top) and top >= band
        top, left = int(top), int(round(annotation.x - (tile_width - 1) / 2))
        assert (top - band) // (tile_height + band) == index // columns  # The tile's own row.
        assert left // (tile_width + 1) == index % columns
        assert np.isfinite(z[top : top + tile_height, left : left + tile_width]).all()
        # The band above it is blank, so the text has the gap to itself.
        assert np.isnan(z[top - band : top, left : left + tile_width]).all()
    bar = figure.data[0].colorbar
    assert bar.lenmode == "fraction" and bar.yanchor == "top"
    # From the first tile's top edge down, and no longer than the grid.
    assert bar.y == pytest.approx(1 - band / z.shape[0])
    assert bar.len <= bar.y + 1e-9


def test_topk_bar_puts_the_best_on_top_in_percent():
    figure = figures.topk_bar(["seven", "one", "nine"], [0.8, 0.15, 0.05], highlight="one")
    data = serialised(figure)["data"]
    assert len(data) == 1 and data[0]["orientation"] == "h"
    assert list(figure.data[0].text) == ["80.0%", "15.0%", "5.0%"]
    assert figure.layout.yaxis.autorange == "reversed"
    colours = list(figure.data[0].marker.color)
    assert colours[1] == figures.ACCENT and colours[0] == colours[2] == figures.BASE_COLOUR
    assert figures.topk_bar(["a", "b"], [0.6, 0.4], highlight=0).data[0].marker.color[0] == figures.ACCENT
    with pytest.raises(ValueError, match="2 labels but 3"):
        figures.topk_bar(["a", "b"], [0.5, 0.3, 0.2])
    assert len(figures.topk_bar([], []).layout.annotations) == 1
    # A short axis title: with long class names the plot narrows, and a long title was cut at its edge.
    assert len(figure.layout.xaxis.title.text) <= 16
    assert figure.data[0].hovertemplate == "%{y}: %{x:.1f}%<extra></extra>"  # One decimal, as everywhere.


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1), (32, 48, 3)])
def test_image_figure_shows_pixels_without_ticks(shape):
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    figure = figures.image_figure(image, title="A digit")
    serialised(figure)
    assert len(figure.data) == 1 and isinstance(figure.data[0], go.Image)
    assert np.asarray(figure.data[0].z).shape == (*shape[:2], 3)
    assert figure.layout.xaxis.showticklabels is False
    assert figure.layout.title.text == "A digit"
    # Floats in 0..255 are accepted too.
    figures.image_figure(image.astype(np.float32))


def test_image_figure_takes_a_height_or_sizes_itself():
    image = RNG.integers(0, 256, (28, 28), dtype=np.uint8)
    assert figures.image_figure(image, height=333).layout.height == 333
    assert figures.image_figure(image, title="t").layout.height == 240 + 80  # As before: from the image.
    with pytest.raises(ValueError, match="height"):
        figures.image_figure(image, height=0)


@pytest.mark.parametrize("scale", figures.SCALES)
def test_heatmap_grid_is_one_mosaic_with_a_label_per_channel(scale):
    maps = RNG.normal(size=(11, 11, 20)).astype(np.float32)
    figure = figures.heatmap_grid(maps, columns=8, scale=scale, global_range=(-5, 5) if scale == "global" else None)
    serialised(figure)
    assert len(figure.data) == 1 and len(figure.layout.annotations) == 20
    heatmap = figure.data[0]
    # 3 rows x 8 columns of 11x11 tiles, 1-pixel gaps between columns, a label band above each row.
    _, _, band = mosaic_geometry(figure)
    assert np.asarray(heatmap.z).shape == (3 * (band + 11), 8 * 11 + 7)
    assert_labels_sit_in_the_gap_above_their_own_tiles(figure, 11, 11, 8)
    assert figure.layout.title.text == "20 feature maps"
    expected_range = {"channel": (0, 1), "layer": (maps.min(), maps.max()), "global": (-5, 5)}[scale]
    assert (heatmap.zmin, heatmap.zmax) == pytest.approx(expected_range, abs=1e-6)
    if scale == "channel":
        # Each tile spans its own full range; hover still reads raw activations.
        assert np.nanmax(np.asarray(heatmap.z)[band : band + 11, :11]) == pytest.approx(1.0)
        assert np.asarray(heatmap.customdata)[band, 0] == pytest.approx(maps[0, 0, 0])


def test_heatmap_grid_limits_channels_and_subsamples_large_maps():
    figure = figures.heatmap_grid(np.zeros((112, 112, 100)), max_channels=64, titles=[f"c{i}" for i in range(100)])
    assert len(figure.layout.annotations) == 64
    assert figure.layout.annotations[63].text == "c63"
    assert figure.layout.title.text == "64 feature maps (every 3rd pixel)"
    assert np.asarray(figure.data[0].z).shape[1] <= 8 * figures.MAX_TILE + 7
    assert_labels_sit_in_the_gap_above_their_own_tiles(figure, 38, 38, 8)
    assert "every 2nd pixel" in figures.heatmap_grid(np.zeros((60, 60, 2))).layout.title.text
    assert figures.heatmap_grid(np.zeros((8, 8, 1))).layout.title.text == "1 feature map"
    # A constant map (a dead ReLU channel) does not divide by zero.
    assert np.isfinite(np.asarray(figure.data[0].z)).any()
    with pytest.raises(ValueError, match="Unknown scale"):
        figures.heatmap_grid(np.zeros((4, 4, 2)), scale="image")
    with pytest.raises(ValueError, match="height, width, channels"):
        figures.heatmap_grid(np.zeros((2, 4, 4, 2)))


@pytest.mark.parametrize("inputs", [1, 3, 32])
def test_kernel_grid_is_diverging_around_zero(inputs):
    kernel = RNG.normal(size=(3, 3, inputs, 12))
    figure = figures.kernel_grid(kernel)
    serialised(figure)
    assert len(figure.data) == 1 and len(figure.layout.annotations) == 12
    heatmap = figure.data[0]
    assert heatmap.zmid == 0 and heatmap.zmin == -heatmap.zmax
    assert_labels_sit_in_the_gap_above_their_own_tiles(figure, 3, 3, 8)
    one_channel = figures.kernel_grid(kernel, input_channel=inputs - 1)
    assert f"input channel {inputs - 1}" in one_channel.layout.title.text
    assert len(figures.kernel_grid(RNG.normal(size=(3, 3, 1, 100))).layout.annotations) == 64
    assert figures.kernel_grid(RNG.normal(size=(5, 5, 1, 1))).layout.title.text == "1 filter of 5 x 5 weights"


@pytest.mark.parametrize("rows", [1, 2, 8])
def test_mosaic_height_follows_its_rows(rows):
    # Height from the grid's aspect: twice the rows, about twice the plot area; no fixed floor.
    figure = figures.heatmap_grid(np.zeros((20, 20, 8 * rows)), columns=8)
    z, pixels, band = mosaic_geometry(figure)
    assert z.shape[0] == rows * (band + 20)
    assert figure.layout.height == pytest.approx(
        figure.layout.margin.t + figure.layout.margin.b + rows * (band + 20) * pixels, abs=1)


@pytest.mark.parametrize("number, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                              (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"),
                                              (101, "101st"), (111, "111th"), (112, "112th")])
def test_ordinal(number, expected):
    assert figures.ordinal(number) == expected


def test_plural():
    assert figures.plural(1, "filter") == "1 filter"
    assert figures.plural(0, "filter") == "0 filters"
    assert figures.plural(2, "patch", "patches") == "2 patches"


def test_number_grid_writes_every_number():
    values = np.array([[0.5, -1.25, np.nan], [2.0, 0.0, 3.14159]])
    figure = figures.number_grid(values, title="Products", fmt=".2f")
    serialised(figure)
    assert len(figure.data) == 1
    assert [list(row) for row in figure.data[0].text] == [["0.50", "-1.25", ""], ["2.00", "0.00", "3.14"]]
    assert figure.data[0].texttemplate == "%{text}"
    assert figure.data[0].zmid == 0  # Signed values: a diverging scale centred on zero.
    assert figure.layout.title.text == "Products"
    assert figures.number_grid(np.ones((3, 3)), "t").data[0].colorscale[0][1] != figure.data[0].colorscale[0][1]
    # The "column" title sits below the grid, away from the figure's title above it.
    assert figure.layout.xaxis.side == "bottom" and figure.layout.xaxis.title.text == "column"
    assert figure.layout.xaxis.constrain == "domain"  # No phantom columns -1 and n.


def test_numbers_that_round_to_zero_lose_their_sign():
    figure = figures.number_grid(np.array([[-0.0001, -0.0004, 0.0002], [-0.002, 0.0, -0.0]]), "Products", ".3f")
    assert [list(row) for row in figure.data[0].text] == [["0.000", "0.000", "0.000"], ["-0.002", "0.000", "0.000"]]
    assert figures.number_text(-0.00004, ".4f") == "0.0000" and figures.number_text(-1.5, ".1f") == "-1.5"


def test_article_follows_the_first_letter():
    assert [f"{figures.article(word)} {word}" for word in ("Activation", "BatchNormalization", "Add", "Dense")] == [
        "an Activation", "a BatchNormalization", "an Add", "a Dense"]


@pytest.mark.parametrize("with_image", [False, True])
def test_attention_heads_grid_labels_layers_and_heads(with_image):
    maps = RNG.random((3, 5, 4, 4))
    rgb = RNG.integers(0, 256, (56, 56, 3), dtype=np.uint8) if with_image else None
    labels = ["Head 1", "Head 2", "Head 3", "Head 4", "Mean"]
    figure = figures.attention_heads_grid(maps, rgb=rgb, head_labels=labels, query=(1, 2))
    serialised(figure)
    assert isinstance(figure.data[0], go.Image if with_image else go.Heatmap)
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert texts == labels + ["Layer 1", "Layer 2", "Layer 3"]
    # A colour scale, and the query patch outlined in every tile.
    assert any(colour_bar_shown(trace) for trace in figure.data)
    assert len(figure.layout.shapes) == 3 * 5
    assert {shape.line.color for shape in figure.layout.shapes} == {figures.QUERY_COLOUR}
    # Tiles as wide as the page's main column allows (at least 120 pixels for five heads), and the
    # figure no taller than its rows (with their 2-pixel gaps): no blank band under the grid.
    plot_height = figure.layout.height - figure.layout.margin.t - figure.layout.margin.b
    if with_image:
        assert plot_height / 3 >= 120 and plot_height / 3 == pytest.approx(figures.HEADS_WIDTH / 5, rel=0.05)
    assert not figures.attention_heads_grid(maps, rgb=rgb, head_labels=labels).layout.shapes  # The class token.
    with pytest.raises(ValueError, match="head labels"):
        figures.attention_heads_grid(maps, head_labels=["a"])


def colour_bar_shown(trace):
    if isinstance(trace, go.Heatmap):
        return trace.showscale is not False
    return isinstance(trace, go.Scatter) and bool(trace.marker.showscale)


def test_one_head_s_attention_map_has_its_weights_on_the_colour_bar_and_the_query_outlined():
    weights = np.array([[0.1, 0.2], [0.3, 0.4]])
    figure = figures.attention_map(weights, RNG.integers(0, 256, (56, 56, 3), dtype=np.uint8), query=(0, 1),
                                   title="Layer 1, head 2")
    serialised(figure)
    [bar] = [trace for trace in figure.data if colour_bar_shown(trace)]
    assert list(bar.marker.colorbar.ticktext) == ["0.10", "0.40"]
    assert bar.marker.colorbar.title.text == "attention weight"
    [shape] = figure.layout.shapes
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (27.5, 55.5, -0.5, 27.5)


def test_mean_distance_scatter_has_one_trace_per_head():
    figure = figures.mean_distance_scatter(RNG.random((4, 3)) * 20)
    serialised(figure)
    assert len(figure.data) == 3
    assert list(figure.data[0].x) == [1, 2, 3, 4]
    assert "pixels" in figure.layout.yaxis.title.text


def test_training_curves_show_train_validation_and_smoothed_batches():
    figure = figures.training_curves(EPOCHS, BATCHES, smoothing=0.6)
    serialised(figure)
    names = [trace.name for trace in figure.data]
    assert names == ["batch loss", "batch loss (smoothed)", "training loss", "validation loss",
                     "training accuracy", "validation accuracy"]
    # Batches sit at fractional epochs: batch 4 of 4 in epoch 1 is at x = 1.
    assert list(figure.data[0].x)[:4] == [0.25, 0.5, 0.75, 1.0]
    assert len(figures.training_curves(EPOCHS).data) == 4
    empty = figures.training_curves([])
    assert len(empty.data) == 0 and len(empty.layout.annotations) == 1


def test_a_long_runs_batch_curve_is_thinned_evenly_but_smoothed_over_every_batch():
    rng = np.random.default_rng(0)
    batches = [{"epoch": 1 + index // 1000, "batch": index % 1000 + 1, "loss": float(value)}
               for index, value in enumerate(rng.uniform(0, 2, 5000))]
    figure = figures.training_curves([], batches, smoothing=0.9, max_batch_points=600)
    raw, smoothed = figure.data[0], figure.data[1]
    assert len(raw.x) == len(smoothed.x) <= 600
    kept = figures.evenly_spaced(5000, 600)
    assert kept[0] == 0 and kept[-1] == 4999
    assert list(raw.y) == [batches[index]["loss"] for index in kept]
    every = figures.smooth([batch["loss"] for batch in batches], 0.9)
    assert list(smoothed.y) == pytest.approx([every[index] for index in kept])
    assert figures.evenly_spaced(5, 600) == [0, 1, 2, 3, 4]


def test_smoothing_is_debiased():
    assert figures.smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    assert figures.smooth([1.0, 3.0], 0.0) == [1.0, 3.0]


@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix(normalize):
    matrix = [[8, 2, 0], [1, 9, 0], [0, 0, 0]]
    figure = figures.confusion_matrix(matrix, ["cat", "dog", "fox"], normalize=normalize)
    serialised(figure)
    assert len(figure.data) == 1
    text = [list(row) for row in figure.data[0].text]
    assert text[0] == (["80.0%", "20.0%", "0.0%"] if normalize else ["8", "2", "0"])
    assert text[2] == (["0.0%", "0.0%", "0.0%"] if normalize else ["0", "0", "0"])  # An empty row stays 0.
    assert figure.layout.xaxis.title.text == "predicted class"
    with pytest.raises(ValueError, match="3 x 3"):
        figures.confusion_matrix([[1, 2]], ["a", "b", "c"])


def test_confusion_matrix_labels_stand_level_and_long_names_break_into_lines():
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    figure = figures.confusion_matrix(np.eye(10) * 90 + 1, names)
    assert figure.layout.xaxis.tickangle == 0
    assert figure.layout.xaxis.tickfont.size >= 12 and figure.layout.yaxis.tickfont.size >= 12
    assert list(figure.layout.xaxis.ticktext)[-1] == "Ankle<br>boot" and list(figure.layout.xaxis.tickvals) == names
    many = figures.confusion_matrix(np.eye(20), [f"class {index}" for index in range(20)])
    assert many.layout.xaxis.tickangle == -45  # Twenty side by side do not fit level.


def test_per_class_bars_and_roc_curves():
    per_class = [{"class": "0", "precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 10},
                 {"class": "1", "precision": 0.7, "recall": 0.75, "f1": 0.72, "support": 12}]
    bars = figures.per_class_bars(per_class)
    serialised(bars)
    assert [trace.name for trace in bars.data] == ["precision", "recall", "F1"]
    curves = [{"class": "0", "fpr": [0, 0.1, 1], "tpr": [0, 0.9, 1], "auc": 0.9},
              {"class": "1", "fpr": [0, 0.3, 1], "tpr": [0, 0.6, 1], "auc": 0.65}]
    roc = figures.roc_curves(curves)
    serialised(roc)
    assert len(roc.data) == 3 and roc.data[1].name == "0 (AUC 0.900)"


def test_runs_overlay_races_optimizers():
    histories = {"adam": EPOCHS, "sgd": [{"epoch": 1, "val_accuracy": 0.5}], "broken": [{"epoch": 1, "loss": 2.0}]}
    figure = figures.runs_overlay(histories)
    serialised(figure)
    assert [trace.name for trace in figure.data] == ["adam", "sgd"]
    assert "validation accuracy" in figure.layout.yaxis.title.text
    assert "lower is better" in figures.runs_overlay(histories, "loss").layout.yaxis.title.text
    assert len(figures.runs_overlay({}).layout.annotations) == 1


def parse_dot(dot):
    """({node id: (name, fill colour)}, {(from name, to name)}) read back from DOT text."""
    import re

    nodes = {match[1]: (match[2], match[3])
             for match in re.finditer(r'^  (n\d+) \[label="([^:]+): [^"]*", fillcolor="([^"]+)"\];$', dot, re.M)}
    edges = {(nodes[a][0], nodes[b][0]) for a, b in re.findall(r"^  (n\d+) -> (n\d+);$", dot, re.M)}
    return nodes, edges


def architecture(model):
    from imgrec import explain

    return figures.architecture_dot(explain.layer_table(model), explain.layer_edges(model))


def test_architecture_dot_of_a_residual_branch():
    import keras

    inputs = keras.Input((8, 8, 1), name="image")
    branch = keras.layers.Conv2D(2, 3, padding="same", name="conv_a")(inputs)
    added = keras.layers.Add(name="add")([branch, keras.layers.Conv2D(2, 3, padding="same", name="conv_b")(branch)])
    dot = architecture(keras.Model(inputs, keras.layers.GlobalMaxPooling2D(name="pool")(added)))
    assert dot.startswith("digraph model {") and dot.endswith("}")
    nodes, edges = parse_dot(dot)
    assert [name for name, _ in nodes.values()] == ["image", "conv_a", "conv_b", "add", "pool"]
    assert edges == {("image", "conv_a"), ("conv_a", "conv_b"), ("conv_a", "add"), ("conv_b", "add"), ("add", "pool")}
    fills = dict(nodes.values())
    assert fills["conv_a"] == figures.KIND_FILLS["conv"] and fills["pool"] == figures.KIND_FILLS["pool"]
    assert fills["add"] == figures.KIND_FILLS["other"]
    assert 'label="conv_a: Conv2D\\n(batch, 8, 8, 2)\\n20 parameters"' in dot


def test_architecture_dot_of_a_sequential_model_and_of_a_nested_one():
    import keras

    from imgrec import architectures

    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                                   keras.layers.Dense(2, name="out")])
    assert parse_dot(architecture(sequential)) == (
        {"n0": ("hidden", figures.KIND_FILLS["dense"]), "n1": ("out", figures.KIND_FILLS["dense"])},
        {("hidden", "out")},
    )
    inner = architectures.build("cnn", (28, 28, 1), 10, seed=0)
    inputs = keras.Input((28, 28, 1), name="outer_image")
    outer = keras.Model(inputs, inner(keras.layers.Identity(name="passthrough")(inputs)))
    nodes, edges = parse_dot(architecture(outer))
    # The inner CNN is one box: none of its own layers (conv1, pool1...) is drawn.
    assert [name for name, _ in nodes.values()] == ["outer_image", "passthrough", inner.name]
    assert edges == {("outer_image", "passthrough"), ("passthrough", inner.name)}


def test_architecture_dot_escapes_quotes_and_skips_unknown_edges():
    rows = [{"name": 'say "hi"', "type": "Lambda", "output_shape": "(batch, 2)", "parameters": 0, "kind": "other",
             "depth": 0}]
    dot = figures.architecture_dot(rows, [("missing", 'say "hi"')])
    assert 'label="say \\"hi\\": Lambda' in dot and "->" not in dot


def test_a_clickable_confusion_matrix_lays_one_invisible_marker_on_every_cell():
    matrix = [[5, 1, 0], [2, 7, 1], [0, 0, 9]]
    figure = figures.confusion_matrix(matrix, ["cat", "dog", "fox"], clickable=True)
    heatmap, cells = serialised(figure)["data"]
    assert cells["type"] == "scatter" and cells["marker"]["opacity"] == 0 and heatmap["hoverinfo"] == "skip"
    pairs = list(zip(cells["y"], cells["x"], strict=True))
    assert len(pairs) == 9 and pairs[1] == ("cat", "dog") and pairs[3] == ("dog", "cat")
    counts = figures.confusion_matrix(matrix, ["cat", "dog", "fox"], clickable=True).data[1].customdata
    assert np.asarray(counts).tolist() == [5, 1, 0, 2, 7, 1, 0, 0, 9]
    assert len(figures.confusion_matrix(matrix, ["cat", "dog", "fox"]).data) == 1


def test_training_curves_of_an_autoencoder_have_one_panel_for_its_error():
    history = [{"epoch": 1, "loss": 0.06, "val_loss": 0.05}, {"epoch": 2, "loss": 0.045, "val_loss": 0.044}]
    figure = serialised(figures.training_curves(history))
    assert [trace["name"] for trace in figure["data"]] == ["training loss", "validation loss"]
    assert [note["text"] for note in figure["layout"]["annotations"]] == [
        "Loss: the reconstruction error (lower is better)"]


def test_filter_grid_puts_each_filters_examples_beside_its_picture():
    pictures = RNG.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    examples = RNG.integers(0, 256, (5, 4, 28, 28, 1), dtype=np.uint8)
    figure = figures.filter_grid(pictures, examples, [f"filter {index}" for index in range(5)])
    data = serialised(figure)
    assert data["data"][0]["type"] == "image" and data["data"][0]["source"].startswith("data:image/png;base64,")
    assert [note["text"] for note in data["layout"]["annotations"]] == [f"filter {index}" for index in range(5)]
    alone = serialised(figures.filter_grid(pictures))
    assert alone["layout"]["title"]["text"].startswith("The image each filter answers to most")
    photos = [[RNG.integers(0, 256, (90, 120, 3), dtype=np.uint8)] * 2] * 5  # Any size: fitted to a tile.
    serialised(figures.filter_grid(pictures, photos))
    with pytest.raises(ValueError, match="examples for 2 filters, but 5 pictures"):
        figures.filter_grid(pictures, examples[:2])


def test_image_pairs_and_the_latent_walk():
    images = RNG.integers(0, 256, (4, 28, 28, 1), dtype=np.uint8)
    pairs = serialised(figures.image_pairs(images, images / 255.0, ["7: 0.010"] * 4))
    assert [note["text"] for note in pairs["layout"]["annotations"]] == ["7: 0.010"] * 4
    with pytest.raises(ValueError, match="as many images as reconstructions"):
        figures.image_pairs(images, images[:2] / 255.0)
    walk = serialised(figures.latent_walk(RNG.uniform(0, 1, (3, 4, 28, 28, 1)), [-1, 0, 1, 2], [1, 0, -1]))
    assert walk["layout"]["xaxis"]["ticktext"] == ["-1", "0", "1", "2"]
    assert walk["layout"]["yaxis"]["ticktext"] == ["1", "0", "-1"]
    assert walk["layout"]["xaxis"]["title"]["text"] == "code, 1st number"


def test_the_embedding_map_shows_an_image_on_hover_and_selects_a_test_image_by_click():
    points = RNG.normal(size=(6, 2))
    labels, predicted = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 1, 1, 0, 2, 2])
    spec = figures.embedding_map(points, labels, ["a", "b", "c"], predicted=predicted, colour="outcome",
                                 thumbnails=["data:image/png;base64,AAAA"] * 6, indices=[10, 11, 12, 13, 14, 15])
    json.dumps(spec)
    rows = spec["data"]["values"]
    assert [row["outcome"] for row in rows] == ["right", "right", "wrong", "right", "wrong", "right"]
    assert rows[2] == {"x": round(points[2, 0], 4), "y": round(points[2, 1], 4), "true class": "c", "index": 12,
                       "predicted": "b", "outcome": "wrong", "image": "data:image/png;base64,AAAA"}
    assert spec["params"] == [{"name": "picked", "select": {"type": "point", "fields": ["index"], "on": "click"}}]
    # vega-tooltip draws the value of a tooltip field named "image" as a picture.
    assert spec["encoding"]["tooltip"][0] == {"field": "image", "type": "nominal"}
    assert spec["encoding"]["color"]["scale"]["domain"] == ["right", "wrong"]
    by_class = figures.embedding_map(points, labels, ["a", "b", "c"])
    assert by_class["encoding"]["color"]["field"] == "true class" and "predicted" not in by_class["data"]["values"][0]
    with pytest.raises(ValueError, match="or 'outcome' for a model that predicts"):
        figures.embedding_map(points, labels, ["a", "b", "c"], colour="outcome")
