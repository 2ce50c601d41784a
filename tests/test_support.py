"""The test machinery itself: a missing browser fails loudly, builders restore what they set, no test imports bench."""

import ast
import os
import subprocess
import sys

from imgrec import paths
from tests.support import registries


def test_a_missing_browser_fails_the_browser_tests_and_says_how_to_get_it(tmp_path):
    environment = {**os.environ, "IMGREC_CHROMIUM": str(tmp_path / "no-chromium")}
    process = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/e2e"],
                             cwd=paths.REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert process.returncode == 1, process.stdout
    assert "skipped" not in process.stdout and " error" in process.stdout
    summary = process.stdout.split("browser tests did not run", 1)[1]
    assert f"Chromium is missing at {tmp_path / 'no-chromium'}" in summary
    assert "sudo apt-get install chromium" in summary and "-m 'not e2e'" in summary


def test_registry_at_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IMGREC_MODELS_DIR", "before")
    with registries.registry_at(tmp_path):
        assert paths.models_dir() == tmp_path
    assert os.environ["IMGREC_MODELS_DIR"] == "before"


def test_no_test_imports_the_benchmarks():
    importers = []
    for path in sorted((paths.REPO_ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "bench" or name.startswith("bench.") for name in names):
                importers.append(f"{path.relative_to(paths.REPO_ROOT)}:{node.lineno}")
    assert importers == []
