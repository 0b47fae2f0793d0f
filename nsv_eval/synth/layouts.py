"""The synthetic hospital contacts written in the patient register's own layouts.

``nsv-eval synth --layout lpr3|lpr2`` writes the generator's internal contacts (one per ward
stay; transfers are back-to-back contacts) as the register would hold them, so the synthetic
data go through exactly the path a real extract takes (``prepare --format lpr3``):

``lpr3`` → ``kontakter.parquet`` + ``diagnoser.parquet`` (columns of
    :data:`nsv_eval.ingest.layouts.LAYOUTS` ``['lpr3']``): ``PNR`` (the synthetic person id,
    a pseudonym as on Danmarks Statistik's research servers: prepare with
    ``--pseudonymised-key PNR``), ``dato_start``/``tidspunkt_start``/``dato_slut``/
    ``tidspunkt_slut`` (date and ``HH:MM:SS`` text), ``kontakttype`` ``ALCA00`` (physical) or
    ``ALCA03`` (virtual), ``prioritet`` ``ATA1``/``ATA3``, ``aktionsdiagnose``,
    ``kontaktaarsag`` (``ALCC02`` ulykke for injuries, ``ALCC01`` sygdom otherwise),
    ``SORENHED_ANS``, ``hovedspeciale_ans``; diagnoser with the action diagnosis (type A) and
    a secondary diagnosis (type B) on some contacts.
``lpr2`` → ``lpr_adm.parquet`` + ``lpr_diag.parquet``: ``PNR``, ``RECNUM``, ``D_INDDTO`` +
    ``V_INDTIME`` + ``V_INDMINUT``, ``D_UDDTO`` + ``V_UDTIME`` (whole hours, as LPR2),
    ``C_PATTYPE`` (0 indlagt, 1 ambulant, 2 skadestue), ``C_INDM`` (1 akut, 2 planlagt),
    ``C_ADIAG``, ``C_KONTAARS`` (1 sygdom, 2 ulykke), ``C_SPEC``, ``C_SGH``.

What is added to the internal contacts, and why the stays stay the same:

* **Emergency-room contacts**: the first contact of every acute stay is split into an ER
  contact (the first 1–4 h, at most a third of the stay) and the ward contact that follows
  it 0–60 min later (≤ 4 h: one stay). Half of the ER contacts carry an observation code
  (``DZ039`` observation for suspected disease; ``DZ048`` after an accident) instead of the
  diagnosis. The stay's start, end and action diagnosis are those of the internal contact.
* **Out-patient visits**: planned ``ALCA00`` visits of 30–90 minutes on days without any other
  contact of the person (at least 2 days away), and a few virtual contacts (``ALCA03``): they
  form stays shorter than 12 h, so the admissions do not change. (LPR2: one out-patient
  contact spanning 1–6 months, dates only, which stays leave out.)
* **Contact causes** for injuries (ICD-10 chapter S/T action diagnoses): ``ALCC02`` ulykke.

LPR3 has no patient type: a stay of less than 12 hours is not an admission
(:mod:`nsv_eval.clean.stays`), so internal contacts shorter than 12 h are not admissions in
the LPR3 layout — which is how the real register behaves since 2019.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

LAYOUTS: tuple[str, ...] = ("nsv", "lpr3", "lpr2")

OUTPATIENT_VISITS_PER_CONTACT = 0.6
"""Out-patient visits added per internal contact (on average)."""
VIRTUAL_SHARE = 0.1
"""Share of the added visits that are virtual (LPR3 ALCA03)."""
ER_OBSERVATION_SHARE = 0.5
"""Share of emergency-room contacts coded as observation (DZ039/DZ048)."""

_OPTS = dict(compression="zstd", compression_level=3, version="2.6")

LPR3_KONTAKTER = pa.schema(
    [
        ("DW_EK_KONTAKT", pa.string()),
        ("DW_EK_FORLOEB", pa.string()),
        ("PNR", pa.string()),
        ("dato_start", pa.date32()),
        ("tidspunkt_start", pa.string()),
        ("dato_slut", pa.date32()),
        ("tidspunkt_slut", pa.string()),
        ("kontakttype", pa.string()),
        ("prioritet", pa.string()),
        ("aktionsdiagnose", pa.string()),
        ("kontaktaarsag", pa.string()),
        ("SORENHED_ANS", pa.string()),
        ("hovedspeciale_ans", pa.string()),
    ]
)
LPR3_DIAGNOSER = pa.schema(
    [
        ("DW_EK_KONTAKT", pa.string()),
        ("diagnosekode", pa.string()),
        ("diagnosetype", pa.string()),
        ("senere_afkraeftet", pa.string()),
    ]
)
LPR2_ADM = pa.schema(
    [
        ("PNR", pa.string()),
        ("RECNUM", pa.string()),
        ("D_INDDTO", pa.date32()),
        ("V_INDTIME", pa.int32()),
        ("V_INDMINUT", pa.int32()),
        ("D_UDDTO", pa.date32()),
        ("V_UDTIME", pa.int32()),
        ("C_PATTYPE", pa.string()),
        ("C_INDM", pa.string()),
        ("C_ADIAG", pa.string()),
        ("C_KONTAARS", pa.string()),
        ("C_SPEC", pa.string()),
        ("C_SGH", pa.string()),
    ]
)
LPR2_DIAG = pa.schema(
    [("RECNUM", pa.string()), ("C_DIAG", pa.string()), ("C_DIAGTYPE", pa.string())]
)

_GAP = 4 * 3600  # seconds: contacts this close are one stay


class LprWriter:
    """Writes the internal contacts of each slice in an LPR layout (one row group a slice)."""

    def __init__(self, layout: str, out: Path, seed: int) -> None:
        self.layout, self.out, self.seed = layout, Path(out), seed
        if layout == "lpr3":
            names = {
                "contacts": ("kontakter", LPR3_KONTAKTER),
                "diagnoses": ("diagnoser", LPR3_DIAGNOSER),
            }
        else:
            names = {"contacts": ("lpr_adm", LPR2_ADM), "diagnoses": ("lpr_diag", LPR2_DIAG)}
        for stale in ("contacts", "kontakter", "diagnoser", "lpr_adm", "lpr_diag"):
            (self.out / f"{stale}.parquet").unlink(missing_ok=True)
        self.files = {k: f"{n}.parquet" for k, (n, _s) in names.items()}
        self.schemas = {k: s for k, (_n, s) in names.items()}
        self.w = {
            k: pq.ParquetWriter(self.out / f"{n}.parquet", s, **_OPTS)
            for k, (n, s) in names.items()
        }
        self.next_id = 1
        self.counts = {"contacts": 0, "er_contacts": 0, "observation_coded": 0,
                       "outpatient": 0, "virtual": 0, "diagnoses": 0}  # fmt: skip

    # ------------------------------------------------------------------------------------
    def write(
        self,
        tidy: dict[str, Any],
        admit_day: np.ndarray,
        discharge_day: np.ndarray,
        dates: Any,
        *,
        rng_key: int,
        group: int,
        persons: dict[str, np.ndarray] | None = None,
        end_day: float | None = None,
    ) -> None:
        """Translate one slice of internal contacts (the tidy columns) and append it.

        ``persons`` (``person_id``, ``birth``, ``death`` in days, ``edu``) of the slice and
        the period's ``end_day`` add the chronic-disease control visits
        (:func:`chronic_visits`, own random stream: the other contacts do not change).
        """
        rng = np.random.default_rng([self.seed, 7, group, rng_key])
        epoch = dates.epoch_days * 86400
        a = np.round(np.asarray(admit_day, float) * 86400).astype(np.int64) + epoch
        d = np.round(np.asarray(discharge_day, float) * 86400).astype(np.int64) + epoch
        person = np.asarray(tidy["person_id"], dtype=object)
        acute = np.asarray(tidy["acute"], dtype=bool)
        diag = np.asarray(tidy["diagnosis"], dtype=object)
        hosp = np.asarray(tidy["hospital"], dtype=object)
        n = len(a)
        if n == 0:
            return
        chronic = None
        if persons is not None and end_day is not None:
            crng = np.random.default_rng([self.seed, 11, group, rng_key])
            chronic = chronic_visits(persons, end_day, crng)
            cs = chronic["start"] + dates.epoch_days * 86400
            ce = chronic["end"] + dates.epoch_days * 86400
            ok = _clear_of(person, a, d, chronic["person"], cs, ce)
            chronic = {"person": chronic["person"][ok], "start": cs[ok], "end": ce[ok],
                       "code": chronic["code"][ok]}  # fmt: skip
        # first contact of a stay: no earlier contact of the person within 4 h (the input is
        # ordered by person, then admission)
        same = np.r_[False, person[1:] == person[:-1]]
        run_max = _running_max_by_person(d, same)
        prev_max = np.r_[np.iinfo(np.int64).min, run_max[:-1]]
        first = ~same | (a > prev_max + _GAP)
        prefix = pd.Series(diag, dtype="object").astype(str)
        injury = prefix.str[:2].isin(["DS", "DT"]).to_numpy()
        # --- ER split of the first contact of acute stays
        los = d - a
        split = first & acute & (los >= 3 * 3600)
        er_len = np.minimum(np.round(rng.uniform(1, 4, n) * 3600), np.floor(los / 3)).astype(
            np.int64
        )
        wait = np.minimum(np.round(rng.uniform(0, 60, n)) * 60, np.maximum(los - er_len - 3600, 0))
        wait = wait.astype(np.int64)
        already = prefix.str[:4].isin(["DZ03", "DZ04"]).to_numpy()
        # an internal observation diagnosis stays as it is (the ER has nothing to add)
        obs = split & (rng.random(n) < ER_OBSERVATION_SHARE) & ~already
        er_code = np.where(injury, "DZ048", "DZ039")
        rows: dict[str, list] = {k: [] for k in ("start", "end", "person", "acute", "diag", "cause",
                                                 "hosp", "type", "kind", "stay")}  # fmt: skip
        stay = np.cumsum(first)

        def add(mask, start, end, dg, typ, kind):
            idx = np.flatnonzero(mask)
            rows["start"].append(start[idx])
            rows["end"].append(end[idx])
            rows["person"].append(person[idx])
            rows["acute"].append(acute[idx] if kind != "visit" else np.zeros(len(idx), bool))
            rows["diag"].append(np.asarray(dg, dtype=object)[idx])
            rows["cause"].append(np.where(injury[idx], "ALCC02", "ALCC01"))
            rows["hosp"].append(hosp[idx])
            rows["type"].append(np.full(len(idx), typ, dtype=object))
            rows["kind"].append(np.full(len(idx), kind, dtype=object))
            rows["stay"].append(stay[idx])

        add(split, a, a + er_len, np.where(obs, er_code, diag), "ALCA00", "er")
        ward_start = np.where(split, a + er_len + wait, a)
        add(np.ones(n, bool), ward_start, d, diag, "ALCA00", "ward")
        # --- out-patient visits away from every contact of the person
        n_vis = rng.poisson(OUTPATIENT_VISITS_PER_CONTACT, n)
        src = np.repeat(np.arange(n), n_vis)
        if len(src):
            offset_days = rng.integers(7, 180, len(src)) * np.where(
                rng.random(len(src)) < 0.5, -1, 1
            )
            vday = (a[src] // 86400 + offset_days) * 86400
            vstart = vday + rng.integers(8 * 60, 15 * 60, len(src)) * 60
            vend = vstart + rng.integers(30, 91, len(src)) * 60
            ok = _far_from_contacts(person, a, d, src, vstart, vend)
            src, vstart, vend = src[ok], vstart[ok], vend[ok]
            virtual = rng.random(len(src)) < VIRTUAL_SHARE
            m = np.zeros(n, bool)
            for flag, typ in ((~virtual, "ALCA00"), (virtual, "ALCA03")):
                # one visit per row of src: expand with a per-visit mask
                sel = src[flag]
                if len(sel) == 0:
                    continue
                rows["start"].append(vstart[flag])
                rows["end"].append(vend[flag])
                rows["person"].append(person[sel])
                rows["acute"].append(np.zeros(len(sel), bool))
                rows["diag"].append(diag[sel])
                rows["cause"].append(np.full(len(sel), "ALCC01", dtype=object))
                rows["hosp"].append(hosp[sel])
                rows["type"].append(np.full(len(sel), typ, dtype=object))
                rows["kind"].append(np.full(len(sel), "visit", dtype=object))
                rows["stay"].append(np.full(len(sel), -1))
            del m
        if chronic is not None and len(chronic["person"]):
            k = len(chronic["person"])
            rows["start"].append(chronic["start"])
            rows["end"].append(chronic["end"])
            rows["person"].append(chronic["person"])
            rows["acute"].append(np.zeros(k, bool))
            rows["diag"].append(chronic["code"])
            rows["cause"].append(np.full(k, "ALCC01", dtype=object))
            rows["hosp"].append(np.full(k, hosp[0], dtype=object))
            rows["type"].append(np.full(k, "ALCA00", dtype=object))
            rows["kind"].append(np.full(k, "visit", dtype=object))
            rows["stay"].append(np.full(k, -1))
            self.counts["chronic_visits"] = self.counts.get("chronic_visits", 0) + k
        cat = {k: np.concatenate(v) for k, v in rows.items()}
        order = np.lexsort((cat["start"], cat["person"]))
        cat = {k: v[order] for k, v in cat.items()}
        n_rows = len(order)
        ids = np.arange(self.next_id, self.next_id + n_rows)
        self.next_id += n_rows
        self.counts["contacts"] += n_rows
        self.counts["er_contacts"] += int(split.sum())
        self.counts["observation_coded"] += int(obs.sum())
        self.counts["outpatient"] += int((cat["kind"] == "visit").sum())
        self.counts["virtual"] += int((cat["type"] == "ALCA03").sum())
        if self.layout == "lpr3":
            self._lpr3(cat, ids, rng)
        else:
            self._lpr2(cat, ids, rng, a, d, person, diag, hosp, src_n=n)

    # ------------------------------------------------------------------------------------
    def _lpr3(self, c: dict[str, np.ndarray], ids: np.ndarray, rng: np.random.Generator) -> None:
        sid = ids.astype(str)
        spec = np.where(c["kind"] == "er", "akut medicin",
                        np.where(c["kind"] == "visit", "intern medicin", "intern medicin"))  # fmt: skip
        forloeb = np.where(
            c["stay"] >= 0, np.char.add("F", c["stay"].astype(str)), np.char.add("V", sid)
        )
        tbl = pa.table(
            {
                "DW_EK_KONTAKT": sid,
                # "<person>_F<stay>": an underscore, not a dash, so that a person id ending in
                # six digits followed by "-F123" never reads as a CPR replacement number
                # ("DDMMYY-F123") to the CPR guard of ingest
                "DW_EK_FORLOEB": np.char.add(np.char.add(c["person"].astype(str), "_"), forloeb),
                "PNR": c["person"].astype(str),
                "dato_start": _dates(c["start"]),
                "tidspunkt_start": _times(c["start"]),
                "dato_slut": _dates(c["end"]),
                "tidspunkt_slut": _times(c["end"]),
                "kontakttype": c["type"].astype(str),
                "prioritet": np.where(c["acute"], "ATA1", "ATA3"),
                "aktionsdiagnose": c["diag"].astype(str),
                "kontaktaarsag": c["cause"].astype(str),
                "SORENHED_ANS": c["hosp"].astype(str),
                "hovedspeciale_ans": spec,
            },
            schema=LPR3_KONTAKTER,
        )
        self.w["contacts"].write_table(tbl)
        sec = rng.random(len(ids)) < 0.3
        dk = np.r_[sid, sid[sec]]
        code = np.r_[c["diag"].astype(str), np.full(int(sec.sum()), "DI109")]
        typ = np.r_[np.full(len(ids), "A"), np.full(int(sec.sum()), "B")]
        o = np.argsort(dk, kind="stable")
        self.w["diagnoses"].write_table(
            pa.table(
                {
                    "DW_EK_KONTAKT": dk[o],
                    "diagnosekode": code[o],
                    "diagnosetype": typ[o],
                    "senere_afkraeftet": np.full(len(dk), "Nej"),
                },
                schema=LPR3_DIAGNOSER,
            )
        )
        self.counts["diagnoses"] += len(dk)

    def _lpr2(self, c, ids, rng, a, d, person, diag, hosp, src_n) -> None:
        visit = c["kind"] == "visit"
        keep = ~visit | (c["type"] == "ALCA00")  # LPR2 had no virtual contacts
        c = {k: v[keep] for k, v in c.items()}
        ids = ids[keep]
        visit = c["kind"] == "visit"
        pattype = np.where(c["kind"] == "er", "2", np.where(visit, "1", "0"))
        start, end = c["start"].copy(), c["end"].copy()
        # an LPR2 out-patient contact spans a course of visits: 1-6 months, dates only
        end[visit] = start[visit] + rng.integers(30, 180, int(visit.sum())) * 86400
        hour_s = (start % 86400) // 3600
        minute_s = (start % 3600) // 60
        # LPR2 discharge: whole hours; rounded up so a contact never ends before it starts
        end_h = np.ceil((end % 86400) / 3600).astype(np.int64)
        roll = end_h == 24
        end = np.where(roll, (end // 86400 + 1) * 86400, end)
        end_h = np.where(roll, 0, end_h)
        sid = ids.astype(str)
        mask_time = visit
        self.w["contacts"].write_table(
            pa.table(
                {
                    "PNR": c["person"].astype(str),
                    "RECNUM": sid,
                    "D_INDDTO": _dates(start),
                    "V_INDTIME": pa.array(hour_s.astype(np.int32), mask=mask_time),
                    "V_INDMINUT": pa.array(minute_s.astype(np.int32), mask=mask_time),
                    "D_UDDTO": _dates(end),
                    "V_UDTIME": pa.array(end_h.astype(np.int32), mask=mask_time),
                    "C_PATTYPE": pattype,
                    "C_INDM": np.where(c["acute"], "1", "2"),
                    "C_ADIAG": c["diag"].astype(str),
                    "C_KONTAARS": np.where(c["cause"] == "ALCC02", "2", "1"),
                    "C_SPEC": np.where(c["kind"] == "er", "01", "08"),
                    "C_SGH": c["hosp"].astype(str),
                },
                schema=LPR2_ADM,
            )
        )
        self.w["diagnoses"].write_table(
            pa.table(
                {
                    "RECNUM": sid,
                    "C_DIAG": c["diag"].astype(str),
                    "C_DIAGTYPE": np.full(len(sid), "A"),
                },
                schema=LPR2_DIAG,
            )
        )
        self.counts["diagnoses"] += len(sid)

    def close(self) -> None:
        """Close the Parquet writers."""
        for w in self.w.values():
            w.close()


_BIG = np.int64(1) << 33  # > any timestamp in seconds used here (year 2242)


def _running_max_by_person(d: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Running maximum of ``d`` restarting at every new person (input ordered by person).

    One ``maximum.accumulate`` over ``d`` shifted by the person's block number × a bound
    larger than any value, so a later person's values always exceed an earlier one's.
    """
    blk = np.cumsum(~same) - 1
    return np.maximum.accumulate(d + blk * _BIG) - blk * _BIG


def _far_from_contacts(
    person: np.ndarray, a: np.ndarray, d: np.ndarray, src: np.ndarray, vs: np.ndarray,
    ve: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Visits at least 2 days from every internal contact of the same person.

    A visit clashes when the last contact of the person admitted before the visit's end
    (+ 2 days) has a running maximum discharge after the visit's start (− 2 days); found with
    one ``searchsorted`` on (person block, admission).
    """
    margin = 2 * 86400
    same = np.r_[False, person[1:] == person[:-1]]
    blk = np.cumsum(~same) - 1
    run_max = _running_max_by_person(d, same)
    key = blk * _BIG + a
    b = blk[src]
    idx = np.searchsorted(key, b * _BIG + ve + margin, side="left") - 1
    valid = (idx >= 0) & (blk[np.maximum(idx, 0)] == b)
    clash = valid & (run_max[np.maximum(idx, 0)] > vs - margin)
    return ~clash


def chronic_visits(
    persons: dict[str, np.ndarray], end_day: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Out-patient control visits of people with a chronic disease (:data:`model.CHRONIC`).

    Each person gets each disease with probability ``lifetime`` × education RR (normalised
    to mean 1) at an onset age ~ Normal(``onset_mean``, ``onset_sd``); visits come as a
    Poisson process at ``visits_per_year`` from onset (or day 0) until death or ``end_day``,
    on a weekday-independent day at 8-15 h, lasting 30-90 minutes. Returns ``person``,
    ``start``/``end`` (seconds from the period's epoch) and ``code`` (action diagnosis).
    """
    from nsv_eval.synth import model

    pid = np.asarray(persons["person_id"], dtype=object)
    birth = np.asarray(persons["birth"], float)
    death = np.minimum(np.asarray(persons["death"], float), end_day)
    edu = np.asarray(persons["edu"], dtype=np.int64)
    out: dict[str, list] = {"person": [], "start": [], "end": [], "code": []}
    for spec in model.CHRONIC.values():
        rr = np.asarray(spec["edu_rr"], float)
        rr = rr / rr.mean()
        has = rng.random(len(pid)) < spec["lifetime"] * rr[edu]
        onset_age = rng.normal(spec["onset_mean"], spec["onset_sd"], len(pid))
        lo = np.maximum(birth + onset_age * 365.25, 0.0)
        span = np.where(has, np.maximum(death - lo, 0.0), 0.0)
        n = rng.poisson(span / 365.25 * spec["visits_per_year"])
        who = np.repeat(np.arange(len(pid)), n)
        day = np.floor(lo[who] + rng.random(len(who)) * span[who])
        start = (day * 86400 + rng.integers(8 * 60, 15 * 60, len(who)) * 60).astype(np.int64)
        end = start + rng.integers(30, 91, len(who)) * 60
        out["person"].append(pid[who])
        out["start"].append(start)
        out["end"].append(end)
        out["code"].append(np.full(len(who), spec["code"], dtype=object))
    return {k: np.concatenate(v) for k, v in out.items()}


def _clear_of(
    person: np.ndarray, a: np.ndarray, d: np.ndarray, vp: np.ndarray, vs: np.ndarray,
    ve: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Visits (person ``vp``, ``vs``-``ve``) at least 2 days from every contact of the person
    (``person``, ``a``-``d``, any order); persons without contacts are always clear."""
    margin = 2 * 86400
    if len(person) == 0 or len(vp) == 0:
        return np.ones(len(vp), bool)
    cats = pd.Index(pd.unique(np.concatenate([person, vp])))
    pc, pv = cats.get_indexer(person), cats.get_indexer(vp)
    o = np.lexsort((a, pc))
    pc, a2, d2 = pc[o], a[o], d[o]
    same = np.r_[False, pc[1:] == pc[:-1]]
    run_max = _running_max_by_person(d2, same)
    key = pc.astype(np.int64) * _BIG + a2
    idx = np.searchsorted(key, pv.astype(np.int64) * _BIG + ve + margin, side="left") - 1
    j = np.maximum(idx, 0)
    clash = (idx >= 0) & (pc[j] == pv) & (run_max[j] > vs - margin)
    return ~clash


def _dates(sec: np.ndarray) -> pa.Array:
    return pa.array((sec // 86400).astype(np.int32), type=pa.date32())


def _times(sec: np.ndarray) -> np.ndarray:
    s = sec % 86400
    h, m, x = s // 3600, s % 3600 // 60, s % 60
    return np.char.add(
        np.char.add(np.char.add(np.char.zfill(h.astype(str), 2), ":"),
                    np.char.add(np.char.zfill(m.astype(str), 2), ":")),
        np.char.zfill(x.astype(str), 2),
    )  # fmt: skip


def writer(layout: str, out: Path, seed: int) -> LprWriter:
    """An :class:`LprWriter` for ``layout`` (``lpr3`` or ``lpr2``)."""
    if layout not in ("lpr3", "lpr2"):
        raise ValueError(f"no register writer for layout {layout!r}")
    return LprWriter(layout, out, seed)


def describe(layout: str, w: LprWriter | None) -> dict:
    """What the layout wrote (for ``truth.json``)."""
    if w is None:
        return {"layout": layout, "files": {"contacts": "contacts.parquet"}}
    return {
        "layout": layout,
        "files": w.files,
        "counts": dict(w.counts),
        "prepare": f"nsv-eval prepare --format {layout} --pseudonymised-key PNR",
        "rules": "acute stays start with an emergency-room contact (1-4 h, observation code "
        f"DZ039/DZ048 in {ER_OBSERVATION_SHARE:.0%}) followed by the ward contact within 1 h; "
        f"{OUTPATIENT_VISITS_PER_CONTACT} out-patient visits per contact (>= 2 days from any "
        f"other contact, {VIRTUAL_SHARE:.0%} virtual); injuries have contact cause ALCC02",
    }
