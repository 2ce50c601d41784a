"""The shape of the house: one-way layers, no import cycles, modules of a readable size (DESIGN.md).

Every module under `imgrec/` is parsed (not imported) and every import it makes is read,
imports inside functions included: a module may import its own layer or the layers below,
never one above, and the graph of imports between modules has no cycle.
"""

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO / "imgrec"

# Bottom to top. A name is a top-level module or package of imgrec.
LAYERS = {
    1: ("paths", "atomic", "runtime", "texts"),
    2: ("images", "image_formats", "preprocess", "overlays", "inference", "edits"),
    3: ("architectures", "pretrained", "datasets"),
    4: ("registry",),
    5: ("training", "metrics", "explain", "trust", "figures", "export", "mistakes", "embedding", "reconstruction"),
    6: ("jobs", "search", "report", "serving"),
    7: ("cli", "__main__"),
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}
MAX_MODULE_LINES = 500
MAX_PAGE_LINES = 300


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_package(path):
    return path.name == "__init__.py"


def resolve(name, known):
    """The longest known module that an imported dotted name refers to."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports_of(name, path, known):
    """The imgrec modules that one module imports, anywhere in its body."""
    found = set()
    package = name if is_package(path) else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from imgrec.explain import gradcam` imports the submodule when there is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = resolve(target, known) if target.startswith("imgrec") else None
            if resolved and resolved != name and resolved != "imgrec":
                found.add(resolved)
    return found


def graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def layer(name):
    parts = name.split(".")
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else 0


def test_every_module_has_a_layer():
    unplaced = sorted(name for name in modules() if name != "imgrec" and layer(name) is None)
    assert not unplaced, f"Modules without a layer (add them to LAYERS and DESIGN.md): {unplaced}"


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{source} (layer {layer(source)}) imports {target} (layer {layer(target)})"
        for source, targets in graph().items()
        for target in sorted(targets)
        if layer(source) is not None and layer(target) is not None and layer(target) > layer(source)
    ]
    assert not upward, "Upward imports:\n" + "\n".join(upward)


def find_cycle(edges):
    """One import cycle as a list of modules, or None (iterative depth-first search)."""
    state = {}
    for start in sorted(edges):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, "Import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "imgrec" / "explain" / "sample.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from imgrec import jobs\n    from . import base\n")
    known = {"imgrec.jobs": None, "imgrec.explain": None, "imgrec.explain.base": None, "imgrec.explain.sample": None}
    assert imports_of("imgrec.explain.sample", source, known) == {"imgrec.jobs", "imgrec.explain.base"}


def test_the_library_never_imports_streamlit():
    offenders = [name for name, path in modules().items() if "streamlit" in {
        alias.name.split(".")[0] for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in ([ast.alias(node.module or "")] if isinstance(node, ast.ImportFrom) else node.names)
    }]
    assert not offenders


@pytest.mark.parametrize("folder, limit", [("imgrec", MAX_MODULE_LINES), ("pages", MAX_PAGE_LINES)])
def test_modules_are_a_readable_size(folder, limit):
    too_long = {str(path.relative_to(REPO)): count for path in sorted((REPO / folder).rglob("*.py"))
                if (count := len(path.read_text(encoding="utf-8").splitlines())) > limit}
    assert not too_long, f"Over {limit} lines (split by what each part is): {too_long}"
