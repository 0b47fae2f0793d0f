"""Import contract of the package layers (issue #12), checked by an AST scan.

Layers, lowest first; a module may import only from its own layer or lower ones, at module
level *and* inside functions (a function-level import does not dodge the rule):

1. ``nsv_eval`` (the package root: ``__version__``), ``nsv_eval.errors``, ``nsv_eval.reference``
2. ``nsv_eval.stats`` — numbers only
3. ``nsv_eval.ingest``, ``nsv_eval.clean``, ``nsv_eval.definitions``, ``nsv_eval.synth``;
   ``nsv_eval.params`` and ``nsv_eval.audit`` sit aside at this layer (they read definitions
   and ingest helpers; analyses, report and batch read parameters)
4. ``nsv_eval.analyses`` — numbers for studies
5. ``nsv_eval.report`` — everything a reader sees
6. ``nsv_eval.batch``
7. ``nsv_eval.cli`` — may import anything

The test scans every ``.py`` file under ``nsv_eval/`` (``import x``, ``from x import y``,
relative imports resolved against the importing module; ``from pkg import sub`` counts as an
import of ``pkg.sub`` when ``sub`` is a module). It fails with file, line, importing and
imported module for every violation. Parts of one layer may import each other, but not both
ways: ``test_no_cycles_between_parts`` fails on any cycle between top-level parts (a
function-level import does not hide one). Further tests run the same checkers on a temporary
package tree with a planted forbidden import or cycle and assert it is reported.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "nsv_eval"

LAYERS: dict[str, int] = {
    "nsv_eval": 1,
    "nsv_eval.errors": 1,
    "nsv_eval.reference": 1,
    "nsv_eval.stats": 2,
    "nsv_eval.ingest": 3,
    "nsv_eval.clean": 3,
    "nsv_eval.definitions": 3,
    "nsv_eval.synth": 3,
    "nsv_eval.params": 3,
    "nsv_eval.audit": 3,
    "nsv_eval.analyses": 4,
    "nsv_eval.report": 5,
    "nsv_eval.batch": 6,
    "nsv_eval.cli": 7,
}
"""Layer of each top-level part of the package (longest matching prefix wins)."""

PENDING: set[tuple[str, str]] = set()
# Known violations still to remove, as (importer, imported). It may only shrink: the test
# below asserts each entry is still a violation, so a fixed entry must be removed from here.
# (Emptied when `narr` moved the MDE sentence out of stats/power.py and the ICD-10 code lists
# moved from reference to definitions/codelists.py.)
"""(importing module, imported module) pairs known to break the rule, to be removed."""


@dataclass(frozen=True)
class Violation:
    """One forbidden import."""

    path: Path
    line: int
    importer: str
    imported: str
    importer_layer: int
    imported_layer: int

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.importer} (layer {self.importer_layer}) imports "
            f"{self.imported} (layer {self.imported_layer})"
        )


def layer_of(module: str, layers: dict[str, int]) -> int | None:
    """Layer of a dotted module name by its longest matching prefix in ``layers`` (the
    package root itself only matches exactly: a new top-level part has no layer)."""
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        key = ".".join(parts[:n])
        if key in layers:
            return layers[key]
    return layers.get(module) if len(parts) == 1 else None


def module_name(path: Path, root: Path) -> str:
    """Dotted name of ``path`` inside the package rooted at ``root`` (``root.name`` first)."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    base = root / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the package in ``path``, at any depth."""
    pkg = root.name
    me = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == pkg or alias.name.startswith(pkg + "."):
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative import: resolve against the importing module's package.
                base = me.split(".") if is_pkg else me.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == pkg or target.startswith(pkg + ".")):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub, root) else target))
    return sorted(set(found))


def check_layers(root: Path, layers: dict[str, int] = LAYERS) -> tuple[list[Violation], list[str]]:
    """Every layer violation under ``root`` and every module whose layer is unknown."""
    violations: list[Violation] = []
    unknown: list[str] = []
    for path in sorted(root.rglob("*.py")):
        me = module_name(path, root)
        my_layer = layer_of(me, layers)
        if my_layer is None:
            unknown.append(me)
            continue
        for line, imported in imports_of(path, root):
            their = layer_of(imported, layers)
            if their is None:
                unknown.append(imported)
            elif their > my_layer:
                violations.append(Violation(path, line, me, imported, my_layer, their))
    return violations, unknown


def part_cycles(root: Path) -> list[tuple[str, str]]:
    """Pairs of top-level parts (``nsv_eval.clean``, ``nsv_eval.ingest``, …) that import each
    other, directly or through other parts, counting function-level imports: within one
    layer the rule allows both directions, and a function-level import must not hide a
    cycle."""

    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        me = part(module_name(path, root))
        for _, imported in imports_of(path, root):
            other = part(imported)
            if other != me and other != root.name:
                edges.setdefault(me, set()).add(other)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges.get(node, ()))
        return False

    return sorted((a, b) for a in edges for b in edges[a] if reaches(b, a))


def test_package_respects_the_layers() -> None:
    violations, unknown = check_layers(PACKAGE_DIR)
    assert not unknown, f"modules without a layer in LAYERS: {sorted(set(unknown))}"
    new = [v for v in violations if (v.importer, v.imported) not in PENDING]
    assert not new, "imports against the layer rule:\n" + "\n".join(map(str, new))


def test_no_cycles_between_parts() -> None:
    """No two parts of the package import each other (module- or function-level)."""
    assert part_cycles(PACKAGE_DIR) == []


def test_pending_entries_are_still_violations() -> None:
    """PENDING can only shrink: an entry that no longer breaks the rule must be removed."""
    violations, _ = check_layers(PACKAGE_DIR)
    seen = {(v.importer, v.imported) for v in violations}
    fixed = PENDING - seen
    assert not fixed, f"no longer violations, remove from PENDING: {sorted(fixed)}"


def test_render_imports_data_access_at_module_level() -> None:
    """``report.render`` needs ``analyses.data``: imported at module level, not in a function."""
    path = PACKAGE_DIR / "report" / "render.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {
        n.module
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("nsv_eval")
    }
    nested = [
        (n.lineno, n.module)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("nsv_eval.analyses")
    ]
    assert "nsv_eval.analyses.data" in top
    assert not nested, f"function-level imports of analyses in report/render.py: {nested}"


def _write(root: Path, rel: str, source: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    """A small package ``nsv_eval`` with the real layer names and only allowed imports."""
    root = tmp_path / "nsv_eval"
    _write(root, "__init__.py", "")
    _write(root, "errors.py", "class NsvError(Exception):\n    pass\n")
    _write(root, "stats/__init__.py", "from nsv_eval.errors import NsvError\n")
    _write(root, "stats/its.py", "from . import __name__ as _n\nfrom ..errors import NsvError\n")
    _write(root, "analyses/__init__.py", "")
    _write(root, "analyses/data.py", "from nsv_eval import stats\nimport nsv_eval.errors\n")
    _write(root, "report/__init__.py", "")
    _write(root, "report/render.py", "from nsv_eval.analyses import data\n")
    return root


def test_checker_passes_a_clean_tree(toy_package: Path) -> None:
    violations, unknown = check_layers(toy_package)
    assert violations == [] and unknown == []


@pytest.mark.parametrize(
    ("rel", "source", "importer", "imported", "line"),
    [
        # module-level absolute import, numbers layer reading the report layer
        (
            "stats/bad.py",
            "import os\nfrom nsv_eval.report import render\n",
            "nsv_eval.stats.bad",
            "nsv_eval.report.render",
            2,
        ),
        # function-level import: does not dodge the rule
        (
            "analyses/bad.py",
            "def f():\n    from nsv_eval.report.render import x\n    return x\n",
            "nsv_eval.analyses.bad",
            "nsv_eval.report.render",
            2,
        ),
        # relative import resolved: analyses/bad.py -> ..report
        (
            "analyses/bad.py",
            "\n\nfrom ..report import render\n",
            "nsv_eval.analyses.bad",
            "nsv_eval.report.render",
            3,
        ),
        # plain `import x` inside a class body
        (
            "stats/bad.py",
            "class A:\n    import nsv_eval.analyses.data\n",
            "nsv_eval.stats.bad",
            "nsv_eval.analyses.data",
            2,
        ),
    ],
)
def test_checker_reports_a_forbidden_import(
    toy_package: Path, rel: str, source: str, importer: str, imported: str, line: int
) -> None:
    _write(toy_package, rel, source)
    violations, _ = check_layers(toy_package)
    assert [(v.importer, v.imported, v.line) for v in violations] == [(importer, imported, line)]
    message = str(violations[0])
    assert str(toy_package / rel) in message and importer in message and imported in message


def test_cycle_check_finds_a_function_level_cycle(toy_package: Path) -> None:
    _write(toy_package, "ingest/__init__.py", "")
    _write(toy_package, "clean/__init__.py", "")
    _write(toy_package, "clean/cli.py", "from nsv_eval.ingest import core\n")
    _write(toy_package, "ingest/core.py", "")
    assert part_cycles(toy_package) == []
    _write(toy_package, "ingest/cli.py", "def f():\n    from nsv_eval.clean import cli\n")
    assert part_cycles(toy_package) == [
        ("nsv_eval.clean", "nsv_eval.ingest"),
        ("nsv_eval.ingest", "nsv_eval.clean"),
    ]


def test_checker_reports_a_module_without_layer(toy_package: Path) -> None:
    _write(toy_package, "newpart/x.py", "")
    _, unknown = check_layers(toy_package)
    assert unknown == ["nsv_eval.newpart.x"]
