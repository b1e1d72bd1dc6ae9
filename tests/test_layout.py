"""How the package is laid out: no module imports another that imports it back, at any depth and
with imports inside functions counted too, so every module can be read (and loaded) on its own terms."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "glcic"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glcic"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name in modules}


def test_no_import_circles():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    circles = []
    for start in graph:  # a walk from each module; a path that comes back is a circle
        stack, seen = [(start, (start,))], set()
        while stack:
            name, path = stack.pop()
            for other in graph[name]:
                if other == start:
                    circles.append(" -> ".join(path + (start,)))
                elif other not in seen:
                    seen.add(other)
                    stack.append((other, path + (other,)))
    assert not circles, circles[:5]
