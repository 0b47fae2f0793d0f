"""What the figures and tables say in English: every text a reader can see in them.

An English report once showed Danish figure legends ("Kontakter, hele landet") because two
labels lost their translation when the figures moved to ``report/figures.py``; the HTML
check of ``test_report_english`` cannot see them (a figure is a picture). Here every study
notebook's code is executed in English on the small synthetic Denmark of ``conftest.py``
(the notebooks' own cells, so every figure the reports draw is drawn; ``show`` collects
the sections instead of displaying them), every figure is drawn and every text artist of
it is read — suptitle, titles, axis labels, tick labels, legend entries and title,
annotations, figure texts (``Figure.findobj(Text)`` after a draw) — and checked for Danish.
Tables: every table of the studies shown in English reports (``Study.languages``) is
rendered as the report renders it (``disclosure.table_html``) and its column headings, row
labels, text cells, caption and notes are checked the same way.

The Danish check (:func:`danish_in`) is checked against planted Danish: a Danish legend,
tick label, title or table heading planted in a figure or table must be found.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from nsv_eval.params import load_params, notebook_parameters  # noqa: E402
from nsv_eval.reference import kommuner  # noqa: E402
from nsv_eval.report import i18n, sections  # noqa: E402
from nsv_eval.report.disclosure import table_html  # noqa: E402
from nsv_eval.report.studies import STUDIES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KOMMUNE = 326  # Kalundborg: has the falls programme and the acute team in the test world

DANISH_LETTERS = re.compile(r"[æøåÆØÅ]")

# Words of the Danish figures and tables (every figure of studies 1-8 drawn in Danish, and
# the table headings) that are NOT English words, so an English text never contains them.
# Left out on purpose, because they are English words too: "i" (I), "en", "den", "at",
# "for", "men", "under", "over", "minus", "model", "rate", "ratio", "region", "diabetes",
# "type", "placebo", "balance", "overlap", "designs", "start", "starter", "land", "til"
# ("till"), "alle" (alley), "kort"/"lang" (names), "alder" (a tree), "analyse" (British
# spelling), "mod", "rater", "dens", "tog" (all English words, however rare). Words with
# æ, ø or å are caught by the letters already; a few are listed anyway for the record.
# "kommune" IS listed: English reports say "municipality" (and "Kalundborg Municipality").
DANISH_WORDS = frozenset(
    """
    og af pr med uden ved der som ikke eller hvor fra ud imod inden omkring
    hele landet landets kommune kommunen kommunens kommuner borgere borgerens indbyggere
    antal andel andele forventet observeret faktisk syntetisk syntetiske forskel forskelle
    uddannelse mellemlang grundskole periode perioden rateratio risikoratio risiko
    risikoforskel procentpoint gennemsnit landsgennemsnit overskud underskud indsats
    justering justeret ujusteret sammenligning tidsserie placebotest kontrol konfidensinterval
    konfidensfordelingen konfidensfordeling simulationer fyldte ryger dagligt ofte alene
    godt helbred sundhedsprofilen genindlagt kumuleret incidens sandsynlighed kendetegn
    regnes censurerede nettobesparelse nettobesparelsen besparelse udgift mio kr
    hospitalskontakter kontakter punkter beregnet udeladt hensyn diskretion akut akutte
    akutteam faldulykker faldulykke faldforebyggelse forebyggelige forebyggende somatiske
    dage timer korttidsindlæggelser hoftebrud hjertesvigt kol standardiseret
    aldersstandardiseret absolut forhold virker indlagt vægtet kombination mand seneste
    indkomstkvintil laveste mellem grupperne gruppe grupper tre sidste kalenderår
    registrerede fald bor hjemmehjælp hjemmesygepleje udskrivelsen udskrivelser deltagere
    estimat nedre indlæggelsesforløb uoplyst ulighed skala
    """.split()
)
"""Danish words that are not English words (see the comment above for the choice)."""

DANISH_FORMAT = [
    (re.compile(r"\d,\d{1,2}(?!\d)"), "decimal comma"),
    (re.compile(r"%-KI|\bKI\b"), "Danish confidence interval label"),
    (re.compile(r"\d %"), "space before the percent sign"),
    (re.compile(r"\b[1-9]\d{0,2}\.\d{3}\b"), "Danish thousands separator"),
]


def _proper_names() -> re.Pattern[str]:
    # place names are names in both languages ("Tårnby", "Ærø"): taken out before the check
    names = sorted(kommuner()["kommune_name"].astype(str), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


PROPER_NAMES = _proper_names()


def danish_in(text: str) -> list[str]:
    """Danish letters, words and number formats in ``text`` (empty: none)."""
    text = PROPER_NAMES.sub(" ", text)
    found = [f"letter: {m.group(0)!r}" for m in DANISH_LETTERS.finditer(text)]
    words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower())
    found += sorted({w for w in words if w in DANISH_WORDS})
    found += [f"{what}: {m.group(0)!r}" for rx, what in DANISH_FORMAT for m in rx.finditer(text)]
    return found


def figure_texts(fig) -> list[str]:
    """Every non-empty text artist of ``fig`` after a draw (ticks are made by the draw)."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def figure_danish(fig) -> dict[str, list[str]]:
    """``{text: Danish found}`` for the texts of ``fig`` that have Danish in them."""
    out = {}
    for s in figure_texts(fig):
        d = danish_in(s)
        if d:
            out[s] = d
    return out


def table_texts(df: pd.DataFrame, options: dict) -> list[str]:
    """Caption, column headings, row labels and text cells of a table as the report
    renders it (numbers are checked for their format, too)."""
    soup = BeautifulSoup(table_html(df, **options), "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    return [t.get_text(" ", strip=True) for t in soup.find_all(["caption", "th", "td", "p", "li"])]


# -- the check can fail ------------------------------------------------------------------------
def test_checker_finds_planted_danish_in_a_figure() -> None:
    fig, ax = plt.subplots()
    ax.plot([2020, 2021], [1, 2], label="Contacts, Kalundborg")
    ax.plot([2020, 2021], [2, 3], label="Kontakter, hele landet")  # planted
    ax.set_xticks([2020, 2021], ["Før start", "After start"])  # planted tick label
    ax.set_xlabel("Year")
    ax.set_title("Contacts per 1,000 residents")
    ax.annotate("Faldforebyggelse starter", (2020.5, 1.5))  # planted annotation
    ax.legend()
    fig.suptitle("Hospital contacts og admissions")  # one planted word in English
    found = figure_danish(fig)
    plt.close(fig)
    assert set(found) == {
        "Kontakter, hele landet",
        "Før start",
        "Faldforebyggelse starter",
        "Hospital contacts og admissions",
    }, found
    assert found["Kontakter, hele landet"] == ["hele", "kontakter", "landet"]
    assert found["Hospital contacts og admissions"] == ["og"]


def test_checker_passes_english_and_place_names() -> None:
    fig, ax = plt.subplots()
    ax.plot([0.5, 1.5], [1, 2], label="Contacts, Tårnby")  # a place name is a name
    ax.set_xlabel("Rate ratio (below 1 = fewer than expected without the intervention)")
    ax.set_ylabel("Per 1,000 person-years 65+ (95% CI)")
    ax.legend()
    assert figure_danish(fig) == {}
    plt.close(fig)
    assert danish_in("0,1 and 99,8 % and 20.000 simulations") == [
        "decimal comma: '0,1'",
        "decimal comma: '9,8'",
        "space before the percent sign: '8 %'",
        "Danish thousands separator: '20.000'",
    ]


def test_checker_finds_planted_danish_in_a_table() -> None:
    # a row label the analyses layer returned in Danish, and a caption wrongly marked as
    # translated, pass the strict lookup (headings go through it) and must be found
    df = pd.DataFrame({"analysis": ["Justeret (IPTW)", "Adjusted"], "estimate": [0.81, 0.9]})
    opts = {"labels": {"estimate": "Estimat"}, "caption": i18n.Translated("Fald blandt ældre")}
    with i18n.use_lang("en"):
        texts = table_texts(df, opts)
    found = {t: danish_in(t) for t in texts if danish_in(t)}
    assert set(found) == {"Justeret (IPTW)", "Fald blandt ældre"}, found
    assert "Estimate" in texts and "0.8" in texts  # heading translated, English number
    # the same table in Danish: headings and decimal commas are Danish
    found = {t for t in table_texts(df, opts) if danish_in(t)}
    assert {"Estimat", "0,8", "Justeret (IPTW)"} <= found, found


# -- every figure of every study, in English -----------------------------------------------
def _run_notebook(
    study, data_dir: Path, lang: str, kommune: int = KOMMUNE, **extra
) -> tuple[list, list, list[str]]:
    """Execute the study notebook's code cells in this process in ``lang``: the sections
    every ``show`` received, every figure left open, and the errors of failing cells."""
    nb = nbformat.read(ROOT / "notebooks" / study.notebook, as_version=4)
    params = notebook_parameters(load_params(kommune, ROOT / "params"), study.name) | {
        "data_dir": str(data_dir),
        "results_path": "",
        "shared_dir": None,
        "lang": lang,
        **extra,
    }
    shown: list[sections.Section] = []

    def collect(s, findings=None) -> None:
        shown.extend([s] if isinstance(s, sections.Section) else list(s))

    ns: dict = {}
    errors = []
    plt.close("all")
    # the notebooks set the report theme (rcParams) and warning filters: both restored after,
    # so later tests see matplotlib's defaults (test_narrative reads a default title)
    with (
        pytest.MonkeyPatch.context() as mp,
        i18n.use_lang(lang),
        matplotlib.rc_context(),
        warnings.catch_warnings(),
    ):
        mp.setattr(sections, "show", collect)  # the notebooks import show from here
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                exec(compile(cell.source, f"{study.notebook}", "exec"), ns)
                if "parameters" in cell.metadata.get("tags", []):
                    ns.update(params)
            except Exception as e:  # noqa: BLE001 - reported by the test, with the cell
                errors.append(f"{type(e).__name__}: {e} (cell {cell.source[:70]!r})")
    figs = {id(f): f for f in (s.figure for s in shown) if f is not None}
    figs.update({id(plt.figure(n)): plt.figure(n) for n in plt.get_fignums()})
    return shown, list(figs.values()), errors


RUNS: dict[str, tuple[str, int, dict]] = {
    **{name: (name, KOMMUNE, {}) for name in STUDIES},
    # Kalundborg's own falls time series and cohort are too small in the test world; Aarhus
    # with the cohort on the whole country draws the rest of study 3's figures (its ITS,
    # the participants' love plot and the forest plot)
    "fald@751": ("fald", 751, {"cohort_scope": "land"}),
}
"""Runs of the notebooks: every study for kommune 326, plus the run that draws the figures
326 does not get on the test data."""


@pytest.fixture(scope="module")
def english_runs(prepared_dir: Path) -> dict:
    t0 = time.perf_counter()
    runs = {}
    for run, (name, kommune, extra) in RUNS.items():
        with i18n.use_lang("en"):
            shown, figs, errors = _run_notebook(STUDIES[name], prepared_dir, "en", kommune, **extra)
            texts = {f"figure {i + 1}": figure_texts(f) for i, f in enumerate(figs)}
        plt.close("all")
        runs[run] = dict(sections=shown, figures=texts, errors=errors)
    runs["_seconds"] = time.perf_counter() - t0
    return runs


@pytest.mark.parametrize("run", list(RUNS))
def test_every_figure_of_the_study_is_english(english_runs: dict, run: str) -> None:
    got = english_runs[run]
    # every cell runs in English: a Danish figure text without an English entry stops its
    # figure (MissingTranslation), and any other failure would hide figures
    assert got["errors"] == [], got["errors"]
    assert got["figures"], f"{run}: no figure drawn"
    danish = {
        f"{name}: {s!r}": danish_in(s)
        for name, texts in got["figures"].items()
        for s in texts
        if danish_in(s)
    }
    assert danish == {}, danish


def test_the_runs_draw_every_kind_of_figure(english_runs: dict) -> None:
    # the figures of studies 3 and 5 that need a start and enough events are drawn
    titles = " | ".join(
        t for r in RUNS for texts in english_runs[r]["figures"].values() for t in texts
    )
    for expected in (
        "Fall injuries among residents 65+ in Aarhus Municipality",  # its_figure
        "Fall injuries after the start: rate ratio in two designs",  # forest_plot
        "Absolute standardised difference between participants and non-participants",
        "Actual and synthetic course",  # sc_figure
        "Overlap: residents with and without a visit",  # overlap_plot
        "Balance between the groups before and after adjustment",  # love_plot
        "of the confidence distribution above zero",  # net_plot
        "Month relative to the month of the 75th birthday",  # rd_figure
    ):
        assert expected in titles, expected


@pytest.mark.parametrize("study", [s.name for s in STUDIES.values() if "en" in s.languages])
def test_every_table_of_an_english_report_is_english(english_runs: dict, study: str) -> None:
    run = english_runs[study]
    assert run["errors"] == [], run["errors"]
    tables = [s for s in run["sections"] if s.table is not None]
    assert tables, f"{study}: no table shown"
    with i18n.use_lang("en"):
        texts = [t for s in tables for t in table_texts(s.table, dict(s.table_options))]
    assert texts
    danish = {t: danish_in(t) for t in texts if danish_in(t)}
    assert danish == {}, danish


def test_english_runs_are_fast(english_runs: dict) -> None:
    # every notebook of the series in one process on the test world: keep it under a minute
    assert english_runs["_seconds"] < 60, english_runs["_seconds"]
