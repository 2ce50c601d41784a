"""imgrec.paths: folders from the environment, read when asked for, and paths as people should read them."""

from imgrec import paths


def test_folders_follow_the_environment_when_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("IMGREC_MODELS_DIR", str(tmp_path / "models"))
    assert paths.models_dir() == tmp_path / "models"
    monkeypatch.delenv("IMGREC_MODELS_DIR")
    assert paths.models_dir() == paths.REPO_ROOT / "models"


def test_display_path_is_relative_inside_the_checkout_even_through_a_link(monkeypatch, tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "disk"
    (elsewhere / "mnist").mkdir(parents=True)
    repo.mkdir()
    (repo / "data").symlink_to(elsewhere)
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    assert paths.display_path(repo / "data" / "mnist") == "data/mnist"
    assert paths.display_path(repo / "models" / "x.keras") == "models/x.keras"
    assert paths.display_path(elsewhere / "mnist") == str(elsewhere / "mnist")
