"""The registry of studies: name → notebook file and Danish title.

A study is one numbered notebook in ``notebooks/`` (``NN_name.ipynb``) rendered into one
report ``reports/<kommune>/NN_name.html``. Studies whose notebook does not exist yet are
listed (so names are reserved and ``--study`` can explain), but ``--study all`` runs only
the notebooks that exist.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from nsv_eval.errors import NsvError


@dataclass(frozen=True)
class Study:
    """One study notebook.

    Parameters
    ----------
    name : str
        Machine name used on the command line (``--study datakvalitet``).
    number : int
        Order in the report series (the ``NN`` of the file name).
    title_da : str
        Danish title shown in the report header.
    description_da : str
        One-line Danish description (index pages, ``--help``).
    definitions : tuple of str
        Ids of the indicator definitions the study uses (``nsv_eval/definitions``), main
        one first; rendered in the report's "Definitioner og datagrundlag" appendix.
    title_en : str
        English title (for the languages in ``languages`` other than Danish).
    languages : tuple of str
        Report languages the study is translated into: every visible word of its notebook
        and of the package functions it calls has an entry in
        :mod:`nsv_eval.report.texts_en`. Other languages are refused
        (:func:`check_language`).
    stem : str, optional
        File-name part after ``NN_`` when it differs from ``name`` (a longer, descriptive
        notebook name behind a short command-line name).
    """

    name: str
    number: int
    title_da: str
    description_da: str = ""
    definitions: tuple[str, ...] = ()
    title_en: str = ""
    languages: tuple[str, ...] = ("da",)

    def title(self, lang: str = "da") -> str:
        """The title in ``lang`` (Danish if there is no translation)."""
        return self.title_en if lang == "en" and self.title_en else self.title_da
    stem: str | None = None

    @property
    def slug(self) -> str:
        """``NN_name`` (or ``NN_stem``): the stem of the notebook and of the report files."""
        return f"{self.number:02d}_{self.stem or self.name}"

    @property
    def notebook(self) -> str:
        """File name of the notebook (in the notebooks directory)."""
        return f"{self.slug}.ipynb"


CATALOGUE_DEFINITIONS: tuple[str, ...] = (
    "preventable",
    "readmission",
    "short_stay",
    "fall_injury",
    "copd_acute",
    "diabetes_acute",
    "heart_failure_acute",
)
"""Definitions of the indicator catalogue (``nsv_eval.analyses.catalogue``)."""

STUDIES: dict[str, Study] = {
    s.name: s
    for s in [
        Study(
            "datakvalitet",
            1,
            "Datakvalitet",
            "Hvad blev indlæst, afvist og sammenlagt; dækning pr. år; datagrundlagets periode.",
            definitions=CATALOGUE_DEFINITIONS,
            title_en="Data quality",
            languages=("da", "en"),
        ),
        Study(
            "kommuneprofil",
            2,
            "Kommuneprofil",
            "Strategiens indikatorer over tid mod region og land, alders- og "
            "kønsstandardiseret, med tragtdiagrammer.",
            definitions=CATALOGUE_DEFINITIONS,
        ),
        Study(
            "fald",
            3,
            "Fald blandt ældre: udvikling og effekt af faldforebyggelse",
            "Faldulykker blandt ældre og effekten af faldforebyggelse (forskudt udrulning).",
            definitions=("fall_injury", "hip_fracture"),
        ),
        Study(
            "genindlaeggelser",
            4,
            "Genindlæggelser blandt ældre medicinske patienter",
            "Genindlæggelser inden for 30 dage og effekten af opfølgende hjemmebesøg.",
            definitions=("readmission",),
        ),
        Study(
            "forebyggelige",
            5,
            "Forebyggelige indlæggelser blandt ældre",
            "Forebyggelige indlæggelser blandt borgere 65+ og effekten af akutteamet.",
            definitions=("preventable",),
        ),
        Study(
            "ulighed",
            6,
            "Ulighed i sundhed",
            "Indikatorerne efter uddannelse og indkomst: mindskes den sociale ulighed?",
            definitions=CATALOGUE_DEFINITIONS,
        ),
        Study(
            "business_case",
            7,
            "Business case: forebyggede indlæggelser og økonomi",
            "Undgåede indlæggelser, besparelse i kroner og pris pr. undgået indlæggelse.",
            definitions=("preventable", "readmission", "fall_injury"),
        ),
        Study(
            "forebyggende",
            8,
            "Forebyggende hjemmebesøg: aldersgrænsen som naturligt eksperiment",
            "Optag af forebyggende hjemmebesøg og effekten på indlæggelser, fald og "
            "hjemmehjælp ved 75-årsgrænsen.",
            stem="forebyggende_hjemmebesoeg",
            definitions=("fall_injury",),
        ),
    ]
}
"""All studies by name, in report order."""


def check_language(study: Study, lang: str) -> None:
    """Raise :class:`NsvError` naming the study if it is not translated into ``lang``."""
    if lang in study.languages:
        return
    done = [s.name for s in STUDIES.values() if lang in s.languages]
    language = "English" if lang == "en" else repr(lang)
    raise NsvError(
        f"Study '{study.name}' ({study.number:02d} {study.title_da}) is not translated into "
        f"{language} yet, so it cannot be rendered with "
        f"lang: {lang}; render it in Danish (lang: da). Studies available in {lang}: "
        f"{', '.join(done) or 'none'}."
    )


def default_notebook_dir() -> Path:
    """``notebooks/`` of the source tree the package runs from."""
    return Path(__file__).resolve().parents[3] / "notebooks"


def get_study(name: str) -> Study:
    """The study called ``name`` (also accepts ``NN_name`` or ``NN``); clear error if unknown."""
    key = name.strip()
    if key in STUDIES:
        return STUDIES[key]
    for s in STUDIES.values():
        if key in (s.slug, f"{s.number:02d}", str(s.number)):
            return s
    close = difflib.get_close_matches(key, list(STUDIES), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise NsvError(f"Unknown study {name!r}.{hint} Studies: {', '.join(STUDIES)}, or 'all'.")


def available_studies(notebook_dir: str | Path | None = None) -> list[Study]:
    """Studies whose notebook exists in ``notebook_dir``, in report order."""
    nb = Path(notebook_dir) if notebook_dir else default_notebook_dir()
    return sorted(
        (s for s in STUDIES.values() if (nb / s.notebook).exists()), key=lambda s: s.number
    )


def resolve_studies(spec: str | list[str], notebook_dir: str | Path | None = None) -> list[Study]:
    """Studies named by ``spec``: ``"all"``, one name, a comma-separated list or a list."""
    names = spec if isinstance(spec, list) else [s for s in spec.split(",") if s.strip()]
    if names == ["all"] or names == []:
        found = available_studies(notebook_dir)
        if not found:
            nb = Path(notebook_dir) if notebook_dir else default_notebook_dir()
            raise NsvError(f"No study notebooks found in {nb}.")
        return found
    return [get_study(n) for n in names]
