"""Study 8 (*Forebyggende hjemmebesøg*): the statutory offer age as a natural experiment.

Serviceloven § 79 a obliges every kommune to offer preventive home visits by age: until
2015 at least yearly from 75; from 1 January 2016 one visit in the year one turns 75,
yearly from 80 and need-based at 65-79 for citizens at particular risk (L 47, FT 2015-16);
from 1 July 2019 also at 80 and at 70 for those living alone, yearly from 82, need-based at
65-81 (lov nr. 508 af 1. maj 2019). Sources: retsinformation.dk / ft.dk (L 47 2015-16 and
L 148 2018-19 as introduced), danskelove.dk (§ 79 a as amended in 2015).

So the chance of a visit jumps at the 75th birthday while nothing else does: a fuzzy
regression discontinuity. What notebook ``08_forebyggende_hjemmebesoeg`` computes:

* :func:`rd_panel` — person × calendar month around the 75th birthday (running variable:
  month relative to the birthday month, −12 … 12), with the month's person-time, acute
  admissions, fall injuries, entry into home care and whether a visit acts in the month
  (a preventive visit in the 12 months before it);
* :func:`rd_estimates` — fuzzy RD per outcome (``stats.rd``): first stage (jump in the
  share visited), reduced form (jump in the rate) and the local effect for compliers (LATE)
  per 1,000 person-years, bandwidth, minimum detectable effect; :func:`rd_placebos` at
  ages where nothing changes; :func:`density_check` (``rddensity``) on exact age;
* :func:`offer_cohort` and :func:`accepted_vs_declined` — among the citizens offered a
  visit at 75: those who accepted vs those who declined, a sequence of target trials (one
  per birthday month, pooled) with IPTW on the observed covariates and a negative-control
  outcome (planned admissions, which a visit cannot prevent) that reveals residual
  confounding;
* :func:`kommune_uptake` — share accepting at 75 per kommune for a funnel plot, with the
  rate of acute admissions in the year after.
"""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager, nullcontext

import duckdb
import numpy as np
import pandas as pd

from nsv_eval import stats
from nsv_eval.analyses.data import Prepared
from nsv_eval.reference import kommuner
from nsv_eval.stats.designs.rd import RDResult, rd, rd_density

OFFER_AGE = 75
WINDOW = 12
"""Months on each side of the birthday month in the RD panel."""
CUTOFF = 0.5
"""Running variable = calendar month − birthday month; the first month in which the visit
made in the birthday month acts is month 1, so the cutoff lies between months 0 and 1."""
OUTCOMES: dict[str, str] = {
    "acute": "Akutte indlæggelser",
    "fall_injury": "Faldulykker (indlæggelser)",
    "home_care_onset": "Start af hjemmehjælp",
}
"""Outcome columns of :func:`rd_panel` (counts in the month) and their Danish names."""
PLACEBO_AGES = (72, 73)
"""Ages without any offer rule (the 70-year offer to those living alone acts until 71)."""


def _region_map() -> pd.DataFrame:
    return kommuner()[["kommune_code", "region_code"]]


def scope_codes(level: str, kommune: int) -> list[int] | None:
    """Kommune codes of the analysis area (``kommune``, ``region`` or ``land`` = None)."""
    if level == "land":
        return None
    km = _region_map()
    if level == "region":
        reg = int(km.loc[km["kommune_code"] == int(kommune), "region_code"].iloc[0])
        return [int(c) for c in km.loc[km["region_code"] == reg, "kommune_code"]]
    if level == "kommune":
        return [int(kommune)]
    raise ValueError(f"scope must be 'kommune', 'region' or 'land', not {level!r}")


def _month_index(col: str) -> str:
    return f"(year({col}) * 12 + month({col}) - 1)"


def _birthday_month(age: int) -> str:
    # the month of the birthday; a 29 February birthday falls on 1 March in common years
    y = f"(year(birth_date) + {age})"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    extra = (
        f"CASE WHEN month(birth_date) = 2 AND day(birth_date) = 29 AND NOT {leap} THEN 1 ELSE 0 END"
    )
    return f"({y} * 12 + month(birth_date) - 1 + {extra})"


PANEL_MEMORY_LIMIT = "3GB"
"""DuckDB's buffer pool while it builds a panel; its sorts and joins spill to a temporary
directory beyond it (the national panel at scale 1.0 is ~18 million person-months; its
sorted result must fit: 1 GB ran out of memory at scale 1.0)."""


PANEL_PERSONS_PER_QUERY = 200_000
"""Persons per DuckDB query while a panel is built (about 4 million person-months)."""


def _panel_connection(tmp: str) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection a panel is built on (2 threads, :data:`PANEL_MEMORY_LIMIT`,
    spilling to ``tmp``), without a progress bar where DuckDB lets it be switched off."""
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute(f"SET memory_limit = '{PANEL_MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{tmp.replace(chr(39), chr(39) * 2)}'")
    con.execute("SET preserve_insertion_order = false")  # every result has an ORDER BY
    try:
        # DuckDB draws a progress bar into the terminal when it takes the process for an
        # interactive one — the worker processes of ``analyses.shared`` (started by
        # ``python -c``): into the terminal of ``nsv-eval run``
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # inside a Jupyter kernel without ipywidgets DuckDB refuses to change the setting
        # (no bar is drawn there): the panel is built all the same
        pass
    return con


def _build_panel(
    prep: Prepared,
    age: int,
    window: int,
    codes: Sequence[int] | None = None,
    *,
    lean: bool = False,
) -> pd.DataFrame:
    """The panel around the birthday month of ``age`` (see :func:`rd_panel`; ``lean``: see
    :func:`_panels`)."""
    panels = _panels(prep, (age,), window, codes, lean=lean)
    try:
        return next(panels)
    finally:
        panels.close()


def _panels(
    prep: Prepared,
    ages: Sequence[int],
    window: int,
    codes: Sequence[int] | None = None,
    *,
    lean: bool = False,
) -> Generator[pd.DataFrame, None, None]:
    """The panel of each age in ``ages``, one after the other (a generator).

    Several ages (``lean`` only: the placebo ages) share the persons table and the joins
    with courses and visits — the expensive part, a string sort of the persons and a scan
    of the courses — and differ only in the grid of months; each age's rows are made when
    it is asked for, so one age's rows are in memory at a time.
    """
    # Register scale: DuckDB joins and sorts on an integer person number (``pid``: the rank
    # of ``person_id``, so ``ORDER BY pid, m`` is the order of ``person_id, m``), returns only
    # numeric columns, and the person-level columns are attached here by ``pid`` (one row
    # per person, categoricals per person-month): ~35 bytes a person-month instead of ~130
    # with strings, and no string hashing or sorting of millions of rows.
    # ``lean``: only what a placebo fit of acute admissions or fall injuries reads (``k``,
    # ``exposure``, ``acute``, ``fall_injury``, ``visit_active`` and the person number as
    # ``person_id``): no home-care or planned-admission joins and no person-level columns —
    # the same rows in the same order with the same values in those columns. The person
    # numbers of several ages are ranks among the persons of all of them: the same order,
    # so the same rows in the same order and the same cluster numbers (``_person_codes``).
    if len(ages) != 1 and not lean:
        raise ValueError("_panels: several ages only for lean panels")
    lo_year, hi_year = prep.period
    m_lo, m_hi = lo_year * 12, hi_year * 12 + 11
    f = {k: str(prep.path(f"{k}.parquet")) for k in ("persons", "courses", "care", "interventions")}
    # an area's panel: only its persons (their rows do not depend on anyone else's)
    where = ""
    if codes is not None:
        where = f" AND kommune_code IN ({', '.join(str(int(c)) for c in codes) or 'NULL'})"
    bms = ", ".join(f"{_birthday_month(a)} AS bm{i}" for i, a in enumerate(ages))
    meets = " OR ".join(
        f"(bm{i} + {window} >= {m_lo} AND bm{i} - {window} <= {m_hi})" for i in range(len(ages))
    )
    first = "least(" + ", ".join(f"p.bm{i}" for i in range(len(ages))) + ", p.bm0)"
    last = "greatest(" + ", ".join(f"p.bm{i}" for i in range(len(ages))) + ", p.bm0)"
    with (
        tempfile.TemporaryDirectory(prefix="nsv-panel-") as tmp,
        _panel_connection(tmp) as con,
    ):
        con.register("km", _region_map())
        # the persons whose window of months meets the data period, numbered in id order
        con.execute(f"""
        CREATE TEMP TABLE p AS
        SELECT CAST(row_number() OVER (ORDER BY person_id) - 1 AS INTEGER) AS pid, *
        FROM (
            SELECT person_id, kommune_code, birth_date, death_date, sex, education,
                   living_alone, {bms}
            FROM read_parquet('{f["persons"]}') WHERE true{where}
        )
        WHERE {meets}
        """)
        dup = con.execute(
            "SELECT person_id, count(*) FROM p GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if dup is not None:
            raise ValueError(
                f"{f['persons']}: person_id {dup[0]!r} occurs {dup[1]} times (column "
                "person_id must be unique; re-run `nsv-eval prepare`)"
            )
        counted = con.execute("SELECT count(*) FROM p").fetchone()
        n_persons = int(counted[0]) if counted else 0
        # the panel persons' courses, home-care episodes and preventive visits, once, on the
        # integer person number (each block below then filters these small tables instead of
        # joining the whole parquet files on the string id again — 2 scans of courses per
        # block: the age-75 panel at scale 1.0 took 34 s before, 17 s after, two runs on a
        # shared machine); courses only in the window's months (the only months they are
        # joined on), visits from 12 months before it
        con.execute(f"""
        CREATE TEMP TABLE pc AS
        SELECT p.pid, {_month_index("admit_time")} AS m, acute, fall_injury
        FROM read_parquet('{f["courses"]}') JOIN p USING (person_id)
        WHERE {_month_index("admit_time")} BETWEEN {first} - {window} AND {last} + {window}
        """)
        if not lean:
            con.execute(f"""
            CREATE TEMP TABLE phc AS
            SELECT p.pid, start_date, end_date
            FROM read_parquet('{f["care"]}') JOIN p USING (person_id)
            WHERE service = 'home_care'
            """)
        con.execute(f"""
        CREATE TEMP TABLE pv AS
        SELECT p.pid, {_month_index("date")} AS vm
        FROM read_parquet('{f["interventions"]}') JOIN p USING (person_id)
        WHERE intervention = 'preventive_visit'
          AND {_month_index("date")} BETWEEN {first} - {window} - 12 AND {last} + {window}
        """)

        def chunk_sql(lo: int, hi: int, i: int) -> str:
            # the CTEs both kinds of panel share: the person-month grid, acute admissions
            # and active visits
            shared = f"""
        WITH pp AS (
            SELECT pid, birth_date, death_date, bm{i} AS bm FROM p WHERE pid >= {lo} AND pid < {hi}
        ),
        g AS (
            SELECT p.pid, p.birth_date, p.death_date, t.k, p.bm + t.k AS m
            FROM pp p, range(-{window}, {window} + 1) t(k)
            WHERE p.bm + t.k BETWEEN {m_lo} AND {m_hi}
        ),
        g2 AS (
            SELECT *,
                   make_date(CAST(m // 12 AS INTEGER), CAST(m % 12 + 1 AS INTEGER), 1) AS ms,
                   make_date(CAST((m + 1) // 12 AS INTEGER), CAST((m + 1) % 12 + 1 AS INTEGER),
                             1) AS me
            FROM g
        ),
        g3 AS MATERIALIZED (
            SELECT pid, k, m, ms, me,
                   date_diff('day', ms, CASE WHEN death_date IS NOT NULL AND death_date < me
                                             THEN death_date ELSE me END) AS days
            FROM g2 WHERE birth_date < ms AND (death_date IS NULL OR death_date > ms)
        ),
        c AS (
            SELECT pid, m, count(*) AS acute, sum(CAST(fall_injury AS INTEGER)) AS fall_injury
            FROM pc WHERE pid >= {lo} AND pid < {hi} AND acute
            GROUP BY ALL
        ),
        v AS (SELECT DISTINCT pid, vm FROM pv WHERE pid >= {lo} AND pid < {hi}),
        gv AS (
            -- the months each visit month touches (itself; active in the 12 after it):
            -- the same flags as testing every visit against every month of the person,
            -- without that join (the LEFT JOIN below keeps the grid's months)
            SELECT v.pid, v.vm + t.j AS m, bool_or(t.j >= 1) AS visit_active,
                   bool_or(t.j = 0) AS visit_in_month
            FROM v, range(0, 13) t(j) GROUP BY ALL
        )"""
            if lean:
                return (
                    shared
                    + """
        SELECT g3.pid, CAST(g3.k AS TINYINT) AS k, g3.days / 365.25 AS exposure,
               CAST(coalesce(c.acute, 0) AS SMALLINT) AS acute,
               CAST(coalesce(c.fall_injury, 0) AS SMALLINT) AS fall_injury,
               coalesce(gv.visit_active, false) AS visit_active
        FROM g3
        LEFT JOIN c ON c.pid = g3.pid AND c.m = g3.m
        LEFT JOIN gv ON gv.pid = g3.pid AND gv.m = g3.m
        WHERE g3.days > 0
        ORDER BY g3.pid, g3.m
        """
                )
            return (
                shared
                + f""",
        pl AS (
            SELECT pid, m, count(*) AS planned
            FROM pc WHERE pid >= {lo} AND pid < {hi} AND NOT acute
            GROUP BY ALL
        ),
        hc AS (SELECT pid, start_date, end_date FROM phc WHERE pid >= {lo} AND pid < {hi}),
        gh AS (
            SELECT g3.pid, g3.m,
                   bool_or(hc.start_date < g3.ms
                           AND (hc.end_date IS NULL OR hc.end_date >= g3.ms)) AS in_home_care,
                   bool_or(hc.start_date >= g3.ms AND hc.start_date < g3.me) AS hc_start
            FROM g3 JOIN hc USING (pid) GROUP BY ALL
        )
        SELECT g3.pid, CAST(g3.k AS TINYINT) AS k, CAST(g3.m AS INTEGER) AS m,
               g3.days / 365.25 AS exposure,
               CAST(coalesce(c.acute, 0) AS SMALLINT) AS acute,
               CAST(coalesce(c.fall_injury, 0) AS SMALLINT) AS fall_injury,
               CAST(coalesce(pl.planned, 0) AS SMALLINT) AS planned,
               coalesce(gv.visit_active, false) AS visit_active,
               coalesce(gv.visit_in_month, false) AS visit_in_month,
               coalesce(gh.in_home_care, false) AS in_home_care,
               CAST(coalesce(gh.hc_start, false) AND NOT coalesce(gh.in_home_care, false)
                    AS TINYINT) AS home_care_onset
        FROM g3
        LEFT JOIN c ON c.pid = g3.pid AND c.m = g3.m
        LEFT JOIN pl ON pl.pid = g3.pid AND pl.m = g3.m
        LEFT JOIN gv ON gv.pid = g3.pid AND gv.m = g3.m
        LEFT JOIN gh ON gh.pid = g3.pid AND gh.m = g3.m
        WHERE g3.days > 0
        ORDER BY g3.pid, g3.m
        """
            )

        # persons in blocks of consecutive numbers (a person's rows depend on no one else's),
        # so DuckDB's joins, aggregates and the sort hold one block at a time; the blocks
        # come in number order, so their rows concatenated are in ``pid, m`` order
        def age_rows(i: int) -> pd.DataFrame:
            parts = [
                con.execute(chunk_sql(lo, lo + PANEL_PERSONS_PER_QUERY, i)).df()
                for lo in range(0, max(n_persons, 1), PANEL_PERSONS_PER_QUERY)
            ]
            return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

        if lean:
            unknown = con.execute(
                "SELECT min(pid) FROM p WHERE kommune_code NOT IN (SELECT kommune_code FROM km)"
            ).fetchone()
            if unknown is not None and unknown[0] is not None:
                raise ValueError(
                    f"{f['persons']}: kommune_code of person number {unknown[0]} is unknown"
                )
            for i in range(len(ages)):
                rows = age_rows(i)
                rows.insert(0, "person_id", rows.pop("pid"))
                yield rows
                del rows
            return
        rows = age_rows(0)
        persons = con.execute(
            "SELECT pid, person_id, kommune_code, km.region_code, sex, education, living_alone "
            "FROM p JOIN km USING (kommune_code) ORDER BY pid"
        ).df()
    pid = rows.pop("pid").to_numpy()
    if len(persons) and not np.array_equal(persons["pid"].to_numpy(), np.arange(len(persons))):
        # a kommune code outside the 98 would drop persons here (the join with ``km``)
        missing = sorted(set(range(int(persons["pid"].max()) + 1)) - set(persons["pid"]))
        raise ValueError(f"{f['persons']}: kommune_code of person number {missing[0]} is unknown")

    def person_col(col: str, dtype: str | None = None) -> pd.Series | pd.Categorical:
        v = persons[col]
        if dtype == "category":
            cat = pd.Categorical(v)
            return pd.Categorical.from_codes(cat.codes[pid], cat.categories)
        return v.to_numpy(dtype=dtype)[pid]

    ids = pd.Categorical.from_codes(pid, pd.Index(persons["person_id"], dtype="str"))
    df = pd.DataFrame(
        {
            "person_id": pd.Series(ids).cat.remove_unused_categories(),
            "kommune_code": person_col("kommune_code", "int16"),
            "region_code": person_col("region_code", "int16"),
            "k": rows["k"],
            "m": rows["m"],
            "year": (rows["m"] // 12).astype(np.int16),
            "sex": person_col("sex", "category"),
            "education": person_col("education", "category"),
            "living_alone": person_col("living_alone"),
            # the panel's own columns as they are (one constructor: ``df[c] = ...`` copied
            # every column of millions of rows)
            **{c: rows[c] for c in rows.columns.drop(["k", "m"])},
        },
        copy=False,
    )
    del rows
    yield df


_PANELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""The last national panel built per :class:`Prepared` (key: fingerprint, age, window)."""


def rd_panel(
    prep: Prepared,
    scope: Sequence[int] | None = None,
    *,
    age: int = OFFER_AGE,
    window: int = WINDOW,
) -> pd.DataFrame:
    """Person × calendar month around the birthday month of ``age`` (national panel built
    once per :class:`Prepared` and age, then sliced).

    Rows: every month ``k`` in ``[-window, window]`` relative to the birthday month inside
    the data period in which the person is alive at the month's start (for ``scope``, built
    for the area's persons only unless the national panel is already built). Columns:
    ``person_id``, ``kommune_code``, ``region_code``, ``k``, ``m`` (month index), ``year``,
    ``sex``, ``education``, ``living_alone``, ``exposure`` (years alive in the month),
    ``acute``, ``fall_injury``, ``planned`` (courses admitted in the month),
    ``visit_active`` (a preventive visit in the 12 calendar months before the month),
    ``visit_in_month``, ``in_home_care`` (at the month's start), ``home_care_onset``
    (a home-care episode starts in the month and none was active at its start).

    Parameters
    ----------
    prep : Prepared
    scope : sequence of int, optional
        Kommune codes to keep (default all).
    age : int
        The offer age (75; 72 and 73 serve as placebo ages).
    window : int
        Months on each side.
    """
    # kept in memory for the one Prepared (one slot: the national panel of one age), not in
    # the shared memo: only the small results computed from it are shared (see
    # ``shared_work``), and a pickle of millions of person-months per age cost more disk and
    # reading time than building it again in DuckDB
    codes = sorted(int(c) for c in scope) if scope is not None else None
    slot = _PANELS.get(prep)
    if slot is not None and slot[0] == (prep.fingerprint, age, window, None):
        df = slot[1]  # the national panel is at hand: slice it
    else:
        key = (prep.fingerprint, age, window, codes)
        if slot is None or slot[0] != key:
            # let go of the previous panel first: two national panels at once would double
            # the peak memory (placebo ages after the offer age)
            _PANELS.pop(prep, None)
            slot = None
            _PANELS[prep] = slot = (key, _build_panel(prep, age, window, codes))
        return slot[1]
    if codes is not None:
        df = df[df["kommune_code"].isin(codes)].reset_index(drop=True)
        df["person_id"] = df["person_id"].cat.remove_unused_categories()
    return df


def _person_codes(person_id: pd.Series) -> np.ndarray:
    """Person numbers in order of first appearance (``pd.factorize`` of the ids; for the
    panel's categorical ids the factorisation of their integer codes, which is the same)."""
    if isinstance(person_id.dtype, pd.CategoricalDtype):
        ids = person_id.cat.codes.to_numpy()
    else:
        ids = person_id.to_numpy()
    if ids.dtype.kind in "iu" and len(ids) > 1:
        # the panels' rows come ordered by person: then the numbers in order of first
        # appearance are the numbers of the runs of equal ids (a pass over the ids, not a
        # hash table of millions of rows)
        changes = ids[1:] != ids[:-1]
        if (ids[1:] >= ids[:-1]).all():
            codes = np.zeros(len(ids), dtype=np.intp)
            np.cumsum(changes, out=codes[1:])
            return codes
    return pd.factorize(ids if ids.dtype.kind in "iu" else person_id)[0]


def _rates(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Rows at risk for ``outcome`` with its rate per 1,000 person-years: only the columns a
    fit or the bins need (``k``, ``exposure``, the outcome, ``rate``, ``treated``,
    ``cluster``), not a copy of the whole panel."""
    keep = ~panel["in_home_care"].to_numpy(bool) if outcome == "home_care_onset" else None

    def col(c: str, dtype=None) -> np.ndarray:
        v = panel[c].to_numpy(dtype=dtype)
        return v if keep is None else v[keep]

    person = panel["person_id"] if keep is None else panel["person_id"][keep]
    exposure = col("exposure", float)
    events = col(outcome, np.int64)
    rate = np.divide(events, exposure)
    rate *= 1000.0  # in place: one row-length array fewer (the same floats)
    d = pd.DataFrame(
        {
            "k": col("k", np.int64),
            "exposure": exposure,
            outcome: events,
            "rate": rate,
            "treated": col("visit_active", float),
            "cluster": _person_codes(person),
        },
        copy=False,
    )
    return d


def rd_estimates(
    panel: pd.DataFrame,
    outcomes: Sequence[str] = tuple(OUTCOMES),
    *,
    conf: float = 0.95,
    h: float | None = None,
) -> dict[str, RDResult]:
    """Fuzzy RD at the offer age for each outcome (rate per 1,000 person-years).

    Treatment = a visit acts in the month; running variable = ``k`` with cutoff 0.5;
    weights = person-time; standard errors clustered by person (a person contributes up to
    25 months). The headline ``late`` is the change in the compliers' rate per 1,000
    person-years.
    """
    out = {}
    for o in outcomes:
        d = None  # let go of the previous outcome's rows before the next ones are made
        d = _rates(panel, o)
        out[o] = rd(
            d,
            "rate",
            "k",
            CUTOFF,
            treatment="treated",
            cluster="cluster",
            weights="exposure",
            h=h,
            conf=conf,
        )
    return out


def rd_placebos(
    prep: Prepared,
    scope: Sequence[int] | None,
    outcome: str = "acute",
    ages: Sequence[int] = PLACEBO_AGES,
    conf: float = 0.95,
) -> pd.DataFrame:
    """Sharp RD of the outcome rate and of the share visited at placebo birthdays.

    Returns
    -------
    pandas.DataFrame
        One row per age: ``age``, ``jump_visited`` (first-stage jump) with ``lower``/``upper``,
        ``jump_rate`` (reduced form per 1,000 person-years) with ``rate_lower``/``rate_upper``
        and ``rate_p``.
    """
    rows = []
    codes = sorted(int(c) for c in scope) if scope is not None else None
    slot = _PANELS.get(prep)
    held = slot is not None and slot[0][1] in ages  # a national panel of a placebo age
    if outcome in ("acute", "fall_injury") and not held:
        # lean panels of all placebo ages from one persons table and one join of courses
        # and visits (``_panels``): the rows the fits read, nothing else
        _PANELS.pop(prep, None)  # as rd_panel does: never two national panels at once
        panels: Generator[pd.DataFrame, None, None] = _panels(
            prep, tuple(ages), WINDOW, codes, lean=True
        )
    else:
        panels = (rd_panel(prep, scope, age=a) for a in ages)
    for a in ages:
        d = None  # let go of the previous age's rows before its panel is built
        d = _rates(next(panels), outcome)
        if d["treated"].nunique() == 1:  # no visit acts anywhere around this age: no jump
            fs = pd.Series({"estimate": 0.0, "lower": 0.0, "upper": 0.0})
        else:
            fs = rd(d, "treated", "k", CUTOFF, cluster="cluster", conf=conf).main_effect()
        rf = rd(
            d, "rate", "k", CUTOFF, cluster="cluster", weights="exposure", conf=conf
        ).main_effect()
        rows.append(
            {
                "age": a,
                "jump_visited": fs["estimate"],
                "lower": fs["lower"],
                "upper": fs["upper"],
                "jump_rate": rf["estimate"],
                "rate_lower": rf["lower"],
                "rate_upper": rf["upper"],
                "rate_p": rf["p_value"],
            }
        )
    panels.close()  # the lean panels' DuckDB connection
    return pd.DataFrame(rows)


def density_check(prep: Prepared, scope: Sequence[int] | None, age: int = OFFER_AGE):
    """``rddensity`` test on exact age (days from the birthday) of the residents aged
    ``age`` ± 2 on 1 January of each year: are there as many just above as just below?"""
    lo_year, hi_year = prep.period
    p = prep.table("persons", ["kommune_code", "birth_date", "death_date"])
    if scope is not None:
        p = p[p["kommune_code"].isin(list(scope))]
    xs = []
    birth = pd.to_datetime(p["birth_date"]).to_numpy()
    death = pd.to_datetime(p["death_date"]).to_numpy()
    day = np.timedelta64(1, "D")
    # only the persons who can be within 2 years of ``age`` on a 1 January of the period
    # (a superset, in file order; the test below is the exact one): numpy on a few percent
    # of the persons instead of pandas datetime operations on all of them for every year
    first = np.datetime64(f"{lo_year}-01-01").astype(birth.dtype)
    last = np.datetime64(f"{hi_year}-01-01").astype(birth.dtype)
    near = (birth > first - (age + 3) * 366 * day) & (birth < last - (age - 3) * 365 * day)
    birth, death = birth[near], death[near]
    dead = ~np.isnat(death)
    for y in range(lo_year, hi_year + 1):
        ref = np.datetime64(f"{y}-01-01").astype(birth.dtype)
        alive = (birth < ref) & (~dead | (death > ref))
        # whole days as ``Series.dt.days`` (floor), in years from ``age``
        x = ((ref - birth[alive]) // day) / 365.25 - age
        xs.append(x[(x > -2) & (x < 2)])
    x = np.concatenate(xs)
    return rd_density(x * 365.25, 0.0)


def rd_summary(results: dict[str, RDResult]) -> pd.DataFrame:
    """One row per outcome: first stage, reduced form, LATE with robust CI, bandwidth, MDE."""
    rows = []
    for o, r in results.items():
        t = r.table().set_index("term")
        rows.append(
            {
                "outcome": o,
                "label": OUTCOMES.get(o, o),
                "first_stage": t.loc["first_stage", "estimate"],
                "reduced_form": t.loc["reduced_form", "estimate"],
                "late": t.loc["late", "estimate"],
                "lower": t.loc["late", "lower"],
                "upper": t.loc["late", "upper"],
                "p_value": t.loc["late", "p_value"],
                "bandwidth": r.bandwidth,
                "mde": r.mde,
                "n_rows": int(t.loc["late", "n_left"] + t.loc["late", "n_right"]),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# accepted vs declined among the offered: a sequence of target trials
# --------------------------------------------------------------------------------------
COHORT_COVARIATES = (
    "sex",
    "education",
    "living_alone",
    "in_home_care",
    "prior_acute_capped",
    "year",
)


def offer_cohort(panel: pd.DataFrame) -> pd.DataFrame:
    """The citizens offered a visit at 75 (alive at the start of the birthday month, with
    the whole following year in the data): one row per person.

    Time zero is the first month after the birthday month (when an accepted visit acts).
    Treatment ``accepted`` = a preventive visit in the birthday month. Outcomes in the 12
    months from time zero: ``acute_12m``, ``fall_injury_12m``, ``home_care_12m`` (entry,
    among those not in home care at time zero: missing otherwise) and the negative control
    ``planned_12m`` (planned admissions, which a visit cannot prevent). Covariates at time
    zero: sex, education, living alone, home care, acute admissions in the 12 months before
    the birthday month (capped at 3), calendar year.
    """
    p = panel
    key = p["person_id"]
    names = None
    if isinstance(key.dtype, pd.CategoricalDtype):  # the panel's ids: work on their codes
        names, key = key.cat.categories, key.cat.codes
    k = p["k"].to_numpy()

    def rows(mask: np.ndarray, cols: list[str]) -> pd.DataFrame:
        # only the columns needed, indexed by person (not a copy of the whole panel)
        return p.loc[mask, cols].set_axis(pd.Index(key[mask].to_numpy(), name="person_id"))

    base = rows(
        k == 0,
        ["m", "kommune_code", "region_code", "sex", "education", "living_alone", "year"]
        + ["visit_in_month"],
    )
    t0 = rows(k == 1, ["in_home_care", "visit_active"])
    after = (k >= 1) & (k <= 12)
    full = rows(after, ["k"]).groupby(level=0)["k"].nunique()
    alive_end = rows(k == 12, ["k"])
    post = rows(after, ["acute", "fall_injury", "planned"]).astype(np.int64)
    post = post.groupby(level=0).sum()
    hc = rows(after, ["home_care_onset"]).groupby(level=0)["home_care_onset"].max()
    pre = rows((k >= -12) & (k <= -1), ["acute"]).astype(np.int64)
    pre = pre.groupby(level=0)["acute"].sum()
    ids = base.index.intersection(t0.index)
    # follow-up: the 12 months are inside the data (deaths inside the year are kept: the
    # outcome is then counted until death)
    last_m = p["m"].max()
    ids = ids[(base.loc[ids, "m"] + 12) <= last_m]
    df = pd.DataFrame(index=ids)
    df["kommune_code"] = base.loc[ids, "kommune_code"].astype(np.int64)
    df["region_code"] = base.loc[ids, "region_code"].astype(np.int64)
    for c in ("sex", "education"):
        v = base.loc[ids, c]
        df[c] = v.astype("str") if isinstance(v.dtype, pd.CategoricalDtype) else v
    df["living_alone"] = base.loc[ids, "living_alone"].astype(bool)
    df["year"] = base.loc[ids, "year"].astype(int)
    df["in_home_care"] = t0.loc[ids, "in_home_care"].astype(bool)
    df["prior_acute_capped"] = pre.reindex(ids).fillna(0).clip(upper=3).astype(int)
    df["accepted"] = base.loc[ids, "visit_in_month"].astype(bool)
    df["already_visited"] = t0.loc[ids, "visit_active"].astype(bool) & ~df["accepted"]
    df["died_in_year"] = ~df.index.isin(alive_end.index) | (full.reindex(ids).fillna(0) < 12)
    df["acute_12m"] = post.reindex(ids)["acute"].fillna(0).gt(0)
    df["fall_injury_12m"] = post.reindex(ids)["fall_injury"].fillna(0).gt(0)
    df["planned_12m"] = post.reindex(ids)["planned"].fillna(0).gt(0)
    df["home_care_12m"] = hc.reindex(ids).fillna(0).gt(0).astype(float)
    df.loc[df["in_home_care"], "home_care_12m"] = np.nan  # not at risk of entry
    if names is not None:
        df.index = pd.Index(names[df.index.to_numpy()], dtype="str", name="person_id")
    return df.reset_index()


def accepted_vs_declined(
    cohort: pd.DataFrame, outcome: str = "acute_12m", *, conf: float = 0.95
) -> stats.EffectResult:
    """IPTW (ATE) risk ratio of accepting vs declining the offer at 75, with the naive
    ratio, on :data:`COHORT_COVARIATES` (citizens already under a need-based visit left
    out; for home care those already in home care at time zero)."""
    d = cohort[~cohort["already_visited"]].dropna(subset=[outcome]).copy()
    d[outcome] = d[outcome].astype(bool)
    d["year"] = d["year"].astype(str)  # calendar year as categories: one trial per year
    covs = [c for c in COHORT_COVARIATES if d[c].nunique() > 1]  # home care: all 0 for entry
    return stats.cohort_effect(
        d, "accepted", outcome, covs, method="iptw", estimand="ATE", conf=conf
    )


# --------------------------------------------------------------------------------------
# kommune picture
# --------------------------------------------------------------------------------------
def kommune_uptake(cohort: pd.DataFrame) -> pd.DataFrame:
    """Per kommune: offered at 75, accepted, share, and acute admissions in the year after
    (share with at least one) — for the funnel plot and the kommune comparison."""
    g = cohort.groupby("kommune_code")
    out = pd.DataFrame(
        {
            "offered": g.size(),
            "accepted": g["accepted"].sum().astype(int),
            "admitted": g["acute_12m"].sum().astype(int),
        }
    ).reset_index()
    out["share_accepted"] = out["accepted"] / out["offered"]
    out["share_admitted"] = out["admitted"] / out["offered"]
    km = kommuner()[["kommune_code", "kommune_name", "region_code"]]
    return out.merge(km, on="kommune_code", how="left")


# --------------------------------------------------------------------------------------
# cached entry points for the notebook (the RD pools many kommuner: a batch fits it once)
#
# Everything a report needs is a small result computed once per data fingerprint and area
# (``Prepared.memo`` in the batch's shared directory): the national panel (millions of
# person-months at full scale) is built and read only while one of these is missing, so
# the 2nd … 98th kommune of a batch read a few kilobytes instead of the panel.
# --------------------------------------------------------------------------------------
def _scope_key(scope: Sequence[int] | None) -> list[int] | str:
    return sorted(int(c) for c in scope) if scope is not None else "land"


def rd_for_scope(
    prep: Prepared, scope: Sequence[int] | None, *, conf: float = 0.95
) -> dict[str, RDResult]:
    """:func:`rd_estimates` on the area's panel, computed once per data set and area."""
    return prep.memo(
        "preventive_rd",
        lambda: rd_estimates(rd_panel(prep, scope), conf=conf),
        scope=_scope_key(scope),
        conf=conf,
    )


def placebos_for_scope(
    prep: Prepared, scope: Sequence[int] | None, *, conf: float = 0.95
) -> pd.DataFrame:
    """:func:`rd_placebos` (acute admissions), computed once per data set and area."""
    return prep.memo(
        "preventive_placebo",
        lambda: rd_placebos(prep, scope, conf=conf),
        scope=_scope_key(scope),
        conf=conf,
    )


def bins_for_scope(
    prep: Prepared, scope: Sequence[int] | None, outcome: str = "acute"
) -> pd.DataFrame:
    """:func:`bins_table` of the area's panel (25 rows), computed once per data set and area."""
    return prep.memo(
        "preventive_bins",
        lambda: bins_table(rd_panel(prep, scope), outcome),
        scope=_scope_key(scope),
        outcome=outcome,
    )


def density_for_scope(prep: Prepared, scope: Sequence[int] | None) -> pd.DataFrame:
    """:func:`density_check` at the offer age, computed once per data set and area."""
    return prep.memo(
        "preventive_density", lambda: density_check(prep, scope), scope=_scope_key(scope)
    )


def national_offer_cohort(prep: Prepared) -> pd.DataFrame:
    """:func:`offer_cohort` of the national panel, computed once per data set."""
    return prep.memo("preventive_offer_cohort", lambda: offer_cohort(rd_panel(prep)))


def uptake_all(prep: Prepared) -> pd.DataFrame:
    """:func:`kommune_uptake` of all kommuner (98 rows), computed once per data set."""
    return prep.memo("preventive_uptake", lambda: kommune_uptake(national_offer_cohort(prep)))


def cohort_for_scope(prep: Prepared, scope: Sequence[int] | None) -> pd.DataFrame:
    """The offer cohort of the area (rows of :func:`national_offer_cohort`)."""
    cohort = national_offer_cohort(prep)
    if scope is None:
        return cohort
    return cohort[cohort["kommune_code"].isin([int(c) for c in scope])]


def accepted_vs_declined_for_scope(
    prep: Prepared, scope: Sequence[int] | None, outcome: str, *, conf: float = 0.95
) -> stats.EffectResult:
    """:func:`accepted_vs_declined` on the area's offer cohort, once per data set and area."""
    return prep.memo(
        "preventive_avd",
        lambda: accepted_vs_declined(cohort_for_scope(prep, scope), outcome, conf=conf),
        scope=_scope_key(scope),
        outcome=outcome,
        conf=conf,
    )


def offer_age_work(
    prep: Prepared,
    scope: Sequence[int] | None = None,
    *,
    conf: float = 0.95,
    panel_lock: AbstractContextManager | None = None,
) -> None:
    """The cached results of study 8 that come from the panel at the offer age: uptake,
    RD fits, bins, accepted-vs-declined IPTW (one piece of :func:`shared_work`; the placebo
    ages and the density test do not need this panel).

    ``panel_lock`` (optional) is held while the national panel is in memory (uptake, RD
    fits, bins), not during the IPTW, which reads the small memoised offer cohort.
    """
    with panel_lock if panel_lock is not None else nullcontext():
        uptake_all(prep)
        rd_for_scope(prep, scope, conf=conf)
        bins_for_scope(prep, scope, "acute")
        _PANELS.pop(prep, None)  # its results are in the memo: the panel is not needed now
    for outcome in ("acute_12m", "planned_12m"):
        accepted_vs_declined_for_scope(prep, scope, outcome, conf=conf)


def shared_work(prep: Prepared, scope: Sequence[int] | None = None, *, conf: float = 0.95) -> None:
    """Compute every cached result of study 8 for ``scope`` (default the whole country) —
    what a batch can do once before the reports of its kommuner read them. Three
    independent pieces (:mod:`nsv_eval.analyses.shared` runs them in parallel processes):
    :func:`offer_age_work`, :func:`density_for_scope`, :func:`placebos_for_scope`."""
    offer_age_work(prep, scope, conf=conf)
    density_for_scope(prep, scope)
    placebos_for_scope(prep, scope, conf=conf)


# --------------------------------------------------------------------------------------
# figure and verdict
# --------------------------------------------------------------------------------------
def bins_table(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Per month ``k``: person-years, events, rate per 1,000 person-years, share visited
    (rows at risk for ``outcome``)."""
    d = _rates(panel, outcome)
    g = d.groupby("k").agg(
        person_years=("exposure", "sum"),
        events=(outcome, "sum"),
        rows=("k", "size"),
        visited=("treated", "mean"),
    )
    g["rate"] = g["events"] / g["person_years"] * 1000.0
    return g.reset_index()
