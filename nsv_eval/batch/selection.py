"""Which kommuner a batch runs for: ``all``, ``region:1085``, ``326,580`` or a mix."""

from __future__ import annotations

from collections.abc import Iterable

from nsv_eval.errors import InputError
from nsv_eval.reference import REGIONS, kommuner


def region_code(token: str) -> int:
    """Region code for ``token``: a code (``1085``) or a name (``Sjælland``, ``Region Sjælland``).

    Raises
    ------
    nsv_eval.errors.InputError
        Not one of the five regions (the message lists them).
    """
    t = token.strip()
    if t.isdigit() and int(t) in REGIONS:
        return int(t)
    low = t.lower()
    for code, name in REGIONS.items():
        if low in (name.lower(), name.lower().removeprefix("region ")):
            return code
    listing = ", ".join(f"{c} ({n})" for c, n in REGIONS.items())
    raise InputError(f"--kommuner: 'region:{t}' is not a Danish region; regions: {listing}")


def parse_kommuner(spec: str | int | Iterable[int | str]) -> list[int]:
    """Kommune codes selected by ``spec``.

    Parameters
    ----------
    spec : str, int or iterable
        ``"all"`` (the 98 kommuner), ``"region:1085"`` or ``"region:Sjælland"`` (the
        kommuner of a region), kommune codes, or a comma-separated mix such as
        ``"region:1081,326"``; or an iterable of such items.

    Returns
    -------
    list of int
        Codes in the order given (``all`` and regions in code order), without duplicates.

    Raises
    ------
    nsv_eval.errors.InputError
        An unknown code or region, or an empty selection; the message names the token.
    """
    from nsv_eval.params import check_kommune

    if isinstance(spec, bool):  # an int to Python, but no kommune code (was a TypeError)
        raise InputError(f"--kommuner: {spec!r} is not a kommune selection")
    if isinstance(spec, int):
        items: list[str] = [str(spec)]
    elif isinstance(spec, str):
        items = spec.split(",")
    else:
        items = [str(x) for x in spec]
    table = kommuner()
    out: list[int] = []
    for raw in items:
        tok = raw.strip()
        if not tok:
            continue
        if tok.lower() == "all":
            codes = sorted(int(c) for c in table["kommune_code"])
        elif tok.lower().startswith("region:"):
            region = region_code(tok.split(":", 1)[1])
            codes = sorted(
                int(c) for c in table.loc[table["region_code"] == region, "kommune_code"]
            )
        else:
            codes = [check_kommune(tok, where="--kommuner")]
        out.extend(c for c in codes if c not in out)
    if not out:
        raise InputError(
            "--kommuner: no kommune selected; give 'all', 'region:CODE' or kommune codes "
            "such as 326,580"
        )
    return out
