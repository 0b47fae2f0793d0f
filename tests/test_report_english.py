"""English reports (``lang: en``): translated studies render without a Danish word; the
others refuse, naming the study.

Checked against a vocabulary of the Danish reports (:data:`DANISH_WORDS`: words of the
study 1 report, the page header and footer, table headings, footnotes and reject reasons —
none of them an English word) and against the Danish number format (decimal comma,
``%-KI``, Danish month names). The study is rendered on the hand-built prepared layout of
``_report_tiny`` (it has rejected rows, so the reject-reason table and its Danish reason
texts appear).
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from _report_tiny import make_prepared  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from nsv_eval.errors import NsvError  # noqa: E402
from nsv_eval.params import load_params  # noqa: E402
from nsv_eval.report import format as fmt  # noqa: E402
from nsv_eval.report import i18n, theme  # noqa: E402
from nsv_eval.report.render import run_study  # noqa: E402
from nsv_eval.report.studies import STUDIES  # noqa: E402
from nsv_eval.report.texts_en import TEXTS_EN  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

DANISH_WORDS = """
og af til med på ikke der som er blev kunne være hver eller hvor
kommune kommunen kommunens rapporten rapport hovedresultater periode rapportdato
reproducerbarhed parametre kode lavet diskretion skjult antal antallet dataaftryk
datagrundlag datagrundlaget datakvalitet indlæst indlæste godkendt afvist afviste
sammenlagt sammenlagte dubletter dublet rækker række fil filer filen datatype kolonne
kolonnen årsag afvisningsårsager afvisningsårsag dækning år året pr indbyggere
befolkning personer personen kontakter hospitalskontakter indlæggelsesforløb hele landet
hændelser udeladt hensyn beregnet usikkert tallet metode forbehold kilder afstemning
ugyldig ugyldigt ukendt kommunekode dato advarsel stemmer inputfiler fingeraftryk
januar februar marts maj juni juli oktober
mænd kvinder ja nej karantænefilerne hyppigste
""".split()
"""Danish words of the study 1 report and the page around it (none is an English word;
month names spelt like English ones are caught by case in :data:`DANISH_FORMAT`)."""

DANISH_FORMAT = [
    (re.compile(r"\d,\d{1,2}(?!\d)"), "decimal comma"),
    (re.compile(r"%-KI"), "Danish confidence interval label"),
    (re.compile(r"\d \%"), "space before the percent sign"),
    (re.compile(r"[æøåÆØÅ]"), "Danish letter"),
    (re.compile(r"\d\. [a-z]+ \d{4}"), "Danish date"),
    (re.compile(r"\b(april|august|september|november|december)\b"), "Danish month"),
]

TRANSLATED = [s for s in STUDIES.values() if "en" in s.languages]
REFUSING = [s for s in STUDIES.values() if "en" not in s.languages]


def danish_in(text: str) -> list[str]:
    """Danish words and number formats found in ``text`` (empty list: none)."""
    # identifiers such as a column name (kommune_code) are data, not words
    words = re.findall(r"\w+", text.lower())
    found = sorted({w for w in words if w in DANISH_WORDS})
    found += [f"{what}: {m.group(0)!r}" for rx, what in DANISH_FORMAT for m in rx.finditer(text)]
    return found


def visible_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    for code in soup.select("code.nsv-hash"):
        code.decompose()  # hexadecimal fingerprints
    for quoted in soup.select('[lang="da"]'):
        if quoted.name != "html":
            quoted.decompose()  # a Danish source quoted as published (marked lang="da")
    return soup.get_text(" ")


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("english")
    data = make_prepared(base / "prepared")
    params = load_params(326, ROOT / "params")
    runs = {
        s.name: run_study(s, 326, data_dir=data, out_dir=base / "reports", params=params, lang="en")
        for s in TRANSLATED
    }
    return {"runs": runs, "data": data, "params": params, "out": base / "reports"}


def test_vocabulary_finds_danish() -> None:
    # the check can fail: a Danish sentence, a Danish number and a Danish date are caught
    assert "rækker" in danish_in("Der blev indlæst 120 rækker.")
    assert danish_in("14,2 % (95 %-KI: 12,3–16,1)")
    assert danish_in(fmt.fmt_date("2026-11-26"))  # "26. november 2026"
    assert danish_in("The data cover 1,234 rows (14.2%) on 26 November 2026.") == []


@pytest.mark.parametrize("study", [s.name for s in TRANSLATED])
def test_translated_study_has_no_danish_word(english: dict, study: str) -> None:
    run = english["runs"][study]
    assert run.ok, run.error
    html = run.html.read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    text = visible_text(html)
    assert danish_in(text) == [], danish_in(text)
    assert "Municipality" in text and "Key findings" in text
    # the numbers are there, in English format: 120 rows read + 85 = 205 in the tiny layout
    assert "205 rows were read from 2 files" in " ".join(text.split())
    # the workbook beside it: English headings and text cells, numbers as numbers
    from openpyxl import load_workbook

    wb = load_workbook(run.xlsx, read_only=True)
    cells = [
        str(v)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if isinstance(v, str)
    ]
    wb.close()
    assert danish_in(" \n".join(cells)) == []
    # the key results: English sentences in the JSON
    data = json.loads(run.json.read_text(encoding="utf-8"))
    assert data["stamp"]["lang"] == "en" and data["stamp"]["title"] == STUDIES[study].title_en
    for item in data["findings"]:
        assert danish_in(item["text"]) == [], item["text"]


def test_translated_study_renders_in_danish_unchanged(english: dict, tmp_path: Path) -> None:
    # the same study with lang: da is Danish (translation is not a side effect of the run)
    run = run_study(
        TRANSLATED[0], 326, data_dir=english["data"], out_dir=tmp_path, params=english["params"]
    )
    assert run.ok, run.error
    text = visible_text(run.html.read_text(encoding="utf-8"))
    assert "Hovedresultater" in text and "Kalundborg Kommune" in text
    assert "rækker" in danish_in(text)


@pytest.mark.parametrize("study", [s.name for s in REFUSING])
def test_untranslated_study_refuses_english(english: dict, study: str, tmp_path: Path) -> None:
    st = STUDIES[study]
    run = run_study(
        st, 326, data_dir=english["data"], out_dir=tmp_path, params=english["params"], lang="en"
    )
    assert run.status == "failed" and run.html is None
    assert f"Study '{study}'" in run.error and "not translated into English" in run.error
    assert st.title_da in run.error and "lang: da" in run.error
    assert not (tmp_path / "326" / ".work" / f"{st.slug}.ipynb").exists()  # nothing executed


def test_batch_refuses_untranslated_before_running(english: dict, tmp_path: Path) -> None:
    from nsv_eval.batch.runner import run_batch

    with pytest.raises(NsvError) as exc:
        run_batch(
            "all",
            "326",
            data_dir=english["data"],
            out_dir=tmp_path,
            params_dir=ROOT / "params",
            lang="en",
            progress=False,
        )
    for st in REFUSING:
        assert f"Study '{st.name}'" in str(exc.value)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def test_catalogue_is_consistent() -> None:
    keys: dict[str, str] = {}
    fields = string.Formatter()
    for da, en in TEXTS_EN:
        k = " ".join(da.split())
        assert keys.get(k, en) == en, f"two translations of {da!r}"
        keys[k] = en
        names_da = {f for _, f, _, _ in fields.parse(da) if f}
        names_en = {f for _, f, _, _ in fields.parse(en) if f}
        assert names_da == names_en, (da, en)
        assert danish_in(re.sub(r"\{\w*\}", "", en)) == [], en  # placeholders aside


@pytest.mark.parametrize("study", [s.name for s in TRANSLATED])
def test_every_markdown_cell_of_a_translated_study_has_english(study: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / STUDIES[study].notebook, as_version=4)
    with i18n.use_lang("en"):
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "remove-cell" not in cell.metadata.get("tags", []):
                assert danish_in(i18n.tr_markdown(cell.source)) == []


def test_english_number_formats() -> None:
    with i18n.use_lang("en"):
        assert fmt.fmt_number(-1234.56, 1) == "\u22121,234.6"
        assert fmt.fmt_estimate_ci(13.44, 12.3, 14.5) == "13.4 (95% CI: 12.3–14.5)"
        assert fmt.fmt_pct(0.142) == "14.2%"
        assert fmt.fmt_rate(12.34, 1000, scaled=True) == "12.3 per 1,000"
        assert fmt.fmt_date("2026-11-26") == "26 November 2026"
        assert fmt.fmt_p(0.0001) == "p < 0.001"
    assert fmt.fmt_number(-1234.56, 1) == "\u22121.234,6"  # Danish again outside


def test_figure_texts_translated_or_refused() -> None:
    with i18n.use_lang("en"):
        fig, ax = plt.subplots()
        ax.plot(
            [2020, 2021], [1.5, 2.5], label=i18n._("Kontakter, {navn}").format(navn="Kalundborg")
        )
        ax.plot([2020, 2021], [1.0, 2.0], label="Kontakter, hele landet")
        ax.set_xlabel("År")
        ax.legend()
        theme.finish(fig, title="Hospitalskontakter og indlæggelsesforløb pr. 1.000 indbyggere")
        texts = [ax.xaxis.label.get_text(), *(t.get_text() for t in ax.get_legend().get_texts())]
        assert texts == ["Year", "Contacts, Kalundborg", "Contacts, whole country"]
        fig.canvas.draw()
        ticks = [t.get_text() for t in ax.yaxis.get_ticklabels() if t.get_text()]
        assert any("." in t for t in ticks) and not any("," in t for t in ticks), ticks
        plt.close(fig)
        fig, ax = plt.subplots()
        ax.set_ylabel("Et dansk ord uden oversættelse")
        with pytest.raises(i18n.MissingTranslation, match="uden oversættelse"):
            theme.finish(fig)
        plt.close(fig)


def test_lang_en_in_a_params_file_as_a_new_user_would(
    english: dict, tmp_path: Path, capsys
) -> None:
    # the issue: `lang: en` in a --params file used to render study 3 entirely in Danish
    from nsv_eval.cli import main

    extra = tmp_path / "en.yaml"
    extra.write_text("lang: en\n", encoding="utf-8")
    common = ["--kommune", "326", "--data", str(english["data"]), "--params", str(extra)]
    rc = main(["run", "--study", "fald", "--out", str(tmp_path / "r1"), *common])
    err = capsys.readouterr().err
    assert rc == 1 and "Study 'fald'" in err and "not translated into English" in err
    rc = main(["run", "--study", "datakvalitet", "--out", str(tmp_path / "r2"), *common])
    assert rc == 0, capsys.readouterr().err
    html = (tmp_path / "r2" / "326" / "01_datakvalitet.html").read_text(encoding="utf-8")
    assert danish_in(visible_text(html)) == []
