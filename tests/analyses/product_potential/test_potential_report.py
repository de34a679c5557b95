"""The product potential report on an export its models cannot support: plain warnings, a reader
table of the deals each product holds, a sentence in every section, the mix chart with its alt
text, and the technical appendix."""

from __future__ import annotations

import pandas as pd
from potential_cases import reader_faults

from pipeline_models.analyses.product_potential import report
from pipeline_models.models.period import PeriodModels
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.inputs import Sources, prepare

SAMPLER_WORDS = ("R-hat", "ESS", "divergen", "sampler", "chain")


def _unsupported(small_sample, tmp_path, monkeypatch) -> Catalog:
    """The small sample with the period's models skipped, as an export of open deals only
    would leave them (their fits take minutes; the report's unavailable form reads none)."""
    export = small_sample / "exports" / "opportunities_2026-10.csv"
    sources = Sources(export=export, period="2026-10", random_seed=3, cache_dir=tmp_path / "f")
    catalog = Catalog.open(prepare(sources, tmp_path / "run").catalog.folder)
    reason = "the export holds no closed deal (won or lost), so no win rate can be estimated"
    models = PeriodModels(None, None, None, skipped={"win_rate": reason})
    monkeypatch.setattr(catalog, "period_models", lambda: models)
    return catalog


def test_an_unsupported_export_reads_as_a_report(small_sample, tmp_path, monkeypatch):
    content = report.build(_unsupported(small_sample, tmp_path, monkeypatch))
    assert content.warnings == [
        "Product potential cannot be estimated: the export holds no closed deal (won or lost), "
        "so no win rate can be estimated."
    ]
    assert not [w for w in content.warnings if any(s in w for s in SAMPLER_WORDS)]
    assert not [v for _, v in content.headline if v in ("n/a", "nan", "")]
    deals = content.table("win_size").frame
    assert reader_faults(deals) == []
    assert list(deals.columns) == ["Product", "Open", "Won", "Lost", "All deals"]
    assert isinstance(deals.index, pd.RangeIndex)
    # every section the notebook shows holds a sentence
    for part in ("spread", "ranking", "levers", "peers", "regions"):
        assert content.note(part).template.startswith("Not shown on this export"), part
    mix = content.chart("mix")
    assert mix.alt.startswith("Each product's monthly share of deals created")
    for name, table in content.tables.items():
        assert reader_faults(table.frame) == [], name
