"""The baseline: the same preparation written the way a typical analyst writes it in pandas.

Read the raw Parquet extracts with pandas, sort, chain contacts with ``groupby`` +
``cummax``/``shift``, flag readmissions with ``merge_asof`` (next acute admission after
each discharge), expand persons to person-months (in chunks of persons so that it fits in
memory) for population and person-time, count events with ``groupby``, and outer-merge it
all into the monthly cube with the definitions of ``nsv_eval.clean`` (module docstrings of
``courses``, ``flags`` and ``cube``).

Honest, not heroic: vectorised pandas/numpy throughout (no Python loops over rows), but no
difference arrays or other tricks a typical analyst would not reach for. The diagnosis flags
use ``nsv_eval.reference`` on the distinct codes and ``map`` them (a common idiom).

Usage::

    .venv/bin/python bench/baseline_pandas.py RAW_DIR OUT.parquet [--chunk 200000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nsv_eval import reference
from nsv_eval.definitions import codelists

AGE_BANDS = np.asarray(reference.AGE_BANDS, dtype=object)
EVENTS = [
    "deaths",
    "admissions_acute",
    "admissions_short",
    "preventable",
    "fall_injury",
    "hip_fracture",
    "copd_acute",
    "diabetes_acute",
    "heart_failure_acute",
    "readmit_index",
    "readmit_30d",
    "falls_registered",
    "home_care",
]
STRATA = ["kommune_code", "sex", "education", "bi", "k"]


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of a datetime64[D] array."""
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y).astype(np.int64) + 1
    day = (d - m).astype(np.int64) + 1
    return year, month, day


def age_at(b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Whole years at ``t`` of persons born ``b`` (datetime64[D]); 29 Feb ages on 1 March."""
    yb, mb, db = _ymd(b)
    yt, mt, dt = _ymd(t)
    return yt - yb - ((mt < mb) | ((mt == mb) & (dt < db))).astype(np.int64)


def birthday(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The date a person born ``b`` turns ``a`` (29 February → 1 March in common years)."""
    yb, mb, db = _ymd(b)
    y = yb + a
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    feb29 = (mb == 2) & (db == 29) & ~leap
    mb = np.where(feb29, 3, mb)
    db = np.where(feb29, 1, db)
    return pd.to_datetime(pd.DataFrame({"year": y, "month": mb, "day": db})).to_numpy(
        "datetime64[D]"
    )


def band_idx(age: np.ndarray) -> np.ndarray:
    """ESP2013 band index (0 = "0-4" … 19 = "95+")."""
    return np.minimum(age // 5, 19)


def _days(s: pd.Series) -> np.ndarray:
    return pd.to_datetime(s).to_numpy("datetime64[D]")


def chain(contacts: pd.DataFrame) -> pd.DataFrame:
    """Contacts → courses (4-hour rule on the running maximum discharge)."""
    c = contacts.sort_values(["person_id", "admit_time", "contact_id"], ignore_index=True)
    runmax = c.groupby("person_id", sort=False)["discharge_time"].cummax()
    prev = runmax.groupby(c["person_id"], sort=False).shift(1)
    new = prev.isna() | (c["admit_time"] > prev + pd.Timedelta(hours=4))
    course = new.cumsum()
    # the first contact of a course gives its admission, acute and diagnosis
    first = c.loc[new.to_numpy(bool), ["person_id", "admit_time", "acute", "diagnosis"]]
    first.index = course[new].to_numpy()
    first["discharge_time"] = c["discharge_time"].groupby(course.to_numpy()).max()
    return first.reset_index(drop=True)


def flag(courses: pd.DataFrame, persons: pd.DataFrame, p0, p1) -> pd.DataFrame:
    """Courses + person attributes + outcome flags and the 30-day readmission flags."""
    c = courses.merge(persons, on="person_id", how="inner")
    admit_d = _days(c["admit_time"])
    dis_d = _days(c["discharge_time"])
    birth = _days(c["birth_date"])
    age = age_at(birth, admit_d)
    c["bi"] = band_idx(age)
    death = pd.to_datetime(c["death_date"])
    died = (death <= pd.to_datetime(dis_d)).fillna(False).to_numpy(bool)
    codes = pd.Series(c["diagnosis"].dropna().unique(), dtype="string")
    dx = pd.DataFrame({"medical": codelists.is_medical(codes).to_numpy(bool)}, index=codes)
    for col in ["preventable", "fall_injury", "hip_fracture", "copd", "diabetes", "heart_failure"]:
        dx[col] = codelists.ICD10[col].matches(codes).to_numpy(bool)
    d = dx.reindex(c["diagnosis"].astype("string")).fillna(False).astype(bool).to_numpy()
    medical, prev, fall, hip, copd, diab, hf = d.T
    acute = c["acute"].to_numpy(bool)
    los_h = (c["discharge_time"] - c["admit_time"]).dt.total_seconds().to_numpy() / 3600
    c["admissions_acute"] = acute
    c["admissions_short"] = acute & (los_h < 24)
    c["preventable"] = acute & (age >= 65) & prev
    c["fall_injury"] = acute & fall
    c["hip_fracture"] = acute & hip
    c["copd_acute"] = acute & copd
    c["diabetes_acute"] = acute & diab
    c["heart_failure_acute"] = acute & hf
    end_idx = np.datetime64(p1, "D") - np.timedelta64(31, "D")
    c["readmit_index"] = (
        acute
        & medical
        & (age >= 65)
        & ~died
        & (dis_d >= np.datetime64(p0, "D"))
        & (dis_d <= end_idx)
    )
    # readmission: the next acute admission after the index discharge, within 30 days
    idx = c.loc[c["readmit_index"], ["person_id", "discharge_time"]].reset_index()
    acu = c.loc[acute, ["person_id", "admit_time"]].rename(columns={"admit_time": "next_admit"})
    nxt = pd.merge_asof(
        idx.sort_values("discharge_time"),
        acu.sort_values("next_admit"),
        left_on="discharge_time",
        right_on="next_admit",
        by="person_id",
        direction="forward",
        allow_exact_matches=False,
    ).set_index("index")
    r30 = nxt["next_admit"] <= nxt["discharge_time"] + pd.Timedelta(days=30)
    c["readmit_30d"] = False
    c.loc[r30.index[r30.to_numpy(bool)], "readmit_30d"] = True
    return c


def person_months(persons: pd.DataFrame, p0, p1, chunk: int) -> pd.DataFrame:
    """Population on the 1st and days alive per stratum × age band × month (expansion)."""
    months = pd.date_range(p0, p1, freq="MS").to_numpy("datetime64[D]")  # n+1 boundaries
    n = len(months) - 1
    out = []
    for start in range(0, len(persons), chunk):
        p = persons.iloc[start : start + chunk]
        b = _days(p["birth_date"])
        lo = np.maximum(b, months[0])
        death = pd.to_datetime(p["death_date"]).to_numpy("datetime64[D]")
        hi = np.minimum(np.where(np.isnat(death), months[-1], death), months[-1])
        keep = lo < hi
        p, b, lo, hi = p[keep], b[keep], lo[keep], hi[keep]
        k0 = np.searchsorted(months, lo, side="right") - 1  # month containing lo
        k1 = np.searchsorted(months, hi, side="left")  # months with ms < hi
        reps = k1 - k0
        row = np.repeat(np.arange(len(p)), reps)
        k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps) + np.repeat(k0, reps)
        s = np.maximum(lo[row], months[k])
        e = np.minimum(hi[row], months[k + 1])
        bb = b[row]
        bi = band_idx(age_at(bb, s))
        chg = birthday(bb, 5 * (bi + 1))  # next change of age band
        split = (bi < 19) & (chg < e)
        pop = (s == months[k]).astype(np.int64)  # alive on the 1st (band on the 1st)
        days1 = (np.where(split, chg, e) - s).astype(np.int64)
        attrs = p[["kommune_code", "sex", "education"]].iloc[row].reset_index(drop=True)
        a = attrs.assign(bi=bi, k=k, population=pop, days=days1)
        bsplit = attrs[split].assign(
            bi=bi[split] + 1,
            k=k[split],
            population=0,
            days=(e[split] - chg[split]).astype(np.int64),
        )
        pm = pd.concat([a, bsplit], ignore_index=True)
        out.append(pm.groupby(STRATA, as_index=False)[["population", "days"]].sum())
        del pm, a, bsplit, attrs
    pt = pd.concat(out, ignore_index=True).groupby(STRATA, as_index=False).sum()
    pt = pt[(pt["population"] > 0) | (pt["days"] > 0)]
    return pt[pt["k"] < n]


def _k(d: np.ndarray, p0) -> np.ndarray:
    y, m, _ = _ymd(d)
    return (y - p0.year) * 12 + m - p0.month


def events(c, persons, falls, care, p0, p1) -> pd.DataFrame:
    """Event counts per stratum × age band × month."""
    p0d, p1d = np.datetime64(p0, "D"), np.datetime64(p1, "D")
    parts = []
    death = pd.to_datetime(persons["death_date"]).to_numpy("datetime64[D]")
    dead = ~np.isnat(death) & (death >= p0d) & (death < p1d)
    d = persons[dead]
    dd = death[dead]
    parts.append(
        d[["kommune_code", "sex", "education"]].assign(
            bi=band_idx(age_at(_days(d["birth_date"]), dd)), k=_k(dd, p0), deaths=1
        )
    )
    admit = _days(c["admit_time"])
    inp = c[(admit >= p0d) & (admit < p1d)]
    cols = EVENTS[1:9]
    parts.append(
        inp[["kommune_code", "sex", "education", "bi", *cols]]
        .assign(k=_k(_days(inp["admit_time"]), p0))
        .astype({x: "int64" for x in cols})
    )
    ix = c[c["readmit_index"]]
    parts.append(
        ix[["kommune_code", "sex", "education", "bi"]].assign(
            k=_k(_days(ix["discharge_time"]), p0),
            readmit_index=1,
            readmit_30d=ix["readmit_30d"].astype("int64"),
        )
    )
    f = falls.dropna(subset=["fall_date"]).merge(persons, on="person_id")
    fd = _days(f["fall_date"])
    f = f[(fd >= p0d) & (fd < p1d)]
    fd = _days(f["fall_date"])
    parts.append(
        f[["kommune_code", "sex", "education"]].assign(
            bi=band_idx(age_at(_days(f["birth_date"]), fd)), k=_k(fd, p0), falls_registered=1
        )
    )
    # home care on the 1st of each month: expand episodes to the months they cover
    hc = care[(care["service"] == "home_care") & care["start_date"].notna()]
    months = pd.date_range(p0, p1, freq="MS").to_numpy("datetime64[D]")[:-1]
    sd = _days(hc["start_date"])
    ed = pd.to_datetime(hc["end_date"]).to_numpy("datetime64[D]")
    k0 = np.searchsorted(months, sd, side="left")  # first 1st on/after start
    k1 = np.where(np.isnat(ed), len(months), np.searchsorted(months, ed, side="right"))
    reps = np.maximum(k1 - k0, 0)
    row = np.repeat(np.arange(len(hc)), reps)
    k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps) + np.repeat(k0, reps)
    hm = pd.DataFrame({"person_id": hc["person_id"].to_numpy()[row], "k": k}).drop_duplicates()
    hm = hm.merge(persons, on="person_id")
    ms = months[hm["k"].to_numpy()]
    hd = pd.to_datetime(hm["death_date"]).to_numpy("datetime64[D]")
    bd = _days(hm["birth_date"])
    alive = (bd <= ms) & (np.isnat(hd) | (hd > ms))
    hm = hm[alive]
    parts.append(
        hm[["kommune_code", "sex", "education", "k"]].assign(
            bi=band_idx(age_at(bd[alive], ms[alive])), home_care=1
        )
    )
    ev = pd.concat(parts, ignore_index=True)
    ev[EVENTS] = ev[EVENTS].fillna(0).astype("int64")
    return ev.groupby(STRATA, as_index=False)[EVENTS].sum()


def baseline_cube(raw_dir: str | Path, out_path: str | Path, *, chunk: int = 200_000) -> dict:
    """Compute the monthly cube from ``raw_dir`` with pandas into ``out_path``."""
    t0 = time.perf_counter()
    raw = Path(raw_dir)
    persons = pd.read_parquet(raw / "persons.parquet")
    persons["education"] = persons["education"].fillna("ukendt")
    persons["birth_date"] = pd.to_datetime(persons["birth_date"])
    contacts = pd.read_parquet(raw / "contacts.parquet")
    falls = pd.read_parquet(raw / "falls.parquet")
    care = pd.read_parquet(raw / "care.parquet")
    courses = chain(contacts)
    del contacts
    p0 = courses["admit_time"].min().normalize().replace(day=1).date()
    p1 = (courses["admit_time"].max().normalize() + pd.offsets.MonthBegin(1)).date()
    persons = persons[["person_id", "kommune_code", "sex", "education", "birth_date", "death_date"]]
    c = flag(courses, persons, p0, p1)
    del courses
    ev = events(c, persons, falls, care, p0, p1)
    del c
    pt = person_months(persons, p0, p1, chunk)
    cube = pt.merge(ev, on=STRATA, how="outer")
    cube[["population", "days", *EVENTS]] = (
        cube[["population", "days", *EVENTS]].fillna(0).astype("int64")
    )
    ms = pd.date_range(p0, p1, freq="MS")[:-1]
    cube["year"] = ms.year.to_numpy()[cube["k"].to_numpy()]
    cube["month"] = ms.month.to_numpy()[cube["k"].to_numpy()]
    cube["age_band"] = AGE_BANDS[cube["bi"].to_numpy()]
    cube["person_years"] = cube["days"] / 365.25
    cube = cube.sort_values(["kommune_code", "year", "month", "bi", "sex", "education"])
    cols = ["kommune_code", "year", "month", "age_band", "sex", "education"]
    cols += ["population", "person_years", *EVENTS]
    table = pa.Table.from_pandas(cube[cols], preserve_index=False)
    schema = pa.schema(
        [
            ("kommune_code", pa.int16()),
            ("year", pa.int16()),
            ("month", pa.int8()),
            ("age_band", pa.string()),
            ("sex", pa.string()),
            ("education", pa.string()),
            ("population", pa.int64()),
            ("person_years", pa.float64()),
            *[(e, pa.int64()) for e in EVENTS],
        ]
    )
    pq.write_table(table.cast(schema), out_path, compression="zstd")
    return {"rows": len(cube), "period": (str(p0), str(p1)), "seconds": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``baseline_pandas.py RAW_DIR OUT.parquet``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir")
    ap.add_argument("out")
    ap.add_argument("--chunk", type=int, default=200_000)
    a = ap.parse_args(argv)
    print(baseline_cube(a.raw_dir, a.out, chunk=a.chunk))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
