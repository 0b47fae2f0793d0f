"""Ingest of register extracts: read, map columns, validate, pseudonymise, quarantine.

Public API::

    from nsv_eval.ingest import ingest, IngestResult, KINDS, schema_text
    result = ingest("admissions", ["lpr2019.csv", "lpr2020.xlsx"], "data/prepared",
                    mapping="params/mapping.yaml")
    print(result.summary())

CPR numbers never leave this package: they are validated, their birth date and sex are
derived, and they are replaced by a keyed pseudonym (see :mod:`nsv_eval.ingest.cpr`).
"""

from nsv_eval.ingest.core import FileReport, IngestResult, ingest
from nsv_eval.ingest.cpr import mask_cpr, resolve_key
from nsv_eval.ingest.schemas import KINDS, REASONS, SCHEMAS, get_schema, schema_text

__all__ = [
    "KINDS",
    "REASONS",
    "SCHEMAS",
    "FileReport",
    "IngestResult",
    "get_schema",
    "ingest",
    "mask_cpr",
    "resolve_key",
    "schema_text",
]
