"""The app's only Streamlit helpers, one module each: import them as `from pages._ui import compute, models`.

- `navigation`: runs a page under the app's navigation, even on a fresh server's first request.
- `i18n`: the interface's languages: `t("section.key")` from the catalogs in `locales/`, the session's language,
  class names in both languages. `language`: the sidebar's language switch and `lang` kept in the address.
- `links`: a page's view in its address: reading a shared link's parameters, checking them, writing them back.
- `models`: the model list, the model picker and its URL state, checking that a model loads.
- `inputs`: the images a visitor chooses (samples, upload, camera, drawing), kept across pages, and the
  sentence when a model does not know the chosen sample's kind.
- `views`: small display helpers shared by pages (chart config, enlarged pixels, thumbnails).
- `lessons`: the lessons of /learn, read from `lessons/*.toml` and checked, and the pages a step can open.
- `presenter`: presenter mode (`?present=1`), applied on every page and kept in the links the app writes;
  its `apply` also draws the language switch.
- `compute`: every cached computation that needs a Keras model, asked of the inference workers
  (`imgrec.serving`): the server never imports TensorFlow. `choices`: the records it returns.
  `compute_learned`: the same for what a model learned (test outputs, data map, filters, autoencoder).
- `confusion`, `data_map_view`, `autoencoder`: the clickable confusion matrix, the data map and an
  autoencoder's views, shared by Models, Data map and a run's results.
- `trust_panel`: the trust checks beside a heatmap on Predict, and a shapes model's localisation table.
- `drawing`: the drawing canvas (a digit on Predict's inputs, a brush in edit and compare).
- `spinners`: the cached computations' spinners in the session's language.
- `charts`: shows a Plotly figure the app's way (its config; larger text in presenter mode).
- `edit_compare`: Predict's edit and compare: paint over the model's view, compare with the original.
- `arithmetic`: the Feature maps page's hand check of one convolution or pooling output.
- `report_download`: the "Download report" buttons (a prediction, a run, a model's card).
- `train_*`: the settings, the runs and the four tabs of the Train page; `models_*`: the tabs of Models.
"""
