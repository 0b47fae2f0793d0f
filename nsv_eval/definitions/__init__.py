"""Indicator definitions kept as data: one YAML file per indicator and variant.

Every indicator a report shows is defined by a file in this folder (shipped with the
package): ``<id>.yaml`` is the official definition (``variant: official``) and
``<id>.<variant>.yaml`` an earlier or local variant (``legacy``, ``legacy_medical``) kept so
that earlier numbers can be reproduced. A file holds the names (da/en), population,
numerator, denominator, unit, thresholds, code lists, contact causes, exclusions,
standardisation, the source (issuing body, title, address, version/date), the published
range of the national level where one was found, and the details that could not be
confirmed (``unconfirmed``). The cleaning code reads code lists and thresholds from here;
the report appendix "Definitioner og datagrundlag" is rendered from here.

>>> d = get("readmission")
>>> d.variant, d.threshold("window_days")
('official', 30)

Errors (:class:`DefinitionError`) name the file and the key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from nsv_eval.errors import InputError
from nsv_eval.reference import normalise_icd10

OFFICIAL = "official"
KINDS = ("proportion", "rate")
STANDARDISATION_METHODS = ("direct", "indirect", "none")
APPLIES_TO = ("index", "readmission", "both", "numerator")
LANGS = ("da", "en")
REQUIRED: tuple[str, ...] = (
    "id",
    "variant",
    "version",
    "date",
    "kind",
    "multiplier",
    "name",
    "unit",
    "population",
    "numerator",
    "denominator",
    "thresholds",
    "codes",
    "exclusions",
    "standardisation",
    "source",
    "unconfirmed",
)
OPTIONAL: tuple[str, ...] = (
    "kontaktaarsag",
    "cohort",
    "reported_by",
    "published_range",
    "published_level",
)
SOURCE_REQUIRED: tuple[str, ...] = ("issuer", "title", "url", "version", "date")
_PREFIX_RE = re.compile(r"^[A-Z][0-9A-Z]{0,5}$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class DefinitionError(InputError):
    """A definition file is malformed, or a definition/key asked for does not exist."""


COURSE_VARIANTS: dict[str, str] = {
    "readmission": "legacy_medical",
    "preventable": "legacy",
    "short_stay": "legacy",
    "fall_injury": "legacy",
    "hip_fracture": "legacy",
    "copd_acute": "legacy",
    "diabetes_acute": "legacy",
    "heart_failure_acute": "legacy",
}
"""The variant of each indicator that the course-based cleaning (``nsv_eval.clean.flags``)
computes: nsv-eval's earlier definitions (``prepare --definitions legacy``). The official
definitions need hospital stays and are applied by :mod:`nsv_eval.definitions.flags`."""

DEFAULT_VARIANTS: dict[str, str] = {
    "readmission": OFFICIAL,
    "preventable": OFFICIAL,
    "short_stay": OFFICIAL,
    "fall_injury": OFFICIAL,
    "hip_fracture": OFFICIAL,
    "copd_acute": OFFICIAL,
    "diabetes_acute": OFFICIAL,
    "heart_failure_acute": "legacy",
}
"""The variants ``prepare`` builds and the studies use by default (``params/defaults.yaml``):
the official definition of every indicator that has one (``heart_failure_acute`` has only
nsv-eval's own). A prepared layout with any official variant is built from hospital stays
(:mod:`nsv_eval.clean.official`)."""


def resolve_choice(choice: Mapping[str, str] | str | None = None) -> dict[str, str]:
    """Indicator id → variant for ``prepare``: ``None``/``"official"`` = :data:`DEFAULT_VARIANTS`,
    ``"legacy"`` = :data:`COURSE_VARIANTS`, a mapping overrides single ids of the defaults.

    Raises :class:`DefinitionError` for an unknown id or variant.
    """
    if choice is None or choice == OFFICIAL:
        out = dict(DEFAULT_VARIANTS)
    elif choice == "legacy":
        out = dict(COURSE_VARIANTS)
    elif isinstance(choice, str):
        raise DefinitionError(
            f"definitions: {choice!r} is not 'official', 'legacy' or a mapping id -> variant"
        )
    else:
        out = {**DEFAULT_VARIANTS, **dict(choice)}
    for id, v in out.items():
        get(id, v)  # unknown ids/variants raise here
    return out


def _text(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.date) else str(v)


@dataclass(frozen=True)
class CodeSet:
    """A named list of ICD-10 prefixes (normalised: no SKS ``D``, no dots, upper case)."""

    key: str
    prefixes: tuple[str, ...]
    da: str
    en: str

    def matches(self, codes: Any) -> Any:
        """Boolean Series: which (raw SKS or normalised) codes start with one of the prefixes."""
        import pandas as pd

        norm = normalise_icd10(pd.Series(codes, dtype="object"))
        return norm.str.startswith(self.prefixes).fillna(False).astype(bool)


@dataclass(frozen=True)
class Definition:
    """One indicator definition (one YAML file); see the module docstring."""

    id: str
    variant: str
    version: str
    date: str
    kind: str
    multiplier: int
    name: Mapping[str, str]
    unit: Mapping[str, str]
    population: Mapping[str, str]
    numerator: Mapping[str, str]
    denominator: Mapping[str, str]
    thresholds: Mapping[str, Any]
    codes: Mapping[str, CodeSet]
    exclusions: tuple[Mapping[str, Any], ...]
    standardisation: Mapping[str, Any]
    source: Mapping[str, Any]
    unconfirmed: tuple[Mapping[str, str], ...]
    kontaktaarsag: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cohort: Mapping[str, Any] | None = None
    reported_by: tuple[str, ...] = ()
    published_range: Mapping[str, Any] | None = None
    published_level: Mapping[str, Any] | None = None
    path: str = ""

    @property
    def ref(self) -> str:
        """``id`` for the official variant, ``id:variant`` otherwise."""
        return self.id if self.variant == OFFICIAL else f"{self.id}:{self.variant}"

    @property
    def official(self) -> bool:
        """Is this the official definition?"""
        return self.variant == OFFICIAL

    def text(self, key: str, lang: str = "da") -> str:
        """The ``lang`` text of a bilingual field (``name``, ``population``, ...)."""
        if lang not in LANGS:
            raise DefinitionError(f"lang must be one of {LANGS}, got {lang!r}")
        value = getattr(self, key)
        return str(value[lang])

    def threshold(self, key: str) -> Any:
        """Threshold ``key``; a clear error naming the file when it is missing."""
        if key not in self.thresholds:
            raise DefinitionError(
                f"{self.path}: key 'thresholds.{key}' is missing (definition {self.ref}; "
                f"has {', '.join(sorted(self.thresholds)) or 'none'})"
            )
        return self.thresholds[key]

    def codeset(self, key: str) -> CodeSet:
        """Code list ``key``; a clear error naming the file when it is missing."""
        if key not in self.codes:
            raise DefinitionError(
                f"{self.path}: key 'codes.{key}' is missing (definition {self.ref}; "
                f"has {', '.join(sorted(self.codes)) or 'none'})"
            )
        return self.codes[key]

    def contact_causes(self, key: str) -> tuple[str, ...]:
        """Contact-cause codes of group ``key`` (``kontaktaarsag.<key>.codes``)."""
        if key not in self.kontaktaarsag:
            raise DefinitionError(
                f"{self.path}: key 'kontaktaarsag.{key}' is missing (definition {self.ref})"
            )
        return tuple(self.kontaktaarsag[key]["codes"])

    def stamp(self) -> dict[str, str]:
        """``{"id", "variant", "version"}``: what a number records about its definition."""
        return {"id": self.id, "variant": self.variant, "version": self.version}


# ----------------------------------------------------------------------------------------
# loading and validation
# ----------------------------------------------------------------------------------------


def _fail(file: str, key: str, msg: str) -> DefinitionError:
    return DefinitionError(f"{file}: key '{key}': {msg}")


def _bilingual(raw: Mapping[str, Any], key: str, file: str) -> dict[str, str]:
    v = raw[key]
    if not isinstance(v, Mapping):
        raise _fail(file, key, f"must be a mapping with da and en texts, got {v!r}")
    for lang in LANGS:
        if not isinstance(v.get(lang), str) or not v[lang].strip():
            raise _fail(file, f"{key}.{lang}", "must be a non-empty text")
    return {lang: " ".join(str(v[lang]).split()) for lang in LANGS}


def _codes(raw: Any, file: str) -> dict[str, CodeSet]:
    if not isinstance(raw, Mapping):
        raise _fail(file, "codes", "must be a mapping of code-list name to {da, en, prefixes}")
    out = {}
    for key, spec in raw.items():
        where = f"codes.{key}"
        if not isinstance(spec, Mapping):
            raise _fail(file, where, "must be a mapping with da, en and prefixes")
        prefixes = spec.get("prefixes")
        if not isinstance(prefixes, list) or not prefixes:
            raise _fail(file, f"{where}.prefixes", "must be a non-empty list of ICD-10 prefixes")
        for p in prefixes:
            if not isinstance(p, str) or not _PREFIX_RE.match(p):
                raise _fail(
                    file,
                    f"{where}.prefixes",
                    f"{p!r} is not an ICD-10 prefix (letter + up to 5 digits/letters, no "
                    "dot, no SKS 'D', e.g. J44 or S720)",
                )
        for lang in LANGS:
            if not isinstance(spec.get(lang), str):
                raise _fail(file, f"{where}.{lang}", "must be a text")
        out[str(key)] = CodeSet(str(key), tuple(prefixes), str(spec["da"]), str(spec["en"]))
    return out


def _validate(raw: Any, file: str) -> Definition:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{file}: expected a mapping of keys at top level")
    for key in REQUIRED:
        if key not in raw:
            raise _fail(file, key, "is missing")
    unknown = set(raw) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise _fail(
            file, sorted(unknown)[0], f"unknown key (valid: {', '.join(REQUIRED + OPTIONAL)})"
        )
    for key in ("id", "variant"):
        if not isinstance(raw[key], str) or not _ID_RE.match(raw[key]):
            raise _fail(file, key, f"must be lower-case letters, digits and _, got {raw[key]!r}")
    if raw["kind"] not in KINDS:
        raise _fail(file, "kind", f"must be one of {KINDS}, got {raw['kind']!r}")
    mult = raw["multiplier"]
    if isinstance(mult, bool) or not isinstance(mult, int) or mult <= 0:
        raise _fail(file, "multiplier", f"must be a positive whole number, got {mult!r}")
    thresholds = raw["thresholds"]
    if not isinstance(thresholds, Mapping):
        raise _fail(file, "thresholds", "must be a mapping of name to number")
    for k, v in thresholds.items():
        if not isinstance(v, bool | int | float):
            raise _fail(file, f"thresholds.{k}", f"must be a number or true/false, got {v!r}")
        if not isinstance(v, bool) and v < 0:
            raise _fail(file, f"thresholds.{k}", f"must not be negative, got {v!r}")
    codes = _codes(raw["codes"], file)
    kontakt = raw.get("kontaktaarsag") or {}
    if not isinstance(kontakt, Mapping):
        raise _fail(file, "kontaktaarsag", "must be a mapping of group to {da, en, codes}")
    for k, spec in kontakt.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("codes"), list):
            raise _fail(file, f"kontaktaarsag.{k}.codes", "must be a list of codes (ALCC02, ...)")
    exclusions = raw["exclusions"]
    if not isinstance(exclusions, list):
        raise _fail(file, "exclusions", "must be a list (empty when there are none)")
    for i, ex in enumerate(exclusions):
        where = f"exclusions[{i}]"
        if not isinstance(ex, Mapping):
            raise _fail(file, where, "must be a mapping with id, applies_to, rule, da, en")
        for k in ("id", "applies_to", "rule", "da", "en"):
            if k not in ex:
                raise _fail(file, f"{where}.{k}", "is missing")
        if ex["applies_to"] not in APPLIES_TO:
            raise _fail(file, f"{where}.applies_to", f"must be one of {APPLIES_TO}")
        rule = ex["rule"]
        if not isinstance(rule, Mapping) or not ({"codes", "kontaktaarsag", "column"} & set(rule)):
            raise _fail(file, f"{where}.rule", "must name codes, kontaktaarsag or column")
        if "codes" in rule and rule["codes"] not in codes:
            raise _fail(file, f"{where}.rule.codes", f"{rule['codes']!r} is not under codes")
        if "kontaktaarsag" in rule and rule["kontaktaarsag"] not in kontakt:
            raise _fail(
                file, f"{where}.rule.kontaktaarsag", f"{rule['kontaktaarsag']!r} is not defined"
            )
    std = raw["standardisation"]
    if not isinstance(std, Mapping) or std.get("method") not in STANDARDISATION_METHODS:
        raise _fail(file, "standardisation.method", f"must be one of {STANDARDISATION_METHODS}")
    for lang in LANGS:
        if not isinstance(std.get(lang), str):
            raise _fail(file, f"standardisation.{lang}", "must be a text")
    source = raw["source"]
    if not isinstance(source, Mapping):
        raise _fail(file, "source", "must be a mapping with issuer, title, url, version, date")
    for k in SOURCE_REQUIRED:
        if source.get(k) in (None, ""):
            raise _fail(file, f"source.{k}", "is missing or empty")
    if not str(source["url"]).startswith(("https://", "http://")):
        raise _fail(file, "source.url", f"must be a web address, got {source['url']!r}")
    unconfirmed = raw["unconfirmed"]
    if not isinstance(unconfirmed, list):
        raise _fail(file, "unconfirmed", "must be a list of {da, en} (empty when all is confirmed)")
    unconfirmed = [
        _bilingual({"item": u}, "item", file) if isinstance(u, Mapping) else u for u in unconfirmed
    ]
    for i, u in enumerate(unconfirmed):
        if not isinstance(u, Mapping):
            raise _fail(file, f"unconfirmed[{i}]", "must be a mapping with da and en texts")
    cohort = raw.get("cohort")
    if cohort is not None:
        if not isinstance(cohort, Mapping) or cohort.get("codes") not in codes:
            raise _fail(file, "cohort.codes", "must name a code list under codes")
        if "lookback_years" not in thresholds:
            raise _fail(file, "thresholds.lookback_years", "is required with a cohort")
    return Definition(
        id=raw["id"],
        variant=raw["variant"],
        version=_text(raw["version"]),
        date=_text(raw["date"]),
        kind=raw["kind"],
        multiplier=int(mult),
        name=_bilingual(raw, "name", file),
        unit=_bilingual(raw, "unit", file),
        population=_bilingual(raw, "population", file),
        numerator=_bilingual(raw, "numerator", file),
        denominator=_bilingual(raw, "denominator", file),
        thresholds=dict(thresholds),
        codes=codes,
        exclusions=tuple(dict(e) for e in exclusions),
        standardisation=dict(std),
        source={k: (_text(v) if isinstance(v, dt.date) else v) for k, v in source.items()},
        unconfirmed=tuple(dict(u) for u in unconfirmed),
        kontaktaarsag={str(k): dict(v) for k, v in kontakt.items()},
        cohort=dict(cohort) if cohort else None,
        reported_by=tuple(raw.get("reported_by") or ()),
        published_range=dict(raw["published_range"]) if raw.get("published_range") else None,
        published_level=_published_level(raw.get("published_level"), file),
        path=file,
    )


LEVEL_MEASURES = ("rate", "proportion", "prevalence")
"""What a ``published_level`` is a level of: the indicator's rate (per ``multiplier``), its
proportion (%), or the prevalence of a disease cohort (% of the population ``min_age``+)."""


def _published_level(raw: Any, file: str) -> dict[str, Any] | None:
    """Validate ``published_level``: the national level the synthetic Denmark is calibrated
    to (``measure``, ``low``, ``high``, ``year``, ``basis`` da/en, ``source`` with issuer,
    title, url, date)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail(file, "published_level", "must be a mapping with measure, low, high, ...")
    if raw.get("measure") not in LEVEL_MEASURES:
        raise _fail(file, "published_level.measure", f"must be one of {LEVEL_MEASURES}")
    for k in ("low", "high"):
        v = raw.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _fail(file, f"published_level.{k}", f"must be a number, got {v!r}")
    if raw["low"] > raw["high"]:
        raise _fail(file, "published_level", "low must not exceed high")
    src = raw.get("source")
    if not isinstance(src, Mapping) or any(not src.get(k) for k in ("issuer", "title", "url")):
        raise _fail(file, "published_level.source", "must name issuer, title and url")
    _bilingual(raw, "basis", file)
    return dict(raw)


def load_file(path: str | Path) -> Definition:
    """Read and validate one definition file.

    The file name must be ``<id>.yaml`` (official) or ``<id>.<variant>.yaml``.
    Raises :class:`DefinitionError` naming the file and the key on any problem.
    """
    path = Path(path)
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{name}: not valid YAML: {exc}") from None
    d = _validate(raw, name)
    stem = name.removesuffix(".yaml")
    expect = d.id if d.official else f"{d.id}.{d.variant}"
    if stem != expect:
        raise DefinitionError(
            f"{name}: key 'id'/'variant': the file must be called {expect}.yaml "
            f"(id {d.id!r}, variant {d.variant!r})"
        )
    return d


def definitions_dir() -> Path:
    """The folder of the shipped definition files."""
    return Path(str(files("nsv_eval").joinpath("definitions")))


@cache
def load_all(folder: str | None = None) -> dict[tuple[str, str], Definition]:
    """Every definition in ``folder`` (default: the shipped ones), keyed by (id, variant)."""
    root = Path(folder) if folder else definitions_dir()
    out: dict[tuple[str, str], Definition] = {}
    for path in sorted(root.glob("*.yaml")):
        d = load_file(path)
        out[(d.id, d.variant)] = d
    if not out:
        raise DefinitionError(f"{root}: no definition files (*.yaml) found")
    return out


def ids() -> list[str]:
    """Indicator ids in a stable order (official first where one exists)."""
    return sorted({i for i, _ in load_all()})


def variants(id: str) -> list[str]:
    """The variants of indicator ``id`` (``official`` first)."""
    vs = [v for i, v in load_all() if i == id]
    if not vs:
        raise _unknown(id)
    return sorted(vs, key=lambda v: (v != OFFICIAL, v))


def _unknown(id: str) -> DefinitionError:
    import difflib

    close = difflib.get_close_matches(id, ids(), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return DefinitionError(f"Unknown indicator definition {id!r}.{hint} Known: {', '.join(ids())}")


def get(id: str, variant: str | None = None) -> Definition:
    """Definition ``id`` in ``variant`` (default: official, or the only variant there is).

    ``id`` may also be written ``id:variant``.
    """
    if ":" in id and variant is None:
        id, variant = id.split(":", 1)
    allv = variants(id)
    if variant is None:
        variant = OFFICIAL if OFFICIAL in allv else allv[0]
    if variant not in allv:
        raise DefinitionError(
            f"Indicator {id!r} has no variant {variant!r} (variants: {', '.join(allv)})"
        )
    return load_all()[(id, variant)]


def selected(choice: Mapping[str, str] | None = None) -> dict[str, Definition]:
    """One definition per indicator: ``choice`` (id → variant, e.g. from params) else default.

    Raises :class:`DefinitionError` for an unknown id or variant in ``choice``.
    """
    choice = dict(choice or {})
    for id in choice:
        variants(id)  # raises on an unknown id
    return {id: get(id, choice.get(id)) for id in ids()}


__all__ = [
    "COURSE_VARIANTS",
    "DEFAULT_VARIANTS",
    "OFFICIAL",
    "CodeSet",
    "Definition",
    "DefinitionError",
    "definitions_dir",
    "get",
    "ids",
    "load_all",
    "load_file",
    "resolve_choice",
    "selected",
    "variants",
]
