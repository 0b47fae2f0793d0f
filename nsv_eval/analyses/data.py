"""Loading the prepared layout and slicing it by area.

Study notebooks never read the full monthly cube into pandas: the national summaries they
need (kommune × year × age band × sex, kommune × month, kommune × year × education, ...)
are aggregated once with DuckDB straight from ``cube.parquet`` and cached as small Parquet
files keyed by the data fingerprint (see :meth:`Prepared.summary`). A batch over 98
kommuner points every notebook at the same cache directory (``shared_dir``), so the
national preparation is computed once per batch, not once per notebook.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from nsv_eval.clean.cube import EVENT_COLUMNS
from nsv_eval.errors import NsvError
from nsv_eval.reference import AGE_BANDS, REGIONS, kommune_name, kommuner, region_of

CUBE_MEASURES: tuple[str, ...] = ("population", "person_years", *EVENT_COLUMNS)
"""Additive measures of ``cube.parquet`` (see ARCHITECTURE.md, prepared layout)."""

T = TypeVar("T")

SUMMARIES: dict[str, tuple[str, ...]] = {
    # name -> grouping columns of the cached national summary
    "year_age_sex": ("kommune_code", "year", "age_band", "sex"),
    "month": ("kommune_code", "year", "month", "age65"),
    "year_education": ("kommune_code", "year", "age_band", "education"),
}


@dataclass(frozen=True)
class Area:
    """A geographical level: one kommune, one region or the whole country.

    Parameters
    ----------
    level : str
        ``"kommune"``, ``"region"`` or ``"land"``.
    code : int or None
        Kommune code, region code, or None for the country.
    """

    level: str
    code: int | None = None

    @classmethod
    def of(cls, level: str, kommune: int) -> Area:
        """The area at ``level`` that contains ``kommune``."""
        if level == "kommune":
            return cls("kommune", int(kommune))
        if level == "region":
            return cls("region", region_of(kommune))
        if level in ("land", "country"):
            return cls("land", None)
        raise ValueError(f"Unknown comparison level {level!r}: use 'kommune', 'region' or 'land'.")

    @property
    def name(self) -> str:
        """Danish display name."""
        if self.level == "land" or self.code is None:
            return "Hele landet"
        if self.level == "kommune":
            return f"{kommune_name(self.code)} Kommune"
        return REGIONS[int(self.code)]

    def mask(self, df: pd.DataFrame) -> pd.Series:
        """Boolean mask of the rows of ``df`` (with ``kommune_code``) inside the area."""
        if self.level == "kommune":
            return df["kommune_code"] == self.code
        if self.level == "region":
            if "region_code" in df.columns:
                return df["region_code"] == self.code
            codes = kommuner().loc[lambda k: k["region_code"] == self.code, "kommune_code"]
            return df["kommune_code"].isin(codes)
        return pd.Series(True, index=df.index)


CODE_FINGERPRINT_ENV = "NSV_CODE_FINGERPRINT"
"""Environment variable that pins :func:`code_fingerprint` (16 hex digits). A batch parent
(and ``nsv-eval run``) sets it for the workers and kernels it starts
(:func:`pinned_code_fingerprint`), so every report of one batch uses the parent's key."""

_CODE_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


def code_fingerprint() -> str:
    """SHA-256 (16 hex) of the source of ``nsv_eval.stats`` and ``nsv_eval.analyses``.

    Part of every :meth:`Prepared.memo` key: a memo holds pickled result objects, and a
    pickle made by another version of the code that computes them (another class layout,
    another estimator) must not be read back. Without it, two checkouts sharing one cache
    directory read each other's objects (seen when ``stats`` results became typed classes).

    When :data:`CODE_FINGERPRINT_ENV` is set, its value is returned instead of hashing the
    source: a batch parent computes the fingerprint once and hands it to every worker and
    kernel, so a source file edited while the batch runs cannot give later reports another
    key (and make them recompute all national work) or two workers different keys.

    Raises
    ------
    NsvError
        When :data:`CODE_FINGERPRINT_ENV` is set to something other than 16 hex digits.
    """
    pinned = os.environ.get(CODE_FINGERPRINT_ENV, "")
    if pinned:
        if not _CODE_FINGERPRINT.fullmatch(pinned):
            raise NsvError(
                f"{CODE_FINGERPRINT_ENV}={pinned!r} is not a code fingerprint (16 hex digits); "
                "unset it to let nsv-eval compute the fingerprint from its source."
            )
        return pinned
    return _source_fingerprint()


@cache
def _source_fingerprint() -> str:
    """The code fingerprint from the source files (read once per process)."""
    return source_fingerprint_of(Path(__file__).resolve().parents[1])


def source_fingerprint_of(root: Path) -> str:
    """The code fingerprint of the ``nsv_eval`` package folder ``root`` (its ``stats`` and
    ``analyses`` sources), as :func:`code_fingerprint` computes it for the installed one."""
    h = hashlib.sha256()
    for sub in ("stats", "analyses"):
        for path in sorted((root / sub).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def pinned_code_fingerprint(value: str | None = None) -> Iterator[str]:
    """Pin the code fingerprint in this process's environment for the ``with`` block.

    Sets :data:`CODE_FINGERPRINT_ENV` to ``value`` (default :func:`code_fingerprint`: the
    already pinned value, or this process's source fingerprint), so worker processes and
    Jupyter kernels started inside the block inherit it; restores the previous value on
    exit.

    Yields
    ------
    str
        The pinned fingerprint.
    """
    fp = value if value is not None else code_fingerprint()
    old = os.environ.get(CODE_FINGERPRINT_ENV)
    os.environ[CODE_FINGERPRINT_ENV] = fp
    try:
        code_fingerprint()  # validates ``value``
        yield fp
    finally:
        if old is None:
            os.environ.pop(CODE_FINGERPRINT_ENV, None)
        else:
            os.environ[CODE_FINGERPRINT_ENV] = old


def _fingerprint(manifest: dict) -> str:
    blob = json.dumps(manifest.get("inputs", manifest), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class Prepared:
    """Access to a prepared data directory (the output of ``nsv-eval prepare``).

    Parameters
    ----------
    data_dir : str or Path
        The prepared directory (``data/prepared`` by default).
    shared_dir : str or Path, optional
        Where cached national summaries live. Defaults to ``<data_dir>/cache``; a batch
        passes one directory shared by all its notebooks.
    """

    def __init__(self, data_dir: str | Path, shared_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        manifest = self.data_dir / "manifest.json"
        if not manifest.exists():
            raise NsvError(
                f"No prepared data in {self.data_dir} (manifest.json is missing). Make it with "
                "`make demo` (synthetic data) or `nsv-eval prepare --raw DIR --out "
                f"{self.data_dir}` for your own extracts."
            )
        self.manifest: dict = json.loads(manifest.read_text(encoding="utf-8"))
        self.fingerprint = _fingerprint(self.manifest)
        self.shared_dir = Path(shared_dir) if shared_dir else self.data_dir / "cache"

    # -- files ----------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Path of a prepared file; clear error if it is missing."""
        p = self.data_dir / name
        if not p.exists():
            raise NsvError(f"{p} is missing from the prepared data; re-run `nsv-eval prepare`.")
        return p

    def table(
        self, name: str, columns: list[str] | None = None, *, area: Area | None = None
    ) -> pd.DataFrame:
        """Read ``<name>.parquet`` of the prepared directory into pandas.

        With ``area`` (a kommune or a region), only the rows of its kommuner are read
        (a Parquet row filter on ``kommune_code``; file order kept), not the whole country.
        """
        filters = None
        if area is not None and area.level != "land":
            if area.level == "kommune":
                codes = [int(area.code)]  # type: ignore[arg-type]
            else:
                k = kommuner()
                codes = [int(c) for c in k.loc[k["region_code"] == area.code, "kommune_code"]]
            filters = [("kommune_code", "in", codes)]
        return pd.read_parquet(self.path(f"{name}.parquet"), columns=columns, filters=filters)

    @cached_property
    def period(self) -> tuple[int, int]:
        """First and last calendar year in the cube."""
        con = duckdb.connect()
        row = con.execute(
            "SELECT min(year), max(year) FROM read_parquet(?)", [str(self.path("cube.parquet"))]
        ).fetchone()
        if row is None or row[0] is None:
            raise ValueError(f"{self.path('cube.parquet')}: the cube has no rows (no years)")
        return int(row[0]), int(row[1])

    @cached_property
    def rollout(self) -> pd.DataFrame:
        """Kommune-level roll-out dates (``kommune_code``, ``intervention``, ``start_date``)."""
        df = self.table("rollout")
        df["start_date"] = pd.to_datetime(df["start_date"])
        return df

    def start_date(self, kommune: int, intervention: str) -> pd.Timestamp | None:
        """Roll-out date of ``intervention`` in ``kommune`` (None if it never started)."""
        r = self.rollout
        hit = r[(r["kommune_code"] == int(kommune)) & (r["intervention"] == intervention)]
        if hit.empty or pd.isna(hit["start_date"].iloc[0]):
            return None
        return pd.Timestamp(hit["start_date"].iloc[0])

    # -- cached national summaries --------------------------------------------------
    def summary(self, name: str) -> pd.DataFrame:
        """A national summary of the cube, computed once and cached on disk.

        Parameters
        ----------
        name : str
            One of :data:`SUMMARIES`: ``"year_age_sex"`` (kommune × year × age band × sex),
            ``"month"`` (kommune × year × month × 65+ flag), ``"year_education"``
            (kommune × year × age band × education).

        Returns
        -------
        pandas.DataFrame
            Grouping columns, ``region_code`` and the sums of :data:`CUBE_MEASURES`.
        """
        if name not in SUMMARIES:
            raise ValueError(f"Unknown summary {name!r}; choose one of {sorted(SUMMARIES)}")
        cache = self.shared_dir / f"{name}-{self.fingerprint}.parquet"
        if cache.exists():
            return pd.read_parquet(cache)
        df = self._aggregate(SUMMARIES[name])
        self.shared_dir.mkdir(parents=True, exist_ok=True)
        # atomic write: parallel notebooks may race to fill the same cache
        fd, tmp = tempfile.mkstemp(dir=self.shared_dir, suffix=".tmp")
        os.close(fd)
        df.to_parquet(tmp, index=False)
        os.replace(tmp, cache)
        return df

    def memo(
        self, name: str, fn: Callable[[], T], *, data: pd.DataFrame | None = None, **key: Any
    ) -> T:
        """``fn()``, computed once per data set and key, kept in ``shared_dir/memo``.

        For fits that many notebooks repeat on identical input — e.g. a propensity model on
        a region's cohort, refitted by the report of every kommune in that region — so a
        batch fits it once. The cache key is the data fingerprint, the code fingerprint
        (:func:`code_fingerprint`), ``name``, the keyword arguments and, when given, the
        content hash of ``data`` (so a different input or another version of the code can
        never return a stale result). Results are pickled; an unreadable cache entry is
        recomputed.
        """
        h = hashlib.sha256()
        h.update(f"{name}|{self.fingerprint}|{code_fingerprint()}|".encode())
        h.update(json.dumps(key, sort_keys=True, default=str).encode())
        if data is not None:
            h.update(str((data.shape, list(data.columns))).encode())
            h.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
        path = self.shared_dir / "memo" / f"{name}-{h.hexdigest()[:24]}.pkl"
        if path.exists():
            try:
                with path.open("rb") as fh:
                    cached = pickle.load(fh)
                if not _stale(cached):
                    return cached
            except Exception:  # noqa: BLE001 - a broken entry is simply recomputed
                pass
        result = fn()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return result

    def _aggregate(self, groups: tuple[str, ...]) -> pd.DataFrame:
        cube = str(self.path("cube.parquet"))
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        con.register("komm", kommuner()[["kommune_code", "region_code"]])
        present = {
            r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [cube]).fetchall()
        }
        measures = [m for m in CUBE_MEASURES if m in present]
        old = ", ".join(f"'{b}'" for b in AGE_BANDS[13:])
        exprs = {"age65": f"(c.age_band IN ({old}))"}
        sel = ", ".join(f"{exprs.get(g, 'c.' + g)} AS {g}" for g in groups)
        sums = ", ".join(f"sum(c.{m}) AS {m}" for m in measures)
        grp = ", ".join(str(i + 1) for i in range(len(groups)))
        sql = (
            f"SELECT {sel}, any_value(k.region_code) AS region_code, {sums} "
            f"FROM read_parquet('{cube}') c JOIN komm k USING (kommune_code) "
            f"GROUP BY {grp} ORDER BY {grp}"
        )
        df = con.execute(sql).df()
        for m in measures:
            if m != "person_years":
                df[m] = df[m].astype("int64")
        return df


def load_prepared(
    data_dir: str | Path = "data/prepared", shared_dir: str | Path | None = None
) -> Prepared:
    """Open a prepared data directory (see :class:`Prepared`)."""
    return Prepared(data_dir, shared_dir)


def filter_ages(df: pd.DataFrame, min_age: int) -> pd.DataFrame:
    """Rows of ``df`` whose ``age_band`` starts at or above ``min_age``."""
    bands = AGE_BANDS[min(min_age // 5, len(AGE_BANDS) - 1) :]
    return df[df["age_band"].isin(bands)]


def _stale(obj: object) -> bool:
    """A pickled result written by an older version of its class: a dataclass instance (or
    one inside a dict, list or tuple) that lacks one of the class's current fields (the memo
    key does not know the code version)."""
    if isinstance(obj, dict):
        return any(_stale(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_stale(v) for v in obj)
    return (
        is_dataclass(obj)
        and not isinstance(obj, type)
        and any(f.name not in vars(obj) for f in fields(obj))
    )
