"""ICD-10 code lists of the course-based cleaning, read from the definition files.

Moved from :mod:`nsv_eval.reference` (issue #12): the base layer may not read the definition
files (layer 3), and reading them at import time forced a function-level import in both
directions. :class:`nsv_eval.reference.CodeList` and :func:`~nsv_eval.reference.normalise_icd10`
stay in the base layer.
"""

from __future__ import annotations

import pandas as pd

from nsv_eval import definitions
from nsv_eval.reference import CodeList, normalise_icd10

COURSE_CODE_LISTS: dict[str, tuple[str, str, str]] = {
    "preventable": ("preventable", "legacy", "preventable"),
    "fall_injury": ("fall_injury", "legacy", "fall_injury"),
    "hip_fracture": ("hip_fracture", "legacy", "hip_fracture"),
    "copd": ("copd_acute", "legacy", "copd"),
    "diabetes": ("diabetes_acute", "legacy", "diabetes"),
    "heart_failure": ("heart_failure_acute", "legacy", "heart_failure"),
}
"""Name in :data:`ICD10` → (definition id, variant, code-list key) in ``nsv_eval/definitions``.

The code lists of the course-based cleaning (``nsv_eval.clean.flags``) are read from the
definition files, variant ``legacy`` (nsv-eval's earlier definitions); the official
definitions on hospital stays are applied by :mod:`nsv_eval.definitions.flags`."""


def _code_list(name: str) -> CodeList:
    id, variant, key = COURSE_CODE_LISTS[name]
    d = definitions.get(id, variant)
    cs = d.codeset(key)
    src = d.source
    return CodeList(
        name=name,
        label_da=cs.da,
        prefixes=cs.prefixes,
        source=f"{src['issuer']}: {src['title']} (definition {d.ref} {d.version}, {d.path})",
    )


ICD10: dict[str, CodeList] = {name: _code_list(name) for name in COURSE_CODE_LISTS}
"""ICD-10 code lists by name, read from the definition files. Each names its source."""


def _medical_chapters() -> tuple[str, ...]:
    return definitions.get("readmission", "legacy_medical").codeset("medical").prefixes


MEDICAL_CHAPTERS: tuple[str, ...] = _medical_chapters()
"""First letters of ICD-10 chapters treated as *medical* (non-surgical, non-injury) by the
legacy readmission definition (``readmission.legacy_medical.yaml``): chapters I-XVIII except
P, injuries (S-T), external causes (V-Y) and factors influencing contact (Z). An
approximation of Sundhedsdatastyrelsen's 'medicinske patienter' (department specialty) by
action diagnosis; the official readmission indicator does not use it."""


def is_medical(codes: pd.Series) -> pd.Series:
    """Boolean Series: is the action diagnosis in a medical ICD-10 chapter (see above)?"""
    norm = normalise_icd10(codes)
    return norm.str.slice(0, 1).isin(MEDICAL_CHAPTERS).fillna(False).astype(bool)
