"""The "Hovedresultater" box at the top of a report, and the key results written beside it.

How the box gets to the top although its numbers are computed further down: the notebook
creates ``findings = Findings(results_path)`` and calls ``findings.box()`` in a cell near the
top. ``box()`` displays the (still empty) box with an IPython *display id*; every later
``findings.add(...)`` re-renders the box and sends an ``update_display_data`` message for
that id. Jupyter (interactively) and nbclient/papermill (in a batch run) both replace the
earlier output in place, so the executed notebook — and the HTML rendered from it — shows
the complete box at the top. No re-execution, no placeholders in the HTML.

Each sentence is a template written by the notebook author; its numbers are filled in from
the computed values, so the text cannot drift from the numbers:

>>> f = Findings()
>>> f.add("persons", 12345, "Data omfatter {value} personer.", kind="count")
'Data omfatter 12.345 personer.'

Counts (``kind="count"`` and ``counts={...}``) pass :func:`~nsv_eval.report.disclosure.fmt_count`
(1–4 → ``"<5"``) and are marked for the report scanner; a suppressed count is stored as
``null`` in the JSON. Each ``add`` also rewrites ``results_path`` (JSON, atomically), which
``nsv-eval run`` turns into ``<NN_study>.json`` beside the report.
"""

from __future__ import annotations

import html
import json
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsv_eval.report import narrative
from nsv_eval.report.disclosure import THRESHOLD, count_html, fmt_count
from nsv_eval.report.format import fmt_ci, fmt_estimate_ci, fmt_number, fmt_pct, fmt_rate
from nsv_eval.report.i18n import tr

KINDS = ("count", "number", "pct", "rate", "effect", "text")

KEY_LABELS_DA: dict[str, str] = {
    # short Danish headings for key results, used by overviews across kommuner (batch
    # index.html) when a notebook does not pass ``label_da=`` itself
    "data_period": "Dataperiode",
    "rows_read": "Indlæste rækker",
    "reconciled": "Afstemning",
    "contact_rate_ratio": "Kontakter pr. 1.000",
    "coverage_gaps": "Huller i data",
    "unmatched_contacts": "Kontakter uden person",
    "preventable_65": "Forebyggelige indl. 65+ (pr. 1.000)",
    "readmission_65": "Genindlæggelser 65+ (%)",
    "short_stay_65": "Korttidsindl. 65+ (pr. 1.000)",
    "fall_injury_65": "Faldulykker 65+ (pr. 1.000)",
    "hip_fracture_65": "Hoftebrud 65+ (pr. 1.000)",
    "copd_acute": "Borgere med KOL (pr. 1.000)",
    "diabetes_acute": "Borgere med type 2-diabetes (pr. 1.000)",
    "heart_failure_acute": "Hjertesvigt (pr. 100.000)",
    "daily_smoker": "Dagligrygere (%)",
    "life_expectancy_M": "Middellevetid, mænd",
    "life_expectancy_F": "Middellevetid, kvinder",
    "rate_change": "Rate, seneste periode (pr. 1.000)",
    "dsr_pooled": "Aldersstandardiseret rate (pr. 1.000)",
    "its_rate_ratio": "Tidsserie: rateratio",
    "did_att": "DiD: ændring pr. 1.000",
    "did_poisson_rate_ratio": "DiD (antal, personår): rateratio",
    "cohort_risk_ratio": "Deltagere: risikoratio",
    "verdict": "Samlet vurdering",
    "readmission_share": "Genindlagt inden 30 dage (%)",
    "readmission_isr": "Standardiseret ratio (landet = 100)",
    "isr": "Standardiseret ratio (landet = 100)",
    "followup_rr": "Hjemmebesøg: justeret RR",
    "followup_naive_rr": "Hjemmebesøg: ujusteret RR",
    "followup_e_value": "E-værdi",
    "followup_triangulation": "Designs enige",
    "cif_vs_km": "Genindlagt dag 30 med besøg (%)",
    "sc_avg_gap": "Syntetisk kontrol: forskel pr. 1.000",
    "sii_deaths_last": "Ulighed i dødelighed (SII)",
    "smoking_gap": "Forskel i rygning (procentpoint)",
    "acute_team_net_saving": "Akutteam: netto (kr.)",
    "followup_visit_net_saving": "Hjemmebesøg: netto (kr.)",
    "falls_programme_net_saving": "Faldforebyggelse: netto (kr.)",
    "uptake_75": "Forebyggende besøg ved 75 år (%)",
    "rd_first_stage": "Aldersgrænse: spring i besøg (pct.-point)",
    "rd_late_acute": "Aldersgrænse: effekt pr. 1.000",
    "rd_mde_acute": "Mindste påviselige effekt pr. 1.000",
    "iptw_rr": "Tog imod vs. nej: RR",
    "negative_control_rr": "Negativ kontrol: RR",
}
"""Default ``label_da`` of key results by key (a notebook's own ``label_da=`` wins)."""
SCHEMA_VERSION = 1


def _clean(x: Any) -> Any:
    """JSON-safe scalar: numpy → Python, NaN → None."""
    if x is None:
        return None
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    return x


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename.

    The temporary file is created with mode 0666 minus the umask (as a plain ``open()``
    would), not ``mkstemp``'s 0600, so published reports stay readable for colleagues or a
    web server.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class Findings:
    """Collector of key results and the "Hovedresultater" box.

    Parameters
    ----------
    results_path : str or Path, optional
        Where the key results are written as JSON after each :meth:`add` (the ``run``
        command passes ``.work/<study>.results.json``); None/empty → nothing is written.
    study, kommune : optional
        Stored in the JSON.
    title : str
        Heading of the box.
    threshold : int
        Disclosure threshold for counts.
    """

    def __init__(
        self,
        results_path: str | Path | None = None,
        *,
        study: str | None = None,
        kommune: int | None = None,
        title: str = "Hovedresultater",
        threshold: int = THRESHOLD,
    ) -> None:
        self.results_path = Path(results_path) if results_path else None
        self.study = study
        self.kommune = kommune
        self.title = title
        self.threshold = threshold
        self.items: list[dict[str, Any]] = []
        self.values: dict[str, Any] = {}
        self._html_sentences: list[tuple[str, str]] = []
        self._display_id = f"nsv-findings-{uuid.uuid4().hex}"
        self._handle: Any = None

    # -- values ---------------------------------------------------------------------
    def _format(
        self, kind: str, value: Any, decimals: int, per: int, unit: str | None
    ) -> tuple[str, str]:
        """(plain text, HTML) of a value of ``kind``."""
        if kind == "count":
            return fmt_count(value, self.threshold), count_html(value, self.threshold)
        if kind == "pct":
            t = fmt_pct(value, decimals)
        elif kind == "rate":
            t = fmt_rate(value, per, decimals, scaled=True)
        elif kind in ("number", "effect"):
            t = fmt_number(value, decimals)
        elif kind == "text":
            t = str(value)
        else:
            raise ValueError(f"Findings.add: kind must be one of {KINDS}, got {kind!r}")
        if unit and kind not in ("pct", "rate"):
            t = f"{t} {unit}"
        return t, html.escape(t)

    def add(
        self,
        key: str,
        value: Any,
        sentence_da: str,
        *,
        kind: str = "number",
        lower: float | None = None,
        upper: float | None = None,
        conf: float = 0.95,
        decimals: int = 1,
        per: int = 1000,
        unit: str | None = None,
        counts: Mapping[str, int] | None = None,
        texts: Mapping[str, str] | None = None,
        **meta: Any,
    ) -> str:
        """Add one key result and its sentence; update the box; save the JSON.

        Parameters
        ----------
        key : str
            Machine name (unique within the study), the key in the JSON.
        value : number or str
            The value. For ``kind="pct"`` a proportion (0–1); for ``"rate"`` already per
            ``per``.
        sentence_da : str
            Danish sentence template. Placeholders: ``{value}``, ``{ci}`` (``95 %-KI:
            12,3–14,5``), ``{lower}``, ``{upper}``, ``{value_ci}`` (estimate with interval),
            the names in ``counts`` and ``texts``.
        kind : str
            ``"count"``, ``"number"``, ``"pct"``, ``"rate"``, ``"effect"`` or ``"text"``.
        lower, upper : float, optional
            Confidence limits (same scale as ``value``).
        conf : float
            Confidence level of the limits.
        decimals : int
            Decimals shown.
        per : int
            For rates: the "per" of the unit (``pr. 1.000``).
        unit : str, optional
            Unit written after the value (and stored in the JSON).
        counts : mapping, optional
            Further counts used in the sentence (suppressed and marked like ``value``).
        texts : mapping, optional
            Further pre-formatted texts used in the sentence (escaped, not checked).
        **meta
            Extra JSON-serialisable fields stored with the result (e.g. ``p_value``);
        ``definition="readmission"`` names the indicator definition behind the number
        (default: :func:`nsv_eval.report.definitions.definition_for` of the key).

        Returns
        -------
        str
            The sentence as plain text.
        """
        if any(it["key"] == key for it in self.items):
            raise ValueError(f"Findings.add: key {key!r} was already added")
        sentence_da = tr(sentence_da)  # English reports: the catalogue's sentence
        plain_v, html_v = self._format(kind, value, decimals, per, unit)
        fields_t: dict[str, str] = {"value": plain_v}
        fields_h: dict[str, str] = {"value": html_v}
        if lower is not None and upper is not None:
            scale = 100.0 if kind == "pct" else 1.0
            lo, hi = float(lower) * scale, float(upper) * scale
            est = float(value) * scale if kind != "count" else float(value)
            ci = fmt_ci(lo, hi, decimals, conf=conf)
            fields_t |= {
                "ci": ci,
                "lower": fmt_number(lo, decimals),
                "upper": fmt_number(hi, decimals),
                "value_ci": fmt_estimate_ci(
                    est, lo, hi, decimals, conf=conf, unit="%" if kind == "pct" else ""
                ),
            }
            fields_h |= {k: html.escape(v) for k, v in fields_t.items() if k != "value"}
        for name, n in (counts or {}).items():
            fields_t[name] = fmt_count(n, self.threshold)
            fields_h[name] = count_html(n, self.threshold)
        for name, t in (texts or {}).items():
            fields_t[name] = str(t)
            fields_h[name] = html.escape(str(t))
        try:
            text = sentence_da.format(**fields_t)
            # escape the template's own text, then fill in the (already escaped) values
            sentence_html = html.escape(sentence_da, quote=False).format(**fields_h)
        except KeyError as exc:
            raise ValueError(
                f"Findings.add({key!r}): the sentence uses {{{exc.args[0]}}}, which is not "
                f"given (have {sorted(fields_t)})"
            ) from None

        suppressed = kind == "count" and value is not None and 0 < int(value) < self.threshold
        item: dict[str, Any] = {
            "key": key,
            "kind": kind,
            "value": None if suppressed else _clean(value),
            "display": plain_v,
            "lower": _clean(lower),
            "upper": _clean(upper),
            "conf": conf if lower is not None else None,
            "unit": unit,
            "suppressed": suppressed,
            "text": text,
        }
        if counts:
            item["counts"] = {
                k: (None if 0 < int(v) < self.threshold else _clean(v)) for k, v in counts.items()
            }
        item["label_da"] = meta.pop("label_da", None) or KEY_LABELS_DA.get(key)
        item["definition"] = meta.pop("definition", None) or self._definition_of(key)
        item.update({k: _clean(v) for k, v in meta.items()})
        self.items.append(item)
        self._html_sentences.append((key, sentence_html))
        self._refresh()
        self.save()
        return text

    def add_effect(
        self,
        key: str,
        result: Any,
        sentence_da: str | None = None,
        *,
        decimals: int = 2,
        **kwargs: Any,
    ) -> str:
        """Add the headline effect of an ``EffectResult`` (estimate, CI, p-value, design).

        ``sentence_da`` defaults to the design's own Danish headline
        (``result.summary`` without the assumptions).
        """
        row = result.main_effect()
        if sentence_da is None:
            sentence_da = narrative.headline(result, "da").replace("{", "{{").replace("}", "}}")
        return self.add(
            key,
            float(row["estimate"]),
            sentence_da,
            kind="effect",
            lower=float(row["lower"]),
            upper=float(row["upper"]),
            conf=float(result.conf),
            decimals=decimals,
            design=result.design,
            scale=result.scale,
            term=str(row["term"]),
            p_value=_clean(row.get("p_value")),
            **kwargs,
        )

    def _definition_of(self, key: str) -> str | None:
        """Id of the indicator definition behind ``key`` (variant and version are added by
        ``nsv-eval run`` from the prepared data; see :mod:`nsv_eval.report.definitions`)."""
        from nsv_eval.report.definitions import definition_for
        from nsv_eval.report.studies import STUDIES

        study = STUDIES.get(self.study or "")
        return definition_for(key, study.definitions if study else ())

    def record(self, key: str, value: Any, *, kind: str = "number", **meta: Any) -> None:
        """Store a value in the JSON without a sentence in the box (e.g. a whole series)."""
        if kind == "count" and value is not None and 0 < int(value) < self.threshold:
            value = None
            meta["suppressed"] = True
        self.values[key] = {"value": _clean(value), "kind": kind, **meta}
        self.save()

    # -- output ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The key results as a JSON-serialisable dict."""
        return {
            "schema": SCHEMA_VERSION,
            "study": self.study,
            "kommune": self.kommune,
            "findings": self.items,
            "values": self.values,
        }

    def save(self) -> None:
        """Write :meth:`to_dict` to ``results_path`` (atomically); no-op without a path."""
        if self.results_path is None:
            return
        atomic_write_text(
            self.results_path,
            json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str),
        )

    def html(self) -> str:
        """The box as HTML."""
        if self._html_sentences:
            body = (
                "<ul>"
                + "".join(
                    f'<li data-key="{html.escape(k)}">{s}</li>' for k, s in self._html_sentences
                )
                + "</ul>"
            )
        else:
            body = (
                '<p class="nsv-findings-empty">'
                + html.escape(tr("Hovedresultaterne vises, når analysen er kørt."))
                + "</p>"
            )
        return (
            '<div class="nsv-findings" style="border:2px solid #0072B2;border-radius:6px;'
            'padding:0.6em 1.2em;margin:0.5em 0 1em 0;background:#F2F8FC">'
            f'<h2 style="margin-top:0.3em">{html.escape(tr(self.title))}</h2>{body}</div>'
        )

    def _repr_html_(self) -> str:
        return self.html()

    def box(self) -> None:
        """Display the box; later :meth:`add` calls update it in place (see module doc)."""
        from IPython.display import HTML, display

        self._handle = display(HTML(self.html()), display_id=self._display_id)

    def _refresh(self) -> None:
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self.html()))
