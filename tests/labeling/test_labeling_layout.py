"""The project's shape holds: no import cycle anywhere, only the arrows the layout allows, small modules.

Every ``import`` / ``from ... import`` in the four packages counts, also the ones inside functions
(a lazy import is still a dependency). Layers inside ``labeling`` point one way:
``config`` < ``store`` < ``data``, ``exec`` < ``stages`` < ``experiment``, ``label``, ``serve`` < ``cli``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("debate", "training", "eval", "labeling")
LIBRARIES = ("debate", "training", "eval")
# labeling's parts by layer: a module may import its own part or a lower layer only.
LAYERS = {
    "_exports": 0,
    "config": 0,
    "store": 1,
    "data": 2,
    "exec": 2,
    "stages": 3,
    "experiment": 4,
    "label": 4,
    "serve": 4,
    "cli": 5,
    "__init__": 5,
}
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
# One orchestrator per application may be longer (none needs to be today).
LONG_FUNCTIONS_ALLOWED: set[str] = set()


def module_name(path: Path) -> str:
    """``labeling/exec/shards.py`` -> ``labeling.exec.shards``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Project modules that ``path`` imports anywhere in the file (``from pkg import submodule`` included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # `import a.b.c` depends on the deepest known module
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imported_modules(path, known) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return stack[stack.index(child):] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_there_is_no_import_cycle(graph: dict[str, set[str]]) -> None:
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_libraries_never_import_each_other_or_the_application(graph: dict[str, set[str]]) -> None:
    wrong = [
        f"{src} -> {dst}"
        for src, targets in graph.items()
        for dst in targets
        if src.split(".")[0] in LIBRARIES and dst.split(".")[0] != src.split(".")[0]
    ]
    assert not wrong, "the libraries must stay independent:\n" + "\n".join(sorted(wrong))


def labeling_part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_labeling_layers_point_one_way(graph: dict[str, set[str]]) -> None:
    assert all(labeling_part(m) in LAYERS for m in graph if m.startswith("labeling")), "a labeling part has no layer"
    wrong = []
    for src, targets in graph.items():
        if not src.startswith("labeling"):
            continue
        for dst in targets:
            if not dst.startswith("labeling") or labeling_part(dst) == labeling_part(src):
                continue
            if LAYERS[labeling_part(dst)] >= LAYERS[labeling_part(src)]:
                wrong.append(f"{src} -> {dst}")
    assert not wrong, "arrows against the layering:\n" + "\n".join(sorted(wrong))


def test_modules_stay_small() -> None:
    big = {name: n for name, path in project_modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def test_labeling_functions_stay_short() -> None:
    long = {}
    for name, path in project_modules().items():
        if not name.startswith("labeling"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and f"{name}:{node.name}" not in LONG_FUNCTIONS_ALLOWED:
                    long[f"{name}:{node.name}"] = length
    assert not long, f"labeling functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize(
    "package",
    ["labeling", "labeling.config", "labeling.store", "labeling.data", "labeling.exec", "labeling.stages",
     "labeling.experiment", "labeling.label", "labeling.serve"],
)
def test_every_public_name_resolves(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert module.__doc__ and module.__all__
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert not missing, f"{package} names {missing} in __all__ but does not provide them"
