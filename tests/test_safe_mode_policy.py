"""CI policy: no code outside tests/ turns Keras safe mode off, and every load_model call asks for it.

Safe mode is what keeps a Lambda's bytecode in a model file from running. Tests may build
hostile configs as strings, so tests/ is exempt from the text scan; everything else is not,
comments included: a line that mentions turning safe mode off deserves a reviewer's eyes.
"""

import ast
import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = [
    re.compile(r"safe_mode\s*=\s*False"),
    re.compile(r"enable_unsafe_deserialization"),
    re.compile(r"SafeModeScope\s*\(\s*(safe_mode\s*=\s*)?False"),
    re.compile(r"safe_mode_saving"),  # Keras's global flag, set directly.
]
LOADING_FOLDERS = ("imgrec/", "pages/")


def tracked_python_files():
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "*.py"], cwd=REPO, capture_output=True, check=True,
                                timeout=30).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in listed.decode().split("\0") if name and not name.startswith("tests/")]


def test_no_tracked_code_outside_tests_turns_safe_mode_off():
    files = tracked_python_files()
    assert REPO / "imgrec" / "registry" / "safety.py" in files  # Where the registry calls Keras to load.
    offences = []
    for path in files:
        if not path.is_file():  # Deleted in the working tree but still in the index.
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if any(pattern.search(line) for pattern in FORBIDDEN):
                offences.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offences, "Keras safe mode must stay on:\n" + "\n".join(offences)


def load_model_calls(tree):
    """Yields every call whose function is named `load_model` (keras.saving.load_model, models.load_model...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if name == "load_model":
                yield node


def passes_safe_mode_true(call):
    return any(keyword.arg == "safe_mode" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
               for keyword in call.keywords)


def test_every_load_model_call_in_the_package_and_pages_passes_safe_mode_true():
    files = [path for path in tracked_python_files()
             if str(path.relative_to(REPO)).startswith(LOADING_FOLDERS) and path.is_file()]
    # Untracked pages being written right now count too: they will be committed soon.
    files += [path for path in (REPO / "pages").glob("*.py") if path not in files]
    calls, offences = 0, []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in load_model_calls(tree):
            calls += 1
            if not passes_safe_mode_true(call):
                offences.append(f"{path.relative_to(REPO)}:{call.lineno}: {ast.unparse(call)}")
    assert calls >= 1, "registry.load_keras_bytes calls keras.saving.load_model; the scan found none"
    assert not offences, "every load_model call must pass safe_mode=True explicitly:\n" + "\n".join(offences)


def test_the_checks_catch_what_they_are_meant_to():
    bad = ast.parse("keras.saving.load_model(p, compile=False)\nload_model(p, **options)\n"
                    "keras.models.load_model(p, safe_mode=flag)\n")
    assert [passes_safe_mode_true(call) for call in load_model_calls(bad)] == [False, False, False]
    good = ast.parse("keras.saving.load_model(p, compile=False, safe_mode=True)")
    assert all(passes_safe_mode_true(call) for call in load_model_calls(good))
    for line in ("load_model(p, safe_mode = False)", "keras.config.enable_unsafe_deserialization()",
                 "with SafeModeScope(False):", "set_global_attribute('safe_mode_saving', False)"):
        assert any(pattern.search(line) for pattern in FORBIDDEN), line
