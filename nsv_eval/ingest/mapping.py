"""Matching a file's column names to the canonical columns of a kind.

Order of precedence for each column name in the file (after :func:`normalise_name`):
the user's mapping file, the canonical name itself, the built-in aliases, and for kinds
with a person identifier the CPR aliases (→ ``cpr``). Names matching nothing are ignored
and reported. Two file columns for one canonical column, or a missing required column,
stop ingest with a message naming the file, the column and the closest names found.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nsv_eval.errors import InputError
from nsv_eval.ingest.schemas import CPR_ALIASES, KINDS, Schema, get_schema, normalise_name

IGNORE = "ignore"

YAML_MAX_BYTES = 1 << 20
"""Largest YAML input read (a mapping file is a few hundred bytes)."""
YAML_MAX_NODES = 100_000
"""Most YAML nodes a document may expand to, counting every alias expansion."""


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Number of nodes ``node`` stands for once every alias is expanded (memoised: linear)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = YAML_MAX_NODES + 1  # a cycle counts as too large
    if isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_expanded_size(v, memo) for v in node.value)
    elif isinstance(node, yaml.MappingNode):
        n = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        n = 1
    memo[key] = min(n, YAML_MAX_NODES + 1)
    return memo[key]


def load_yaml_limited(
    path: str | Path, what: str = "YAML file", loader: type[yaml.SafeLoader] = yaml.SafeLoader
) -> object:
    """Read a small YAML input safely: size-, alias- and depth-limited ``safe_load``.

    A YAML "alias bomb" (a few lines whose anchors and aliases expand to billions of
    nodes) or a huge or deeply nested file is refused with a clear :class:`InputError`
    instead of running out of memory.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        How to name the file in messages.
    loader : SafeLoader subclass
        The loader (e.g. one without the timestamp resolver).

    Returns
    -------
    object
        The document (``None`` for an empty file).

    Raises
    ------
    InputError
        Missing, larger than :data:`YAML_MAX_BYTES`, not YAML, expanding to more than
        :data:`YAML_MAX_NODES` nodes, or nested too deeply.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} not found.")
    size = p.stat().st_size
    if size > YAML_MAX_BYTES:
        raise InputError(
            f"{what} {p} is {size:,} bytes; at most {YAML_MAX_BYTES:,} are read (is it the "
            "right file?)."
        )
    ldr = loader(p.read_text(encoding="utf-8", errors="replace"))
    try:
        node = ldr.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > YAML_MAX_NODES:
            raise InputError(
                f"{what} {p} expands to more than {YAML_MAX_NODES:,} values through its "
                "anchors and aliases (&name / *name); write the values out instead."
            )
        return ldr.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(f"{what} {p} is not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} {p} is nested too deeply to be a mapping file.") from None
    finally:
        ldr.dispose()


def load_mapping(mapping: dict | str | Path | None) -> dict[str, dict[str, str | None]]:
    """Read a column mapping ``{kind: {their_name: canonical_name}}``.

    Parameters
    ----------
    mapping : dict, str, Path or None
        The mapping itself, or a YAML file holding it. A canonical name of ``ignore`` or
        an empty value means: ignore that column.

    Returns
    -------
    dict
        ``{kind: {normalised their_name: canonical name or None}}``.

    Raises
    ------
    InputError
        If the file is missing, not YAML, or not shaped ``{kind: {name: name}}``.
    """
    if mapping is None:
        return {}
    if isinstance(mapping, (str, Path)):
        p = Path(mapping)
        data = load_yaml_limited(p, "Mapping file") or {}
        where = str(p)
    else:
        data, where = mapping, "the mapping"
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected {{kind: {{their_name: canonical_name}}}}.")
    out: dict[str, dict[str, str | None]] = {}
    for kind, cols in data.items():
        try:
            schema = get_schema(str(kind))
        except ValueError:
            raise InputError(
                f"{where}: unknown kind {kind!r}; kinds are {', '.join(KINDS)}."
            ) from None
        if cols is None:
            continue
        if not isinstance(cols, dict):
            raise InputError(
                f"{where}: under {kind!r} expected 'their_name: canonical_name' lines."
            )
        valid = set(schema.names) | ({"cpr"} if schema.id_column else set())
        m: dict[str, str | None] = {}
        for theirs, ours in cols.items():
            target = None if ours in (None, "", IGNORE) else str(ours)
            if target is not None and target not in valid:
                raise InputError(
                    f"{where}: {kind}.{theirs} maps to {target!r}, which is not a column of "
                    f"{kind}; choose one of {', '.join(sorted(valid))} (or 'ignore')."
                )
            m[normalise_name(theirs)] = target
        out[schema.kind] = m
    return out


def known_names(schema: Schema, user: dict[str, str | None]) -> set[str]:
    """Every normalised name that identifies a column of ``schema`` (for header detection)."""
    names = set(user) | set(schema.names)
    for c in schema.columns:
        names |= set(c.aliases)
    if schema.id_column:
        names |= set(CPR_ALIASES)
    return names


@dataclass
class ColumnPlan:
    """How the columns of one file map to canonical columns."""

    by_position: dict[int, str]  # file column position -> canonical name (or 'cpr')
    ignored: list[str] = field(default_factory=list)

    @property
    def canonical(self) -> set[str]:
        """Canonical columns present."""
        return set(self.by_position.values())

    @property
    def has_cpr(self) -> bool:
        """Whether the file has a CPR column."""
        return "cpr" in self.by_position.values()


def plan_columns(
    schema: Schema, header: list[str], user: dict[str, str | None], label: str
) -> ColumnPlan:
    """Map a file's header to canonical columns.

    Raises
    ------
    InputError
        Naming the file and column(s): two file columns for one canonical column, or a
        required column that is missing (with the closest names in the file).
    """
    alias: dict[str, str] = {}
    for c in schema.columns:
        for a in c.aliases:
            alias.setdefault(a, c.name)
    if schema.id_column:
        for a in CPR_ALIASES:
            alias.setdefault(a, "cpr")
    canon = set(schema.names)
    by_pos: dict[int, str] = {}
    ignored: list[str] = []
    for i, h in enumerate(header):
        n = normalise_name(h)
        if n in user:
            target = user[n]
        elif n in canon:
            target = n
        else:
            target = alias.get(n)
        if target is None:
            if h != "":
                ignored.append(h)
            continue
        by_pos[i] = target
    # one file column per canonical column
    seen: dict[str, int] = {}
    for i, t in by_pos.items():
        if t in seen:
            raise InputError(
                f"{label}: both columns {header[seen[t]]!r} and {header[i]!r} would become "
                f"{t!r}. Keep one, or map the other to 'ignore' in a mapping file "
                f"({schema.kind}: {{{header[i]!r}: ignore}})."
            )
        seen[t] = i
    present = set(by_pos.values())
    if schema.id_column and "cpr" in present and schema.id_column in present:
        raise InputError(
            f"{label}: has both a CPR column and {schema.id_column!r}; keep one (map the "
            "other to 'ignore')."
        )
    problems = []
    has_cpr = "cpr" in present
    unmapped = [h for i, h in enumerate(header) if i not in by_pos and h != ""]
    for c in schema.columns:
        if not c.required or c.name in present or c.generated:
            continue
        if c.from_cpr and has_cpr:
            continue
        accepted = [c.name, *c.aliases] + (list(CPR_ALIASES) if c.name == schema.id_column else [])
        norm_unmapped = {normalise_name(h): h for h in unmapped}
        scores: dict[str, float] = {}
        for a in accepted:
            for m in difflib.get_close_matches(a, list(norm_unmapped), n=3, cutoff=0.6):
                r = difflib.SequenceMatcher(None, a, m).ratio()
                scores[norm_unmapped[m]] = max(scores.get(norm_unmapped[m], 0), r)
        close = sorted(scores, key=lambda k: -scores[k])[:3]
        hint = (
            f" Closest names in the file: {', '.join(repr(x) for x in close)}."
            if close
            else f" The file's columns are: {', '.join(repr(h) for h in header) or '(none)'}."
        )
        extra = " (or a CPR column: cpr, PNR, CPR-nummer ...)" if c.from_cpr else ""
        problems.append(
            f"{label}: required column {c.name!r}{extra} not found.{hint} Accepted names: "
            f"{', '.join([c.name, *c.aliases])}. Map another name with --mapping "
            f"(see params/mapping.example.yaml), e.g. {schema.kind}: {{{close[0] if close else 'their_name'}: {c.name}}}."
        )
    if problems:
        raise InputError("\n".join(problems))
    return ColumnPlan(by_pos, ignored)
