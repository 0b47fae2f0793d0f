"""Study parameters: ``params/defaults.yaml`` + ``params/kommuner/<code>.yaml`` (+ a file).

The defaults file is also the *schema*: every valid key appears in it, and a value must
have the type of its default (an ``int`` where the default is an int, a date where it is a
date, ...). Per-kommune files and an extra ``--params`` file override single keys. A few
keys carry extra rules (:data:`RULES`): the period must be years in order, the comparison
level ``region`` or ``land``, intervention dates ``data`` (the roll-out table) or a mapping
of intervention → date, unit costs non-negative numbers or ``[low, high]`` ranges.

Everything is validated before anything runs; errors are :class:`~nsv_eval.errors.InputError`
naming the file, the key and — for unknown keys — the closest valid key.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from nsv_eval.errors import InputError
from nsv_eval.reference import kommuner

DEFAULTS_FILE = "defaults.yaml"
KOMMUNE_DIR = "kommuner"


def default_params_dir() -> Path:
    """``params/`` of the working directory if it exists, else of the source tree."""
    here = Path("params")
    if (here / DEFAULTS_FILE).exists():
        return here
    return Path(__file__).resolve().parents[1] / "params"


def _where(path: str, file: Path | str) -> str:
    return f"{file}: '{path}'"


def _check_year(path: str, v: Any, file: Path | str) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not 1900 <= v <= 2100:
        raise InputError(f"{_where(path, file)} must be a year such as 2010, got {v!r}")


def _check_level(path: str, v: Any, file: Path | str) -> None:
    if v not in ("region", "land"):
        raise InputError(f"{_where(path, file)} must be 'region' or 'land', got {v!r}")


def _check_lang(path: str, v: Any, file: Path | str) -> None:
    if v not in ("da", "en"):
        raise InputError(f"{_where(path, file)} must be 'da' or 'en', got {v!r}")


def _check_conf(path: str, v: Any, file: Path | str) -> None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0.5 <= v < 1:
        raise InputError(f"{_where(path, file)} must be a level such as 0.95, got {v!r}")


def _as_date(path: str, v: Any, file: Path | str) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise InputError(
        f"{_where(path, file)} must be a date written YYYY-MM-DD (or empty = never), got {v!r}"
    )


def _check_interventions(path: str, v: Any, file: Path | str) -> None:
    if v == "data":
        return
    if not isinstance(v, Mapping):
        raise InputError(
            f"{_where(path, file)} must be 'data' (dates from the roll-out table) or a "
            f"mapping of intervention to start date, got {v!r}"
        )
    for name, d in v.items():
        _as_date(f"{path}.{name}", d, file)


def _check_cost(path: str, v: Any, file: Path | str) -> None:
    def num(x: Any) -> bool:
        return not isinstance(x, bool) and isinstance(x, int | float) and x >= 0

    if num(v):
        return
    if isinstance(v, list) and len(v) == 2 and all(num(x) for x in v) and v[0] <= v[1]:
        return
    raise InputError(
        f"{_where(path, file)} must be an amount in DKK >= 0 or a range [low, high], got {v!r}"
    )


def _one_of(*allowed: str) -> Callable[[str, Any, Path | str], None]:
    def check(path: str, v: Any, file: Path | str) -> None:
        if v not in allowed:
            opts = ", ".join(f"'{a}'" for a in allowed)
            raise InputError(f"{_where(path, file)} must be one of {opts}, got {v!r}")

    return check


_AREA = _one_of("kommune", "region", "land")


def _check_definition(path: str, v: Any, file: Path | str) -> None:
    from nsv_eval import definitions

    id = path.split(".", 1)[1]
    allowed = definitions.variants(id)
    if v not in allowed:
        opts = ", ".join(f"'{a}'" for a in allowed)
        raise InputError(f"{_where(path, file)} must be one of {opts}, got {v!r}")


RULES: dict[str, Callable[[str, Any, Path | str], None]] = {
    "period.start": _check_year,
    "period.end": _check_year,
    "comparison_level": _check_level,
    "lang": _check_lang,
    "conf": _check_conf,
    "intervention_dates": _check_interventions,
    "unit_costs_dkk.*": _check_cost,
    "definitions.*": _check_definition,
    "studies.fald.cohort_scope": _AREA,
    "studies.fald.did_control": _one_of("notyet", "never"),
    "studies.genindlaeggelser.scope": _AREA,
    "studies.ulighed.sii_level": _AREA,
    "studies.business_case.scope": _AREA,
    "studies.business_case.falls_design": _one_of("did", "did_cs", "its"),
    "studies.forebyggende.scope": _AREA,
}
"""Extra validation by dotted key (``*`` = any key of that mapping)."""

FREE_MAPPINGS: tuple[str, ...] = ("intervention_dates",)
"""Keys whose sub-keys are not fixed by the defaults."""


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int):
        return "a whole number"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, dt.date):
        return "a date (YYYY-MM-DD)"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, Mapping):
        return "a mapping"
    return type(v).__name__


def _same_type(default: Any, v: Any) -> bool:
    if default is None or v is None:
        return True
    if isinstance(default, bool):
        return isinstance(v, bool)
    if isinstance(default, int | float):
        return isinstance(v, int | float) and not isinstance(v, bool)
    if isinstance(default, dt.date):
        return isinstance(v, dt.date)
    if isinstance(default, Mapping):
        return isinstance(v, Mapping)
    if isinstance(default, list):
        return isinstance(v, list)
    return isinstance(v, type(default))


def _rule_for(path: str) -> Callable[[str, Any, Path | str], None] | None:
    if path in RULES:
        return RULES[path]
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    return RULES.get(f"{parent}.*") if parent else None


def _validate(schema: Mapping[str, Any], data: Any, file: Path | str, prefix: str = "") -> None:
    if not isinstance(data, Mapping):
        raise InputError(f"{file}: expected a mapping of keys to values at top level")
    for key, value in data.items():
        path = f"{prefix}{key}"
        if not isinstance(key, str):
            raise InputError(f"{file}: key {key!r} at {prefix or 'top level'} must be text")
        if key not in schema:
            valid = sorted(str(k) for k in schema)
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            where = f" under '{prefix[:-1]}'" if prefix else ""
            raise InputError(
                f"{file}: unknown key '{path}'{hint} (valid keys{where}: {', '.join(valid)})"
            )
        default = schema[key]
        rule = _rule_for(path)
        if rule is not None:
            rule(path, value, file)
        elif not _same_type(default, value):
            raise InputError(
                f"{file}: '{path}' must be {_type_name(default)} (like the default "
                f"{default!r}), got {value!r}"
            )
        if (
            isinstance(default, Mapping)
            and isinstance(value, Mapping)
            and path not in FREE_MAPPINGS
        ):
            _validate(default, value, file, prefix=f"{path}.")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k in FREE_MAPPINGS:
            out[k] = copy.deepcopy(v)
        elif isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date reaches our validator.

    PyYAML's own timestamp constructor raises a bare ``ValueError`` on ``2014-13-01``,
    without naming the key; dates are parsed by :func:`_as_date` instead.
    """


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> dict[str, Any]:
    # size-, alias- and depth-limited (a YAML alias bomb is refused with a clear error)
    from nsv_eval.ingest.mapping import load_yaml_limited

    data = load_yaml_limited(path, "Parameter file", loader=_Loader)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of keys to values at top level")
    return data


def check_kommune(kommune: Any, where: str = "kommune") -> int:
    """Return ``kommune`` as an int if it is one of the 98 codes, else raise ``InputError``."""
    codes = [int(c) for c in kommuner()["kommune_code"]]
    try:
        code = int(kommune)
        if isinstance(kommune, bool) or str(kommune).strip() != str(code):
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"{where}: {kommune!r} is not a kommune code (e.g. 326)") from None
    if code not in codes:
        near = sorted(codes, key=lambda c: abs(c - code))[:3]
        raise InputError(
            f"{where}: {code} is not one of the 98 Danish kommune codes "
            f"(nearest codes: {', '.join(map(str, near))})"
        )
    return code


def load_params(
    kommune: int,
    params_dir: str | Path | None = None,
    *,
    extra: str | Path | None = None,
) -> dict[str, Any]:
    """Load, merge and validate the parameters for one kommune.

    Parameters
    ----------
    kommune : int
        Kommune code (one of the 98).
    params_dir : str or Path, optional
        Directory with ``defaults.yaml`` and ``kommuner/<code>.yaml`` (default:
        :func:`default_params_dir`).
    extra : str or Path, optional
        A further YAML file merged last (``nsv-eval run --params FILE``).

    Returns
    -------
    dict
        The merged parameters, with ``kommune`` (int) and ``sources`` (the files read, in
        order) added.

    Raises
    ------
    nsv_eval.errors.InputError
        Unknown key (with the closest valid key), wrong type or value, unknown kommune.
    """
    code = check_kommune(kommune)
    pdir = Path(params_dir) if params_dir is not None else default_params_dir()
    dfile = pdir / DEFAULTS_FILE
    if not dfile.exists():
        raise InputError(f"{dfile}: the parameter defaults file is missing")
    defaults = _read_yaml(dfile)
    _validate(defaults, defaults, dfile)
    merged = defaults
    sources = [str(dfile)]
    kdir = pdir / KOMMUNE_DIR
    if kdir.is_dir():
        for f in sorted(kdir.glob("*.y*ml")):  # validate every override, not just ours
            check_kommune(f.stem, where=f"{f} (file name)")
    files: list[Path] = [kdir / f"{code}.yaml"]
    if extra is not None:
        if not Path(extra).exists():
            raise InputError(f"{extra}: parameter file not found")
        files.append(Path(extra))
    for f in files:
        if not f.exists():
            continue
        data = _read_yaml(f)
        if "kommune" in data:
            got = check_kommune(data.pop("kommune"), where=f"{f}: kommune")
            if got != code:
                raise InputError(f"{f}: kommune is {got}, but the run is for kommune {code}")
        _validate(defaults, data, f)
        merged = _merge(merged, data)
        sources.append(str(f))
    p = merged["period"]
    if p["start"] > p["end"]:
        raise InputError(
            f"{sources[-1]}: period.start ({p['start']}) is after period.end ({p['end']})"
        )
    if isinstance(merged["intervention_dates"], Mapping):
        merged["intervention_dates"] = {
            str(k): _as_date(f"intervention_dates.{k}", v, sources[-1])
            for k, v in merged["intervention_dates"].items()
        }
    merged["kommune"] = code
    merged["sources"] = sources
    return merged


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def params_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the parameters as canonical JSON (``sources`` excluded)."""
    clean = {k: v for k, v in params.items() if k != "sources"}
    blob = json.dumps(_jsonable(clean), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def notebook_parameters(params: Mapping[str, Any], study: str) -> dict[str, Any]:
    """The papermill parameters of one study notebook (JSON-safe; dates as ISO strings).

    Common parameters: ``kommune``, ``period_start``, ``period_end``, ``comparison_level``,
    ``lang``, ``conf``, ``unit_costs_dkk``, ``intervention_dates``; then the study's own
    section ``studies.<study>`` flattened. ``data_dir``, ``results_path`` and
    ``shared_dir`` are added by :func:`nsv_eval.report.render.run_study`.
    """
    out: dict[str, Any] = {
        "kommune": int(params["kommune"]),
        "period_start": int(params["period"]["start"]),
        "period_end": int(params["period"]["end"]),
        "comparison_level": params["comparison_level"],
        "lang": params["lang"],
        "conf": float(params["conf"]),
        "unit_costs_dkk": _jsonable(params["unit_costs_dkk"]),
        "intervention_dates": _jsonable(params["intervention_dates"]),
    }
    own = (params.get("studies") or {}).get(study) or {}
    for k, v in own.items():
        if k in out:
            raise InputError(f"studies.{study}.{k} clashes with a common parameter of that name")
        out[k] = _jsonable(v)
    return out
