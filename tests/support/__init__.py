"""Builders shared by the tests (and the benchmarks that drive the real app).

- `registries`: tiny models saved into a registry folder, and a scoped IMGREC_MODELS_DIR.
- `images`: image files and bytes built in memory (a drawn digit, any array as PNG, JPEG...).
- `server`: `streamlit run streamlit_app.py` on a free loopback port.
- `browser`: where Debian's Chromium is, how to launch it, and what to say when it is missing.
- `apptest`: selecting points in a chart, which AppTest cannot click.
"""
