"""The funnel's quarter rhythm: wins seen by quarter position of the lead's month and months to the
win, against what the lags alone put there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.analyses.lead_requirement.narrative import rhythm_sentence
from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.models.funnel.rhythm import QuarterRhythm, fit_quarter_rhythm, month_numbers


def _quarter_end(rhythm: QuarterRhythm) -> np.ndarray:
    """Cells whose win lands in a quarter's last month."""
    p, o = np.indices(rhythm.observed.shape)
    return (p + o) % 3 == 2


def _mean_factor(rhythm: QuarterRhythm, cells: np.ndarray) -> float:
    """The lags' expected wins' mean factor over ``cells``."""
    e = rhythm.expected * cells
    return float((rhythm.point() * e).sum() / e.sum())


@pytest.fixture(scope="module")
def fits():
    out = {}
    for shape in ("quarter_rhythm", "steady"):
        out[shape] = [
            LeadFunnelModel().fit(f.opportunities, f.leads, f.as_of, random_seed=seed)
            for seed in range(3)
            for f in [simulate_funnel(shape, random_seed=seed)]
        ]
    return out


def test_pushed_wins_show_at_quarter_ends(fits):
    """Half the wins of a quarter's first two months are pushed to its last (``quarter_push``
    0.5): the last month holds about twice its lags' share, the others about half. Measured on
    3 histories: 1.6-1.8 and 0.6-0.7 (the lags themselves are stretched by the pushes, and the
    prior pulls toward 1)."""
    for m in fits["quarter_rhythm"]:
        r = m.quarter_rhythm_
        end = _quarter_end(r)
        assert _mean_factor(r, end) > 1.35
        assert _mean_factor(r, ~end) < 0.8
        figures = m.diagnostics().figures
        assert figures["wins_in_quarter_month_3_factor"] > 1.5
        assert max(figures[f"wins_in_quarter_month_{q}_factor"] for q in (1, 2)) < 0.75


def test_without_a_rhythm_the_factors_stay_near_one(fits):
    """On steady funnels (about 1,000 won paths, a cell of 50-150), every cell the lags give 30
    or more paths has a factor within 0.75-1.3 (measured 0.86-1.11), and quarter ends as a whole
    within 0.1 of 1."""
    for m in fits["steady"]:
        r = m.quarter_rhythm_
        busy = r.expected >= 30
        assert np.all((r.point()[busy] > 0.75) & (r.point()[busy] < 1.3))
        assert abs(_mean_factor(r, _quarter_end(r)) - 1) < 0.1


def test_draws_move_wins_without_adding_any(fits):
    r = fits["quarter_rhythm"][0].quarter_rhythm_
    draws = r.factors(np.random.default_rng(0), 500)
    kept = (draws * r.expected).sum(axis=-1)
    np.testing.assert_allclose(kept, np.broadcast_to(r.expected.sum(axis=-1), kept.shape))
    assert np.allclose(draws.mean(axis=0), r.point(), rtol=0.05, atol=0.02)


def test_expected_counts_by_hand():
    """Each path's lag distribution is the paths' weighted lags that its own observation window
    lets through, placed from its own creation day."""
    paths = pd.DataFrame(
        {
            "lead_created": pd.to_datetime(["2026-01-31", "2026-05-20", "2026-06-20"]),
            "lag_total": [1.0, 30.0, 1.0],
            "weight": [0.25, 0.5, 0.25],
        }
    )
    r = fit_quarter_rhythm(paths, pd.Timestamp("2026-06-25"), None, strength=1.0)
    expected = np.zeros((3, 3))
    expected[0, 1] = expected[0, 2] = 0.5  # Jan 31 + 1 day: Feb 1; + 30 days: Mar 2
    expected[1, 0] = expected[1, 1] = 0.5  # May 20 + 1: May 21; + 30: Jun 19
    expected[2, 0] = 1.0  # Jun 20, five days before the as-of date: only the 1-day lag is seen
    np.testing.assert_allclose(r.expected[:, :3], expected)
    assert r.expected[:, 3:].sum() == 0
    observed = np.zeros_like(r.expected)
    observed[0, 1] = observed[1, 1] = observed[2, 0] = 1
    np.testing.assert_array_equal(r.observed, observed)


def test_lookup_gives_one_outside_the_seen_offsets():
    r = QuarterRhythm(np.ones((3, 2)), np.ones((3, 2)), 1.0)
    factor = np.arange(6.0).reshape(3, 2) + 1
    got = r.at(factor, np.array([0, 1, 2, 2]), np.array([1, 0, -1, 2]))
    np.testing.assert_array_equal(got, [2.0, 3.0, 1.0, 1.0])
    assert month_numbers(np.array(["2026-04-15"], dtype="datetime64[D]"))[0] % 3 == 0


def test_the_report_says_so_only_where_wins_bunch(fits):
    """The lead requirement's sentence: on every quarter-rhythm history, on no steady one (10 of
    10 and 0 of 30 over steady, drifting and sparse funnels when measured)."""
    for m in fits["quarter_rhythm"]:
        sentence = rhythm_sentence(m)
        assert sentence is not None and "quarter's last month 1.8 times" in sentence
    assert all(rhythm_sentence(m) is None for m in fits["steady"])
