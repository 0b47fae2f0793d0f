"""Reader labels of indicator comparisons (:func:`nsv_eval.stats.indicators.compare`)."""

from __future__ import annotations

from nsv_eval.stats.indicators.compare import HIGHER, LOWER, NOT_COMPARED, SIMILAR

COMPARISON_DA: dict[str, str] = {
    LOWER: "lavere",
    SIMILAR: "som",
    HIGHER: "højere",
    NOT_COMPARED: "ikke sammenlignet",
}
"""Danish labels of the comparison codes (``compare(...)["comparison"]``)."""

RAG_DA: dict[str, str] = {
    "better": "bedre",
    "similar": "som",
    "worse": "dårligere",
    NOT_COMPARED: "ikke sammenlignet",
}
"""Danish labels when a polarity says which direction is good (``compare(...)["rag"]``)."""
