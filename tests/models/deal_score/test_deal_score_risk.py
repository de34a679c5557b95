"""Open deals' odds against the deals open at the same age (the forecaster's risk set)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.models.deal_score import risk


class _Fixed:
    """A stand-in score: each deal's chance is its ``p`` column."""

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["p"].to_numpy()


def _table(n_strong: int = 40, n_weak: int = 40) -> pd.DataFrame:
    """Strong deals (p 0.8) created in January all won in January; weak ones (p 0.2) created in
    January are still open in April, and so is one strong deal created in April."""
    jan, apr = pd.Timestamp("2026-01-05"), pd.Timestamp("2026-04-10")
    strong = pd.DataFrame(
        {"created_date": jan, "close_date": jan + pd.Timedelta(days=10), "status": "won", "p": 0.8},
        index=range(n_strong),
    )
    weak = pd.DataFrame(
        {"created_date": jan, "close_date": pd.NaT, "status": "open", "p": 0.2},
        index=range(n_strong, n_strong + n_weak),
    )
    new = pd.DataFrame(
        {"created_date": [apr], "close_date": [pd.NaT], "status": ["open"], "p": [0.8]},
        index=[n_strong + n_weak],
    )
    table = pd.concat([strong, weak, new])
    table["product"] = "A"
    table["opportunity_id"] = [f"d{i}" for i in range(len(table))]
    return table


def test_old_open_deals_are_compared_with_the_deals_still_open_at_their_age():
    table = _table()
    odds = risk.risk_set_odds(_Fixed(), table, "2026-04-30", "product")
    weak = table.index[(table["p"] == 0.2)]
    # at age 3 only the weak deals were still open: a weak deal is average there
    np.testing.assert_allclose(odds[weak], 1.0)
    # at age 0 every deal was open: half strong, half weak; a new strong deal stands above them
    new = table.index[-1]
    z = np.log(0.8 / 0.2)
    reference = (40 * z + 40 * -z + z) / 81  # the new deal itself is open at age 0 too
    np.testing.assert_allclose(odds[new], np.exp(z - reference))


def test_thin_groups_lean_on_all_groups_and_undated_deals_keep_odds_one():
    table = _table(n_strong=5, n_weak=5)
    table.loc[table.index[0], "created_date"] = pd.NaT
    odds = risk.risk_set_odds(_Fixed(), table, "2026-04-30", "product")
    assert odds.iloc[0] == 1.0
    assert np.isfinite(odds).all() and (odds > 0).all()
