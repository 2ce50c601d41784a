"""The settings a shared server runs with (`.streamlit/config.toml`), as Streamlit itself reads them."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_the_server_collects_no_garbage_per_run_and_watches_no_files(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(REPO)  # Streamlit reads .streamlit/config.toml from the folder it is started in.
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("runner.postScriptGC") is False
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.enableXsrfProtection") is True
        assert config.get_option("client.showErrorDetails") == "none"
    finally:
        config.get_config_options(force_reparse=True)
