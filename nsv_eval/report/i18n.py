"""Report language: Danish by default, English for the studies that are translated.

Until the narrative layer of the layers refactor exists, a report's words live in three
places: the notebook's markdown cells, the strings its code passes to the package
(Findings sentences, table headings and captions, figure labels) and the package's own
words (number formats, footnotes, the page header). English works like gettext, with the
Danish text as the key of the catalogue :data:`nsv_eval.report.texts_en.TEXTS_EN`:

* the **package** translates what it receives (:func:`tr`) — Findings sentences, table
  headings, captions, value labels and footnotes, figure titles and axis labels — and
  formats numbers and dates for the language (:mod:`nsv_eval.report.format` reads
  :func:`get_lang`: decimal point, thousands comma, ``95% CI``, ``26 November 2026``);
* the **notebook** marks the texts it composes itself with :func:`_`
  (``_("Dækning pr. år, {navn}").format(navn=...)``), which returns a :class:`Translated`
  string that the package passes through unchanged;
* **markdown cells** are looked up whole by :func:`tr_markdown` when the report is rendered.

Lookups are strict in English: a Danish text without an English entry raises
:class:`MissingTranslation` naming the text, so a report is entirely English or not
rendered. Danish is the identity (no lookups at all), so Danish reports do not depend on
the catalogue. The language is process-wide (:func:`set_lang`): one kernel renders one
report; the renderer uses :func:`use_lang` for the page around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nsv_eval.errors import NsvError

LANGUAGES = ("da", "en")

_state = {"lang": "da"}
_produced: set[str] = set()  # English texts made by _() (also after .format()), for figures
_catalogue: dict[str, str] | None = None


class MissingTranslation(NsvError):
    """A Danish text has no English entry in the catalogue."""


class Translated(str):
    """A text already in the report language; :func:`tr` passes it through.

    ``.format()`` keeps the mark, so ``_("… {navn}").format(navn=...)`` stays translated.
    """

    def format(self, *args: Any, **kwargs: Any) -> Translated:
        out = Translated(str.format(self, *args, **kwargs))
        if get_lang() != "da":
            _produced.add(str(out))
        return out


def get_lang() -> str:
    """The current report language (``"da"`` or ``"en"``)."""
    return _state["lang"]


def set_lang(lang: str) -> None:
    """Set the report language of this process (a notebook calls it once, at the top)."""
    if lang not in LANGUAGES:
        raise NsvError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    _state["lang"] = lang


@contextmanager
def use_lang(lang: str) -> Iterator[None]:
    """Temporarily use ``lang`` (the renderer formats the page header with it)."""
    old = get_lang()
    set_lang(lang)
    try:
        yield
    finally:
        set_lang(old)


def _key(text: str) -> str:
    """Whitespace-normalised lookup key: line breaks in long texts do not matter."""
    return " ".join(str(text).split())


def catalogue() -> dict[str, str]:
    """Danish → English, keys whitespace-normalised."""
    global _catalogue
    if _catalogue is None:
        from nsv_eval.report.texts_en import TEXTS_EN

        _catalogue = {_key(da): en for da, en in TEXTS_EN}
    return _catalogue


def _lookup(text: str, what: str = "text") -> str:
    try:
        return catalogue()[_key(text)]
    except KeyError:
        short = _key(text)
        short = short if len(short) <= 120 else short[:117] + "…"
        raise MissingTranslation(
            f"No English {what} for {short!r}: add it to nsv_eval/report/texts_en.py "
            f"(or render the report in Danish, lang: da)."
        ) from None


def _(text: str) -> Translated:
    """Mark (and in English translate) a text a notebook composes itself."""
    if isinstance(text, Translated):
        return text
    if get_lang() == "da":
        return Translated(text)
    out = Translated(_lookup(text))
    _produced.add(str(out))
    return out


def translated(text: str) -> Translated:
    """Mark ``text`` as already in the report language (e.g. a label looked up in the
    language's own table, :mod:`nsv_eval.report.labels`), so figures keep it as it is."""
    out = Translated(text)
    if get_lang() != "da":
        _produced.add(str(out))
    return out


def tr(text: Any) -> Any:
    """The text in the report language (package side): Danish and :class:`Translated`
    texts pass through, anything else is looked up strictly in English. Non-strings pass
    through unchanged."""
    if not isinstance(text, str) or isinstance(text, Translated) or get_lang() == "da":
        return text
    if not text.strip():
        return text
    return _lookup(text)


_HAS_WORD = re.compile(r"[^\W\d_]{2,}")


def tr_figure_text(text: str) -> str:
    """A figure text in the report language: looked up if Danish, kept if already English
    (made by :func:`_` or an English catalogue entry) or without words (numbers, symbols)."""
    if get_lang() == "da" or not text.strip():
        return text
    k = _key(text)
    cat = catalogue()
    if k in cat:
        return cat[k]
    if text in _produced or k in _produced or k in {_key(v) for v in cat.values()}:
        return text
    if not _HAS_WORD.search(text):
        return text
    return _lookup(text, "figure text")


def tr_markdown(source: str) -> str:
    """A markdown cell in the report language (looked up whole; strict in English)."""
    if get_lang() == "da" or not source.strip():
        return source
    return _lookup(source, "markdown cell")
