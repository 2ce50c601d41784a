"""Builders shared by the tests (and the benchmarks that drive the real app).

- `registries`: tiny models saved into a registry folder, and a scoped IMGREC_MODELS_DIR.
- `images`: image files and bytes built in memory (a drawn digit, any array as PNG, JPEG...).
- `server`: the app (`serve.py`) on a free loopback port; `environment` for a block.
- `ray_cluster`: a private local Ray cluster (a head and worker nodes), stopped by handle.
- `browser`: where Debian's Chromium is, how to launch it, and what to say when it is missing.
- `hostile`: hostile model files (code, bombs, malformed archives), one list for every way in.
- `notebook_models`: models of shapes imgrec never builds, imported through the import path.
- `reports`: what in a report file points outside it; opening it offline and printing it in Chromium.
- `hang_on_save/`: a `sitecustomize` that makes a server hang mid-save, for the fault campaign.
- `apptest`: opening a page of an AppTest as a link would, reading the figures it drew, clicking a chart.
"""
