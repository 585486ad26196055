"""The layering of docs/architecture.md, checked on the source: every import points down.

Walks every import statement (module level and inside functions) of the first-party code with
`ast`, maps each to its layer, and fails on a cycle between layers, on an edge the architecture
forbids, and on an import of a first-party module that does not exist in the tree (an editable
install could otherwise still serve a moved module from another checkout).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("peerlend", "backend", "oracle", "scripts", "bench", "tests")
CLI = "peerlend.cli"
LAYERS = (CLI, *PACKAGES)

# layer -> layers it must never import
FORBIDDEN = {
    "peerlend": {CLI, "backend", "oracle", "scripts", "bench", "tests"},
    CLI: {"backend", "oracle", "scripts", "bench", "tests"},
    "backend": {"oracle", CLI, "scripts", "bench", "tests"},
    "oracle": {"backend", CLI, "scripts", "bench", "tests"},
    "scripts": {"tests"},
    "bench": {"tests"},
    "tests": set(),
}


def layer_of(module: str) -> str | None:
    if module == CLI or module.startswith(CLI + "."):
        return CLI
    top = module.split(".", 1)[0]
    return top if top in PACKAGES else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def exists(module: str) -> bool:
    base = ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or base.is_dir()


def imports_of(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found += [(node.lineno, module, alias.name) for alias in node.names]
    return found


def first_party_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        files += [
            path
            for path in sorted((ROOT / package).rglob("*.py"))
            if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
        ]
    return files


@cache
def edges() -> list[tuple[str, str, str]]:
    """(importing layer, imported layer, "file:line module") for every first-party import."""
    out = []
    for path in first_party_files():
        source = layer_of(module_name(path))
        for line, module, name in imports_of(path):
            target = layer_of(module)
            if target is None:
                continue
            # `from peerlend import cli` imports the CLI layer, not the shared one
            if name and target == "peerlend" and f"{module}.{name}".startswith(CLI):
                target = CLI
            out.append((source, target, f"{path.relative_to(ROOT)}:{line} {module}"))
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in `graph` as [a, b, …, a], or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for source, target, _ in edges():
        if source != target:
            graph[source].add(target)
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_forbidden_import(layer):
    bad = [where for source, target, where in edges() if source == layer and target in FORBIDDEN[layer]]
    assert bad == [], f"{layer} must not import {sorted(FORBIDDEN[layer])}:\n" + "\n".join(bad)


@cache
def names_bound_in(module: str) -> set[str]:
    """Names a module (or a package's `__init__.py`) defines or imports at top level."""
    base = ROOT.joinpath(*module.split("."))
    source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not source.is_file():
        return set()
    names = set()
    for node in _top_level(ast.parse(source.read_text()).body):
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
                names |= {element.id for element in elements if isinstance(element, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def _top_level(body: list[ast.stmt]):
    """Module-level statements, including those inside module-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try | ast.With):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                yield from _top_level(block)
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)


def test_every_first_party_import_exists_in_the_tree():
    missing = []
    for path in first_party_files():
        for line, module, name in imports_of(path):
            if layer_of(module) is None:
                continue
            if not exists(module):
                missing.append(f"{path.relative_to(ROOT)}:{line} {module}")
            elif (
                name and name != "*" and not exists(f"{module}.{name}") and name not in names_bound_in(module)
            ):
                missing.append(f"{path.relative_to(ROOT)}:{line} from {module} import {name}")
    assert missing == [], "imports of modules or names that are not in this tree:\n" + "\n".join(missing)
