"""The deal score: its design, its Laplace fit, recovery of known effects, leakage guards and the
model contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from deal_cases import INTERACTION, PRODUCTS, simulate_deals, size_effect
from scipy.optimize import minimize
from scipy.special import expit

from pipeline_models.models.deal_score import DealScoreConfig, DealScoreModel, score_frame
from pipeline_models.models.deal_score.deals import account_past, amount_reason
from pipeline_models.models.deal_score.design import precision_levels
from pipeline_models.models.deal_score.laplace import Block, Coded, fit_laplace
from pipeline_models.models.deal_score.scores import ece, log_loss

ATTRS = ("product", "region", "owner")


def test_precision_counts_significant_digits():
    amounts = pd.Series([50_000, 48_350, 1_200, 0, np.nan, 12.5, 1_000_001, -5])
    assert precision_levels(amounts).tolist() == ["1", "4+", "2", "none", "none", "3", "4+", "none"]


def _dense(X: Coded) -> np.ndarray:
    out = np.zeros(X.shape)
    cols = X.columns()
    for i, row in enumerate(cols):
        out[i, row[row >= 0]] = 1.0
    return out


def test_coded_products_equal_dense_products():
    rng = np.random.default_rng(0)
    sizes = np.array([1, 3, 4, 6])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    codes = np.column_stack([np.zeros(300, int)] + [rng.integers(-1, s, 300) for s in sizes[1:]])
    X, D = Coded(codes, starts, sizes), None
    D = _dense(X)
    w, b = rng.random(300), rng.normal(size=X.shape[1])
    np.testing.assert_allclose(X.gram(w), D.T @ (w[:, None] * D), atol=1e-10)
    np.testing.assert_allclose(X.rdot(w), D.T @ w, atol=1e-10)
    np.testing.assert_allclose(X.dot(b), D @ b, atol=1e-12)


def test_mode_matches_a_general_optimiser():
    """With the spreads held, the Newton mode is the maximum of the log posterior that a
    quasi-Newton optimiser finds on the dense problem."""
    rng = np.random.default_rng(1)
    sizes = np.array([1, 4, 3])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    codes = np.column_stack([np.zeros(400, int), rng.integers(0, 4, 400), rng.integers(0, 3, 400)])
    X = Coded(codes, starts, sizes)
    y = (rng.random(400) < 0.35).astype(float)
    n = np.ones(400)
    blocks = [Block(int(s), int(k), np.eye(k), int(k)) for s, k in zip(starts, sizes, strict=True)]
    tau = np.array([0.01, 4.0, 1.0])
    fit = fit_laplace(X, n, y, blocks, (0.01, 10), tau, estimate_spreads=False)
    D = _dense(X)
    prec = np.concatenate([np.full(k, t) for k, t in zip(sizes, tau, strict=True)])

    def neg(beta):
        eta = D @ beta
        return -(y * eta - np.logaddexp(0, eta)).sum() + 0.5 * (prec * beta**2).sum()

    best = minimize(neg, np.zeros(D.shape[1]), method="BFGS", options={"gtol": 1e-8}).x
    np.testing.assert_allclose(fit.beta, best, atol=1e-4)
    assert fit.newton_converged


@pytest.fixture(scope="module")
def recovery():
    frame, truth = simulate_deals(8_000, seed=5)
    held, held_truth = simulate_deals(4_000, seed=6)
    model = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    return model, held, held_truth


def test_recovers_known_chances_better_than_main_effects(recovery):
    """Held-out chances are close to the truth, closer than a logistic regression on the same
    attributes with a straight line in log amount (which cannot bend or see round figures)."""
    model, held, truth = recovery
    p = model.predict(held)
    error = np.abs(p - truth)
    frame, _ = simulate_deals(8_000, seed=5)
    X = pd.get_dummies(frame[list(ATTRS)], drop_first=True).astype(float)
    X["log_amount"] = np.log(frame["amount"])
    Xh = pd.get_dummies(held[list(ATTRS)], drop_first=True).astype(float)
    Xh["log_amount"] = np.log(held["amount"])
    A, Ah = np.c_[np.ones(len(X)), X.to_numpy()], np.c_[np.ones(len(Xh)), Xh.to_numpy()]
    y = frame["won"].to_numpy(float)

    def neg(beta):
        eta = A @ beta
        return -(y * eta - np.logaddexp(0, eta)).sum()

    beta = minimize(neg, np.zeros(A.shape[1]), method="BFGS").x
    plain = expit(Ah @ beta)
    assert error.mean() < 0.035
    assert error.mean() < 0.75 * np.abs(plain - truth).mean()
    won = held["won"].to_numpy()
    assert log_loss(p, won) < log_loss(plain, won)
    assert ece(p, won) < 0.03


def test_recovers_the_shape_of_the_amount_effect(recovery):
    """The smooth effect of size follows the true hump (up to a constant) where deals are."""
    model, _, _ = recovery
    term = model.coding_.smooth()
    beta = model.fit_.beta[term.start : term.start + term.size]
    edges = model.coding_.bin_edges
    centres = np.r_[edges[0] - 0.1, (edges[1:] + edges[:-1]) / 2, edges[-1] + 0.1]
    inner = slice(3, -3)  # the outermost bins hold few deals
    est = beta[inner] - beta[inner].mean()
    true = size_effect(centres[inner]) - size_effect(centres[inner]).mean()
    assert np.abs(est - true).max() < 0.3
    assert np.corrcoef(est, true)[0, 1] > 0.85


def test_pooling_keeps_null_pairs_near_zero_and_finds_the_real_one(recovery):
    model, _, _ = recovery
    sd = model.spreads()
    for null in ("region:owner", "product:owner"):
        assert sd[null] < 0.1, (null, sd[null])
        assert sd["product:region"] > 2 * sd[null]
    term = next(t for t in model.coding_.terms if t.name == "product:region")
    levels = model.coding_.levels
    alpha_north = levels["product"].index(PRODUCTS[0]) * len(levels["region"])
    alpha_north += levels["region"].index("North")
    cells = model.fit_.beta[term.start : term.start + term.size]
    # a lone strong cell is shrunk (the main effects take part of it), but it stands out
    assert cells.argmax() == alpha_north
    assert 0.2 < cells[alpha_north] < INTERACTION


def test_round_amounts_are_learned_as_weaker(recovery):
    model, held, _ = recovery
    reasons = model.contributions(held)["amount precision"]
    round_figure = precision_levels(held["amount"]) == "1"
    assert reasons[round_figure].mean() < reasons[~round_figure].mean() - 0.5


def test_reasons_name_the_strongest_terms(recovery):
    model, held, _ = recovery
    reasons = model.reasons(held.head(5), top=2)
    assert len(reasons) == 10
    contrib = model.contributions(held.head(5))
    for deal, group in reasons.groupby("deal"):
        top = contrib.loc[deal].abs().sort_values(ascending=False).index[:2].tolist()
        assert group.sort_values("rank")["term"].tolist() == top


def test_small_data_pooling_beats_raw_rates():
    """On 300 deals, the pooled score predicts held-out deals better than raw cell rates."""
    frame, _ = simulate_deals(300, seed=11)
    held, _ = simulate_deals(4_000, seed=12)
    model = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    keys = ["product", "region"]
    rates = frame.groupby(keys)["won"].mean().rename("rate")
    raw = held.join(rates, on=keys)["rate"].fillna(frame["won"].mean()).clip(0.001, 0.999)
    won = held["won"].to_numpy()
    assert log_loss(model.predict(held), won) < 0.97 * log_loss(raw.to_numpy(), won)


def test_unseen_levels_take_the_population_value():
    frame, _ = simulate_deals(500, seed=2)
    model = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    new = frame.head(3).assign(product="Never seen", owner="<b>new</b>")
    p = model.predict(new)
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_save_and_load_give_the_same_scores(tmp_path):
    frame, _ = simulate_deals(600, seed=3)
    model = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    model.save(tmp_path / "fit")
    again = DealScoreModel.load(tmp_path / "fit")
    np.testing.assert_array_equal(model.predict(frame), again.predict(frame))
    assert again.config_id == model.config_id
    assert DealScoreModel(DealScoreConfig(amount=None)).config_id != model.config_id


def test_fit_refuses_mismatched_outcomes():
    frame, _ = simulate_deals(50, seed=3)
    with pytest.raises(ValueError, match="49 entries for 50 deals"):
        DealScoreModel().fit(frame, frame["won"].to_numpy()[:-1])


def test_fit_is_deterministic():
    frame, _ = simulate_deals(800, seed=4)
    a = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    b = DealScoreModel(DealScoreConfig(attributes=ATTRS)).fit(frame, frame["won"].to_numpy())
    np.testing.assert_array_equal(a.fit_.beta, b.fit_.beta)
    np.testing.assert_array_equal(a.oof_, b.oof_)


# ----------------------------------------------------------------- canonical tables, leakage
def _canonical() -> pd.DataFrame:
    day = pd.Timestamp("2026-01-01")
    return pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d", "e"],
            "account": ["Acme", "Acme", "Acme", "Zed", "Zed"],
            "created_date": [
                day,
                day + pd.Timedelta(days=10),
                day + pd.Timedelta(days=40),
                day,
                day + pd.Timedelta(days=5),
            ],
            "close_date": [
                day + pd.Timedelta(days=20),
                day + pd.Timedelta(days=50),
                pd.NaT,
                day + pd.Timedelta(days=5),
                pd.NaT,
            ],
            "status": ["won", "lost", "open", "lost", "open"],
            "amount": [1000.0, 0.0, np.nan, 0.0, np.nan],
        }
    )


def test_account_past_counts_only_deals_closed_before_creation():
    past = account_past(_canonical())
    # b was created before a closed; c after a was won; e on the day d was lost (not before)
    assert past.tolist() == ["first deal", "first deal", "won before", "first deal", "first deal"]


def _account_past_by_merge(frame: pd.DataFrame) -> pd.Series:
    """The account past by a plain as-of join of each deal on its account's earlier closes."""
    closed = frame[frame["status"].isin(["won", "lost"]) & frame["close_date"].notna()]
    closed = closed[closed["account"].notna()]
    events = pd.DataFrame(
        {
            "account": closed["account"].astype(str),
            "when": closed["close_date"],
            "won": (closed["status"] == "won").astype(int),
        }
    ).sort_values(["when", "account"], kind="stable")
    events["closed_n"] = events.groupby("account").cumcount() + 1
    events["won_n"] = events.groupby("account")["won"].cumsum()
    deals = pd.DataFrame(
        {"account": frame["account"].astype(str), "when": frame["created_date"]}
    ).assign(row=np.arange(len(frame)))
    known = deals[deals["when"].notna() & frame["account"].notna().to_numpy()]
    merged = pd.merge_asof(
        known.sort_values("when", kind="stable"),
        events,
        on="when",
        by="account",
        allow_exact_matches=False,
    )
    label = np.where(
        merged["closed_n"].fillna(0) == 0,
        "first deal",
        np.where(merged["won_n"].fillna(0) > 0, "won before", "lost before"),
    )
    out = pd.Series("(none)", index=range(len(frame)), dtype=object)
    out.iloc[merged["row"].to_numpy()] = label
    return out


def test_account_past_agrees_with_an_as_of_join_on_ties_and_gaps():
    rng = np.random.default_rng(7)
    n = 3_000
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
    closed = created + pd.to_timedelta(rng.integers(0, 60, n), "D")  # many same-day ties
    frame = pd.DataFrame(
        {
            "account": pd.array(rng.choice([f"acct {k}" for k in range(40)], n), dtype="string"),
            "created_date": created,
            "close_date": closed,
            "status": pd.array(rng.choice(["won", "lost", "open"], n), dtype="string"),
        }
    )
    frame.loc[rng.random(n) < 0.05, "account"] = pd.NA
    frame.loc[rng.random(n) < 0.03, "created_date"] = pd.NaT
    frame.loc[rng.random(n) < 0.03, "close_date"] = pd.NaT
    past = account_past(frame).astype(object).fillna("(none)")
    expected = _account_past_by_merge(frame)
    assert past.tolist() == expected.tolist()
    assert set(expected) == {"first deal", "won before", "lost before", "(none)"}


def test_amounts_set_at_closing_are_left_out():
    frame = _canonical()
    reason = amount_reason(frame)
    assert reason is not None and "lost deals" in reason
    assert "amount" not in score_frame(frame).columns
    frame["amount"] = [1000.0, 500.0, 700.0, 300.0, 800.0]
    assert amount_reason(frame) is None
    assert "amount" in score_frame(frame).columns


def test_relative_odds_are_one_on_average_within_a_group(recovery):
    model, held, _ = recovery
    odds = model.relative_odds(held, "product")
    by_product = pd.Series(np.log(odds)).groupby(held["product"].to_numpy()).mean()
    assert np.abs(by_product).max() < 0.35
    assert np.log(odds).std() > 0.3  # deals of one product still differ


def test_large_exports_are_fitted_on_a_seeded_subsample():
    frame, _ = simulate_deals(1_500, seed=8)
    config = DealScoreConfig(attributes=ATTRS, max_deals=1_000)
    a = DealScoreModel(config).fit(frame, frame["won"].to_numpy(), random_seed=3)
    b = DealScoreModel(config).fit(frame, frame["won"].to_numpy(), random_seed=3)
    assert a.subsampled_ and a.deals_ == 1_000
    np.testing.assert_array_equal(a.predict(frame), b.predict(frame))
    with pytest.raises(ValueError, match="max_deals"):
        DealScoreConfig(max_deals=10)


def test_predictions_are_computed_once_per_distinct_row_and_equal_row_by_row():
    """Deals with the same levels in every term share their figures: each distinct row is
    computed once, bit for bit as computing every row would."""
    from pipeline_models.models.deal_score.laplace import (
        Coded,
        LaplaceFit,
        _predictive_rows,
        predictive,
    )

    rng = np.random.default_rng(4)
    sizes = np.array([3, 5, 2])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    codes = np.column_stack([rng.integers(-1, s, 500) for s in sizes])
    assert len(np.unique(codes, axis=0)) < 500  # rows repeat
    p = int(sizes.sum())
    root = rng.normal(size=(p, p))
    fit = LaplaceFit.__new__(LaplaceFit)
    object.__setattr__(fit, "beta", rng.normal(size=p))
    object.__setattr__(fit, "cov", root @ root.T / p)
    X = Coded(codes, starts, sizes)
    for once, every in zip(predictive(X, fit), _predictive_rows(X, fit, 64), strict=True):
        np.testing.assert_array_equal(once, every)


def test_the_distinct_design_holds_the_rows_of_the_full_design(recovery):
    """A score predicts from the design of the distinct deals: each deal's row there is its row
    of the full design, and its figures are those computed from the full design, bit for bit."""
    from pipeline_models.models.deal_score.design import distinct_design, log_amounts
    from pipeline_models.models.deal_score.laplace import predictive

    model, held, _ = recovery
    frame = pd.concat([held, held.iloc[:50].assign(owner="a rep never seen")])
    cats, full = model._design(frame)
    log_amount = log_amounts(frame[model.amount_column_])
    rows, inverse = distinct_design(cats, log_amount, model.coding_)
    assert len(rows.codes) < len(frame)  # deals repeat
    np.testing.assert_array_equal(rows.codes[inverse], full.codes)
    np.testing.assert_array_equal(model.predict(frame), predictive(full, model.fit_)[2])
