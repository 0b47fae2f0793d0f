"""The Hovedresultater box and key-results JSON (values checked against the inputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from nsv_eval.report.disclosure import scan_html
from nsv_eval.report.findings import Findings
from nsv_eval.stats.designs.base import EffectResult


def test_sentences_are_written_from_the_values(tmp_path: Path) -> None:
    path = tmp_path / "res.json"
    f = Findings(path, study="x", kommune=326)
    t1 = f.add("persons", 12345, "Data omfatter {value} personer.", kind="count")
    t2 = f.add(
        "share",
        0.142,
        "Andelen var {value_ci}.",
        kind="pct",
        lower=0.123,
        upper=0.145,
    )
    t3 = f.add(
        "falls", 3, "Der var {value} fald blandt {n} borgere.", kind="count", counts={"n": 40}
    )
    assert t1 == "Data omfatter 12.345 personer."
    assert t2 == "Andelen var 14,2 % (95 %-KI: 12,3–14,5)."
    assert t3 == "Der var <5 fald blandt 40 borgere."
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["study"] == "x" and data["kommune"] == 326
    items = {i["key"]: i for i in data["findings"]}
    assert items["persons"]["value"] == 12345 and items["persons"]["display"] == "12.345"
    assert items["share"]["lower"] == 0.123 and items["share"]["conf"] == 0.95
    # a suppressed count never reaches the JSON
    assert items["falls"]["value"] is None and items["falls"]["suppressed"] is True
    assert items["falls"]["counts"] == {"n": 40}
    html = f.html()
    assert "Hovedresultater" in html
    assert '<span class="nsv-count">&lt;5</span>' in html
    assert scan_html(html) == []


def test_effect_result(tmp_path: Path) -> None:
    eff = pd.DataFrame(
        {"term": ["rr"], "estimate": [0.8123], "lower": [0.7], "upper": [0.95], "p_value": [0.01]}
    )
    res = EffectResult("its", eff, "rr", "rate_ratio")
    f = Findings(tmp_path / "r.json")
    text = f.add_effect("effect", res)
    assert "0,81" in text and "0,70 til 0,95" in text
    item = f.to_dict()["findings"][0]
    assert item["value"] == pytest.approx(0.8123) and item["p_value"] == 0.01
    assert item["design"] == "its" and item["scale"] == "rate_ratio"


def test_errors() -> None:
    f = Findings()
    f.add("a", 1.0, "A er {value}.")
    with pytest.raises(ValueError, match="already added"):
        f.add("a", 2.0, "igen")
    with pytest.raises(ValueError, match=r"uses \{ci\}"):
        f.add("b", 1.0, "B er {value} ({ci}).")  # no limits given
    with pytest.raises(ValueError, match="kind must be"):
        f.add("c", 1.0, "C", kind="weird")


def test_html_escapes_text_but_not_markup() -> None:
    f = Findings()
    f.add("k", "<b>", "Værdi {value} & mere <i>.", kind="text")
    html = f.html()
    assert "&lt;b&gt;" in html and "&amp; mere &lt;i&gt;" in html
