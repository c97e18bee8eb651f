"""The house's rules, read from the code's own imports (every import, also those inside functions):

- the engine (`lstm_viz` outside `lstm_viz.ui`) imports no Streamlit;
- each subpackage imports only from its own layer's package or from lower layers (the order below, which the
  README's "Code layout" draws), never from a higher one or a peer of the same rank;
- no two modules import each other, directly or in a longer circle;
- pages stay thin, and no engine or glue module grows past the size a reader can hold.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lstm_viz"

# Lowest first. Packages of one rank are peers: none imports another.
LAYERS = [
    {"rules"},
    {"data"},
    {"core"},
    {"compression"},
    {"analysis", "runs", "io"},
    {"practices"},
    {"figures"},
    {"ui"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MAX_PAGE_LINES = 80
MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, `from package import module` read as the module."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def engine_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def own_imports() -> dict[str, set[str]]:
    modules = engine_modules()
    return {name: {target for target in imported_modules(path) if target in modules and target != name}
            for name, path in modules.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def test_every_subpackage_has_a_layer():
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert packages == set(RANK), "a new subpackage needs its place in LAYERS (and in the README's Code layout)"
    loose = sorted(path.name for path in PACKAGE.glob("*.py") if path.name not in ("__init__.py", "__main__.py"))
    assert not loose, f"modules outside every layer: {loose}"


def test_the_engine_imports_no_streamlit():
    offenders = sorted(name for name, path in engine_modules().items()
                       if layer_of(name) != "ui" and any(t.split(".")[0] == "streamlit" for t in imported_modules(path)))
    assert not offenders


def test_no_package_imports_a_higher_layer_or_a_peer():
    wrong = []
    for module, targets in own_imports().items():
        here = layer_of(module)
        if here is None:  # the package's face (lstm_viz/__init__.py, __main__.py) may re-export any layer
            continue
        for target in targets:
            there = layer_of(target)
            if there is None or there == here:
                continue
            if RANK[there] >= RANK[here]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def test_no_import_cycles():
    graph = own_imports()
    # An import of a package's face stands for the face alone, which may import its own modules: a cycle through a
    # face is still a cycle, so faces are kept in the graph.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target] if target in path else [node, target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # A package's face importing its own modules, which import siblings through the face's names, is not a cycle
    # of modules: keep only circles of two or more modules that are not all faces of one package.
    real = [cycle for cycle in cycles if not all(PACKAGE.joinpath(*m.split(".")[1:], "__init__.py").exists()
                                                 for m in cycle[1:-1] or cycle)]
    assert not real, real


def test_pages_stay_thin():
    long_pages = {path.name: lines for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
                  if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES}
    assert not long_pages, long_pages


def test_no_module_grows_past_what_a_reader_holds():
    long_modules = {name: lines for name, path in engine_modules().items()
                    if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long_modules, long_modules


@pytest.mark.parametrize("bad_import, expected", [
    ("from lstm_viz.ui import state", "ui"),
    ("import streamlit as st", "streamlit"),
])
def test_the_rules_catch_a_breach(tmp_path, bad_import, expected):
    """The checks above read real imports: a module written with a forbidden import is seen."""
    probe = PACKAGE / "core" / "_architecture_probe.py"
    probe.write_text(bad_import + "\n", encoding="utf-8")
    try:
        targets = imported_modules(probe)
        assert any(t.split(".")[-1] == expected or t.split(".")[0] == expected for t in targets)
        if expected == "ui":
            assert any(layer_of(t) == "ui" and RANK["ui"] > RANK["core"] for t in own_imports()[module_name(probe)])
    finally:
        probe.unlink()


MAX_FUNCTION_LINES = 60
# A figure builder may run longer when its docstring says why, in a sentence starting with this.
LONG_FIGURE_REASON = "Long because"


def test_no_function_runs_past_sixty_lines():
    long_functions = {}
    for name, path in engine_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                excused = layer_of(name) == "figures" and LONG_FIGURE_REASON in (ast.get_docstring(node) or "")
                if length > MAX_FUNCTION_LINES and not excused:
                    long_functions[f"{name}.{node.name}"] = length
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long_functions[f"{path.name}.{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long_functions, long_functions


def private_names_used_across_modules() -> list[str]:
    """`from lstm_viz.x import _name`, or `module._name` on an imported lstm_viz module, outside that module."""
    modules = engine_modules()
    used = []
    sources = {**{name: path for name, path in modules.items()},
               **{path.name: path for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]}}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
                    elif target in modules and alias.name.startswith("_") and not alias.name.startswith("__"):
                        used.append(f"{name}: from {target} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                used.append(f"{name}: {aliases[node.value.id]}.{node.attr}")
    return sorted(set(used))


def test_no_module_uses_another_modules_private_names():
    assert not private_names_used_across_modules()


def test_a_private_name_used_from_another_module_is_seen():
    probe = PACKAGE / "ui" / "_architecture_probe.py"
    probe.write_text("from lstm_viz.core.trainer import _hidden\n"
                     "from lstm_viz.ui.train import figures as views\nviews._helper\n", encoding="utf-8")
    try:
        found = private_names_used_across_modules()
    finally:
        probe.unlink()
    assert found == ["lstm_viz.ui._architecture_probe: from lstm_viz.core.trainer import _hidden",
                     "lstm_viz.ui._architecture_probe: lstm_viz.ui.train.figures._helper"]
