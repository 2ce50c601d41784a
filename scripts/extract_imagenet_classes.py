"""Writes imgrec/data/imagenet_classes.json from the npm package @tensorflow-models/mobilenet.

The package (Apache-2.0) ships the 1000 ImageNet class names, in the standard synset
order that Keras and the EfficientNet weights use, as a JavaScript object literal in
dist/imagenet_classes.js. This script installs it into a temporary folder with npm,
parses that literal as text (no JavaScript is run) and writes a JSON list of 1000 strings.

Usage:

    python scripts/extract_imagenet_classes.py [--output imgrec/data/imagenet_classes.json]
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import re
import subprocess
import sys
import tempfile

PACKAGE = "@tensorflow-models/mobilenet"
VERSION = "2.1.1"
CLASSES_FILE = pathlib.Path("node_modules/@tensorflow-models/mobilenet/dist/imagenet_classes.js")
DEFAULT_OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "imgrec" / "data" / "imagenet_classes.json"

# One entry of the object literal: `281: 'tabby, tabby cat',`, where a long name is split
# into several quoted pieces joined with `+` across lines.
STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
ENTRY = re.compile(rf"^\s*(\d+)\s*:\s*((?:(?:{STRING})\s*\+?\s*)+),?\s*$", re.MULTILINE)
PIECE = re.compile(STRING)

# Spot checks that the order is the standard one.
ANCHORS = {
    0: "tench, Tinca tinca",
    281: "tabby, tabby cat",
    504: "coffee mug",
    967: "espresso",
    999: "toilet tissue, toilet paper, bathroom tissue",
}


def parse_classes(source: str) -> list[str]:
    """Returns the class names of an `IMAGENET_CLASSES = {0: '...', ...}` literal, in index order."""
    names: dict[int, str] = {}
    for match in ENTRY.finditer(source):
        index = int(match.group(1))
        # JavaScript and Python agree on these escapes (\' and \"), so literal_eval decodes them.
        names[index] = "".join(ast.literal_eval(piece) for piece in PIECE.findall(match.group(2)))
    if sorted(names) != list(range(1000)):
        raise ValueError(f"Expected class indices 0..999, found {len(names)} entries.")
    result = [names[index] for index in range(1000)]
    for index, expected in ANCHORS.items():
        if result[index] != expected:
            raise ValueError(f"Class {index} is {result[index]!r}, expected {expected!r}.")
    return result


def fetch_source() -> str:
    """Installs the npm package into a temporary folder and returns the classes file's text."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                folder,
                f"{PACKAGE}@{VERSION}",
                "--no-save",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ],
            check=True,
        )
        return (pathlib.Path(folder) / CLASSES_FILE).read_text("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    names = parse_classes(fetch_source())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(names, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Wrote {len(names)} class names to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
