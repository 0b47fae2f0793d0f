"""The shape of ``nsv_eval.stats`` (issue #12): numbers only, short functions, no imports
from higher layers.

Three checks on the source (AST, no import of the package needed):

1. **Function length.** No function or method in ``nsv_eval/stats`` has a body longer
   than :data:`MAX_LINES` lines, measured with ``ast`` as ``end_lineno`` of the function
   minus ``lineno`` of its first statement after the docstring (the code; the signature
   and the numpydoc docstring, which the conventions require and which run to 60 lines
   for a public estimator, are not counted). Long estimators are split into validate /
   design / fit / inference steps.
2. **No prose.** A reader's sentence (Danish or English) in ``stats`` is a string constant
   that

   * is not a docstring (a string standing alone as an expression statement: the first
     statement of a module, class or function, or an attribute docstring after an
     assignment),
   * is not part of an error or warning message: any string inside a ``raise`` statement
     or inside the arguments of a call to ``warn``/``warnings.warn``, ``ValueError``,
     ``TypeError``, ``KeyError``, ``InputError``, ``NsvError``, ``ImportError`` (messages
     are for developers and may be sentences),
   * is not an argument of ``notes….append(...)`` / ``x.notes….append(...)`` (the
     estimators' English notes for developers, which mirror their warnings; no report
     shows them),
   * is not a value of a data column named in :data:`DATA_LABEL_KEYS` (``method``,
     ``note``): the value of such a dict key, keyword, variable or ``frame["..."]``
     assignment (short technical labels in English that travel with the numbers, e.g.
     ``"Chiang II, Silcocks variance"``),
   * is not a ``typing`` annotation,

   and that has at least :data:`MIN_WORDS` words in one ``|``-separated segment (a
   table header such as ``"did | scale: att | conf: 0.95"`` is labels, not a sentence), a
   word being a run of two or more letters (``[^\\W\\d_]{2,}``, so Danish letters count);
   an f-string counts its literal parts joined by a one-letter placeholder. Any such
   string with a Danish letter (æ, ø, å) is flagged whatever its length, because it
   can only be meant for a Danish reader. Short labels ("rate ratio", "observed / expected")
   pass: they name things, they do not tell the reader anything.
3. **No colour literals.** No string constant that is a hex colour (``"#0072B2"``), and
   no ``color``/``colors``/``edgecolor(s)``/``facecolor(s)``/``ecolor`` keyword given a
   string other than a colour-cycle entry ``"C0"``…``"C9"`` or ``"none"``: figures take
   their colours from the rcParams cycle that ``report.theme`` sets, or from a ``colors=``
   argument.
4. **Imports.** ``stats`` imports nothing of ours outside ``nsv_eval.stats``,
   ``nsv_eval.errors`` and ``nsv_eval.reference`` (module level and inside functions;
   relative imports resolve inside ``stats``).

Each check is also run on a small planted source (a long function, a Danish sentence, a
hex colour, an import of ``nsv_eval.report``) so the test cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

STATS = Path(__file__).resolve().parents[1] / "nsv_eval" / "stats"
MAX_LINES = 80
MIN_WORDS = 4
ALLOWED_IMPORTS = ("nsv_eval.stats", "nsv_eval.errors", "nsv_eval.reference")
MESSAGE_CALLS = {
    "warn",
    "ValueError",
    "TypeError",
    "KeyError",
    "InputError",
    "NsvError",
    "ImportError",
    "RuntimeError",
    "NotImplementedError",
}
DATA_LABEL_KEYS = {"method", "note"}
#: Functions still over the limit, with the reason. The test fails when one of them is no
#: longer long, so the list cannot go stale.
KNOWN_LONG: dict[tuple[str, str], str] = {}
_WORD = re.compile(r"[^\W\d_]{2,}")
_DANISH = re.compile(r"[æøåÆØÅ]")


def _sources() -> list[Path]:
    files = sorted(STATS.rglob("*.py"))
    assert files, f"no Python files under {STATS}"
    return files


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """Strings standing alone as statements: docstrings and attribute docstrings."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr)
    }


def _call_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def _is_notes_append(call: ast.Call) -> bool:
    f = call.func
    if not (isinstance(f, ast.Attribute) and f.attr == "append"):
        return False
    owner = f.value
    name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
    return name.startswith("notes")


def _message_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node inside a raise statement or a message call's arguments."""
    ids: set[int] = set()
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            roots.append(node)
        elif isinstance(node, ast.Call) and (
            _call_name(node) in MESSAGE_CALLS or _is_notes_append(node)
        ):
            roots.extend([*node.args, *(k.value for k in node.keywords)])
    for root in roots:
        ids.update(id(n) for n in ast.walk(root))
    return ids


def _target_name(t: ast.AST) -> str:
    if isinstance(t, ast.Name):
        return t.id
    if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant):
        return str(t.slice.value)
    return ""


def _data_label_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node in the value of a ``method``/``note`` column, key or variable."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            _target_name(t) in DATA_LABEL_KEYS for t in node.targets
        ):
            roots.append(node.value)
        elif isinstance(node, ast.Dict):
            roots.extend(
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value in DATA_LABEL_KEYS
            )
        elif isinstance(node, ast.keyword) and node.arg in DATA_LABEL_KEYS:
            roots.append(node.value)
    return {id(n) for root in roots for n in ast.walk(root)}


def _annotation_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, ast.AnnAssign):
            anns.append(node.annotation)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            anns.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            anns.append(node.returns)
        for a in anns:
            ids.update(id(n) for n in ast.walk(a))
    return ids


def prose_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of the string constants that read as a sentence (see module docstring)."""
    tree = ast.parse(source)
    skip = (
        _docstring_nodes(tree)
        | _message_nodes(tree)
        | _annotation_nodes(tree)
        | _data_label_nodes(tree)
    )
    inside_fstring = {
        id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
    }
    hits = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_fstring:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "X"
                for v in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        words = max(len(_WORD.findall(seg)) for seg in text.split("|"))
        if words >= MIN_WORDS or _DANISH.search(text):
            hits.append((node.lineno, text))
    return hits


_HEX = re.compile(r"^#[0-9a-fA-F]{3,8}$")
_CYCLE = re.compile(r"^C[0-9]$")
COLOUR_KEYWORDS = {
    "color",
    "colors",
    "edgecolor",
    "edgecolors",
    "facecolor",
    "facecolors",
    "ecolor",
}


def colour_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of hex colours and named colours passed as colour keywords."""
    tree = ast.parse(source)
    docs = _docstring_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docs and _HEX.match(node.value):
                out.append((node.lineno, node.value))
        elif isinstance(node, ast.keyword) and node.arg in COLOUR_KEYWORDS:
            v = node.value
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                if not (_CYCLE.match(v.value) or v.value == "none" or _HEX.match(v.value)):
                    out.append((v.lineno, v.value))
    return out


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's code: from its first statement after the docstring to its end."""
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return node.end_lineno - body[0].lineno


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[int, str, int]]:
    """(line, name, length) of the functions whose code is longer than ``limit`` lines."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = body_lines(node)
            if n > limit:
                out.append((node.lineno, node.name, n))
    return out


def foreign_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of imports of our package outside the allowed layers."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside nsv_eval.stats
                continue
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for mod in names:
            if mod == "nsv_eval" and isinstance(node, ast.ImportFrom):
                mods = [f"nsv_eval.{a.name}" for a in node.names]  # from nsv_eval import x
            elif mod == "nsv_eval" or mod.startswith("nsv_eval."):
                mods = [mod]
            else:
                continue
            out += [
                (node.lineno, m)
                for m in mods
                if not any(m == a or m.startswith(a + ".") for a in ALLOWED_IMPORTS)
            ]
    return out


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(STATS)))
def test_no_function_longer_than_80_lines(path: Path) -> None:
    rel = path.relative_to(STATS).as_posix()
    hits = long_functions(path.read_text(encoding="utf-8"))
    names = {name for _, name, _ in hits}
    hits = [h for h in hits if (rel, h[1]) not in KNOWN_LONG]
    assert not hits, f"{path}: functions over {MAX_LINES} lines: {hits}"
    stale = [n for (f, n) in KNOWN_LONG if f == rel and n not in names]
    assert not stale, f"{path}: {stale} are no longer long; remove them from KNOWN_LONG"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(STATS)))
def test_no_prose_in_stats(path: Path) -> None:
    hits = prose_strings(path.read_text(encoding="utf-8"))
    assert not hits, f"{path}: reader sentences belong in report.narrative: {hits}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(STATS)))
def test_no_colour_literals_in_stats(path: Path) -> None:
    hits = colour_literals(path.read_text(encoding="utf-8"))
    assert not hits, f"{path}: colours come from the rcParams cycle or colors=: {hits}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(STATS)))
def test_stats_imports_only_lower_layers(path: Path) -> None:
    hits = foreign_imports(path.read_text(encoding="utf-8"))
    assert not hits, f"{path}: stats may import only {ALLOWED_IMPORTS}: {hits}"


PLANTED = '''
"""Module docstring with many many words in it."""
import warnings
from nsv_eval.errors import InputError
from nsv_eval.report.format import fmt_number
from nsv_eval import analyses


def f(x: "a long annotation string with words", notes: list) -> str:
    """Docstring with many words that is allowed."""
    notes.append(f"{x} units dropped for missing values")
    header = f"did | scale: {x} | conf: {x}"
    if x:
        raise InputError(f"column {x!r} is missing in row {x}, check the file")
    warnings.warn("this message has quite a few words", stacklevel=2)
    label = "rate ratio"
    row = {"method": "weighted proportion, linearised variance, logit CI"}
    short_da = "Før"
    sentence = f"Data kan ikke udelukke {x}, at indsatsen ingen effekt har haft."
    ax.plot([1], color="C0")
    ax.axhline(0, color="grey", lw=1)
    ax.scatter([1], [1], facecolors="none", edgecolors="#D55E00")
    return "The interval excludes no effect."
'''


def test_checks_find_planted_problems() -> None:
    """The three checks fire on planted violations and spare docstrings, messages, labels."""
    texts = sorted(t for _, t in prose_strings(PLANTED))
    assert texts == [
        "Data kan ikke udelukke X, at indsatsen ingen effekt har haft.",
        "Før",
        "The interval excludes no effect.",
    ]
    assert sorted(c for _, c in colour_literals(PLANTED)) == ["#D55E00", "grey"]
    assert [m for _, m in foreign_imports(PLANTED)] == [
        "nsv_eval.report.format",
        "nsv_eval.analyses",
    ]
    body = "\n".join(f"    y{i} = {i}" for i in range(MAX_LINES + 2))
    doc = '    """A docstring\n' + "    line\n" * 40 + '    """\n'
    assert [n for _, n, _ in long_functions(f"def g():\n{doc}{body}\n")] == ["g"]
    short = body[: body.rfind(chr(10))]
    assert long_functions(f"def g():\n{doc}{short}\n") == []
