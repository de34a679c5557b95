"""Effects on the win rate: bands of deal size by pooled counts, planted lead sources found by
pooled counts and by the win-rate model, and owners judged fairly."""

from __future__ import annotations

import pandas as pd
import pytest
from patterns_cases import consecutive_snapshots, deals, simulated

from pipeline_models.analyses.patterns.effects import band_effects, deal_size_band, driver_effects
from pipeline_models.analyses.patterns.narrative import effect_sentences
from pipeline_models.analyses.patterns.owners import owner_table


def size_frame() -> pd.DataFrame:
    """200 small deals winning 60% and 200 large ones winning 20%."""
    rows = [(f"s{i}", "2026-01-01", "2026-02-01", "Closed Won" if i % 10 < 6 else "Closed Lost",
             "won" if i % 10 < 6 else "lost", 1000.0, "a", "p") for i in range(200)]  # fmt: skip
    rows += [(f"l{i}", "2026-01-01", "2026-02-01", "Closed Won" if i % 10 < 2 else "Closed Lost",
              "won" if i % 10 < 2 else "lost", 90000.0, "a", "p") for i in range(200)]  # fmt: skip
    return deals(rows)


def test_band_effects_and_sentences_on_a_hand_made_frame():
    frame = size_frame()
    band = deal_size_band(frame, n_bands=2)
    effects = band_effects(frame, band, "deal size")
    small = effects[effects["level"].str.startswith("under")].iloc[0]
    assert small["rate_ratio"] == pytest.approx(0.6 / 0.4, rel=0.05) and small["credible"]
    sentences = effect_sentences(effects)["finding"]
    # strongest first on the log scale: 0.5x (large deals) before 1.5x (small ones)
    assert sentences.iloc[0].startswith("Deals of size 46k or more win 0.5")
    assert sentences.iloc[1].startswith("Deals of size under 46k win 1.")
    assert "as often as the average deal (90% interval" in sentences.iloc[0]


def test_deal_size_band_edges_keep_significant_decimals():
    rows = [(f"d{i}", "2026-01-01", "2026-02-01", "Closed Won" if i % 2 else "Closed Lost",
             "won" if i % 2 else "lost", 1000.0 if i < 50 else 2000.0, "a", "p")
            for i in range(100)]  # fmt: skip
    band = deal_size_band(deals(rows), n_bands=2)
    assert list(band.cat.categories) == ["under 1.50k", "1.50k or more"]


def test_deal_size_band_needs_amounts_on_lost_deals():
    rows = [(f"w{i}", "2026-01-01", "2026-02-01", "Closed Won", "won", 100.0, "a", "p")
            for i in range(10)]  # fmt: skip
    rows += [(f"l{i}", "2026-01-01", "2026-02-01", "Closed Lost", "lost", None, "a", "p")
             for i in range(10)]  # fmt: skip
    assert deal_size_band(deals(rows)) is None


@pytest.mark.parametrize("strong", ["Referral", "Event"])
def test_planted_strong_lead_source_found_by_pooled_counts(strong):
    _, cur, _ = consecutive_snapshots(simulated(strong_source=strong))
    closed = cur[cur["status"].isin(["won", "lost"])]
    effects = band_effects(cur, closed["lead_source"], "lead_source")
    top = effects.sort_values("rate_ratio").iloc[-1]
    assert top["level"] == strong and top["lower"] > 1.2


@pytest.mark.slow
def test_planted_strong_lead_source_and_fair_owners_from_the_win_rate_model():
    from pipeline_models.models import WinRateModel

    _, cur, _ = consecutive_snapshots(simulated(strong_source="Partner"))
    lucky = (
        cur[cur["status"] == "won"]
        .head(5)
        .assign(opportunity_id=lambda d: "lucky-" + d["opportunity_id"], owner="Lucky Newcomer")
    )
    frame = pd.concat([cur, lucky], ignore_index=True)
    model = WinRateModel(groups=["product", "lead_source", "owner"], draws=500, tune=500)
    model.fit(frame, random_seed=3)
    effects = driver_effects(model)
    sources = effects[effects["term"] == "lead_source"].sort_values("rate_ratio")
    assert sources["level"].iloc[-1] == "Partner" and sources["credible"].iloc[-1]
    assert effect_sentences(effects)["finding"].str.contains("lead source Partner win").any()
    owners = owner_table(frame, model, random_seed=3)
    assert owners.loc["Lucky Newcomer", "observed rate"] == 1.0
    assert owners.loc["Lucky Newcomer", "win rate vs team"] == "in line"  # 5 of 5 is luck
    assert owners.loc["Lucky Newcomer", "win rate"] < 0.6
