"""Shared fixtures: a small synthetic Denmark and its prepared (ingested + cleaned) form.

Both are generated once per test session into a temporary directory, so tests never depend
on `data/` of the working tree. Scale 0.005 (about 30,000 persons) keeps the suite fast
while every kommune still has residents.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TEST_SCALE = 0.005
TEST_SEED = 7


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with a small synthetic Denmark in the raw layout (see ARCHITECTURE.md)."""
    from nsv_eval.synth import generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(out, scale=TEST_SCALE, seed=TEST_SEED)
    return out


@pytest.fixture(scope="session")
def prepared_dir(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with the prepared layout (clean tables, courses, cube, cohorts), built with
    the default (official) indicator definitions: hospital events are admission stays."""
    from nsv_eval.clean import prepare

    out = tmp_path_factory.mktemp("prepared")
    prepare(synth_dir, out)
    return out


@pytest.fixture(scope="session")
def prepared_legacy_dir(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same world prepared with the legacy definitions (``--definitions legacy``:
    chained courses), whose counts ``truth.json`` states exactly."""
    from nsv_eval.clean import prepare

    out = tmp_path_factory.mktemp("prepared-legacy")
    prepare(synth_dir, out, definitions_choice="legacy")
    return out


def title_of(ax) -> str:
    """An axes' title wherever it is placed (the report theme puts titles on the left)."""
    return " ".join(t for t in (ax.get_title(loc=x) for x in ("left", "center", "right")) if t)


EMPTY_KOMMUNE = 479  # Svendborg: emptied of every event by `empty_kommune_prepared`


@pytest.fixture(scope="session")
def empty_kommune_prepared(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared layout of the small synthetic Denmark in which kommune ``EMPTY_KOMMUNE`` has
    residents but no events at all (no contacts, care, falls, interventions, deaths or
    survey respondents; interventions never started). See ``tests/_empty_kommune.py``."""
    from _empty_kommune import empty_kommune_raw

    from nsv_eval.clean import prepare

    raw = empty_kommune_raw(synth_dir, tmp_path_factory.mktemp("raw-empty"), EMPTY_KOMMUNE)
    out = tmp_path_factory.mktemp("prepared-empty")
    prepare(raw, out)
    return out


@pytest.fixture
def typed_splits(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every result of ``nsv_eval.ingest.typed.split_typed`` as ingest calls it during the
    test (the real function runs; None = the file did not qualify for the DuckDB path)."""
    import nsv_eval.ingest.core as core
    from nsv_eval.ingest import typed

    splits: list = []
    real = typed.split_typed

    def spy(*a, **k):
        r = real(*a, **k)
        splits.append(r)
        return r

    monkeypatch.setattr(core, "split_typed", spy)
    return splits
