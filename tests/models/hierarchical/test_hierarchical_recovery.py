"""Parameter recovery: default fits on simulated pipelines with known truth, and Maven's pooling.

How coverage is judged
----------------------
Each model's 90% intervals are checked against the truth for every group, pooled over several
simulation seeds (one fit per seed, every fit with the default sampler settings). If the intervals
are calibrated, the number covered is about Binomial(n, 0.9). The test fails when fewer are covered
than that distribution's 0.5% quantile: too-narrow intervals are the failure that misleads a
reader, and this bound raises a false alarm about once in 200 honest runs (a little more often,
as groups within one fit share the intercept's error). Seeds are fixed, so a run is repeatable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import binom

from pipeline_models.models import CycleTimeModel, RevenueModel, WinRateModel

pytestmark = pytest.mark.slow

SEEDS = (11, 12, 13, 14)
AS_OF = pd.Timestamp("2025-06-30")


def coverage_floor(n: int, prob: float = 0.9) -> int:
    """Fewest covered of ``n`` that calibrated ``prob`` intervals give 99.5% of the time."""
    return int(binom.ppf(0.005, n, prob))


def assert_converged(model) -> None:  # noqa: ANN001
    """The fit meets its bar: a Laplace fit's importance weights (Pareto k <= 0.7, 400 effective
    draws), or a sampler's R-hat, ESS and divergences."""
    diag = model.diagnostics()
    assert diag.ok, diag.message
    assert diag.min_ess_bulk >= 400, diag.message
    if model.sampling_["method"] == "laplace":
        assert model.sampling_["khat"] <= 0.7, diag.message
    else:
        assert diag.max_rhat <= 1.01, diag.message
        assert diag.divergences == 0, diag.message


# ----------------------------------------------------------------------------- win rate
PRODUCT_SIZES = (6, 10, 15, 25, 40, 60, 100, 150, 250, 400)  # closed deals per product


def simulate_wins(seed: int) -> tuple[pd.DataFrame, dict[str, float], float]:
    """Closed deals over 10 products of very different sizes and 4 regions.

    Returns the frame, the true win rate of each product with regions at their average effect
    (what ``group_rates`` estimates) and the true between-product sd.
    """
    rng = np.random.default_rng(seed)
    sd_product, sd_region, intercept = 0.6, 0.3, -0.4
    product_eff = rng.normal(0, sd_product, len(PRODUCT_SIZES))
    region_eff = rng.normal(0, sd_region, 4)
    product = np.repeat(np.arange(len(PRODUCT_SIZES)), PRODUCT_SIZES)
    region = rng.integers(0, 4, len(product))
    won = rng.random(len(product)) < expit(intercept + product_eff[product] + region_eff[region])
    frame = pd.DataFrame(
        {
            "status": np.where(won, "won", "lost"),
            "product": [f"P{j:02d}" for j in product],
            "region": [f"R{k}" for k in region],
        }
    )
    truth = {
        f"P{j:02d}": float(expit(intercept + product_eff[j] + region_eff.mean()))
        for j in range(len(PRODUCT_SIZES))
    }
    return frame, truth, sd_product


@pytest.fixture(scope="module")
def win_fits() -> list[tuple[WinRateModel, dict[str, float], pd.DataFrame]]:
    out = []
    for seed in SEEDS:
        frame, truth, _ = simulate_wins(seed)
        model = WinRateModel(groups=["product", "region"]).fit(frame, random_seed=seed)
        out.append((model, truth, frame))
    return out


def test_win_rate_fits_converge(win_fits) -> None:  # noqa: ANN001
    for model, _, _ in win_fits:
        assert_converged(model)


def test_win_rate_intervals_cover_the_true_rates(win_fits) -> None:  # noqa: ANN001
    covered = total = 0
    for model, truth, _ in win_fits:
        rates = model.group_rates("product").set_index("level")
        for level, true_rate in truth.items():
            total += 1
            covered += rates.loc[level, "lower"] <= true_rate <= rates.loc[level, "upper"]
    assert covered >= coverage_floor(total), f"{covered} of {total} covered"


def test_small_groups_shrink_towards_the_average(win_fits) -> None:  # noqa: ANN001
    small_raw, small_post, big_gap = [], [], []
    for model, _, _ in win_fits:
        intercept = float(model.posterior_["posterior"]["intercept"].mean())
        rates = model.group_rates("product")
        raw = np.log((rates["won"] + 0.5) / (rates["deals"] - rates["won"] + 0.5)) - intercept
        post = np.log(rates["mean"] / (1 - rates["mean"])) - intercept
        small = rates["deals"] <= 15
        small_raw += list(np.abs(raw[small]))
        small_post += list(np.abs(post[small]))
        big = rates["deals"] >= 250
        big_gap += list(np.abs(post[big] - raw[big]))
    # small products are pulled most of the way to the average; big ones keep their own rate
    assert np.sum(small_post) < 0.6 * np.sum(small_raw)
    assert np.max(big_gap) < 0.15


def test_unseen_levels_get_wider_intervals_than_seen_ones(win_fits) -> None:  # noqa: ANN001
    model = win_fits[0][0]
    cells = pd.DataFrame({"product": ["P09", "never seen"], "region": ["R0", "R0"]})
    p = model.predict_proba(cells, random_seed=1)
    width = p.quantile(0.95, "sample") - p.quantile(0.05, "sample")
    assert float(width[1]) > 2 * float(width[0])


# ----------------------------------------------------------------------------- deal size
AMOUNT_SIZES = (3, 5, 8, 12, 20, 30, 50, 80, 120, 200)  # won deals per product


def simulate_amounts(seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    rng = np.random.default_rng(seed)
    mu, sd_product, sigma = 9.5, 0.5, 0.7
    effects = rng.normal(0, sd_product, len(AMOUNT_SIZES))
    product = np.repeat(np.arange(len(AMOUNT_SIZES)), AMOUNT_SIZES)
    amount = np.exp(mu + effects[product] + sigma * rng.normal(size=len(product))).round()
    extra = 10  # won deals the size model must leave out: five empty, five zero
    frame = pd.DataFrame(
        {
            "status": "won",
            "amount": np.concatenate([amount, [np.nan] * 5, [0.0] * 5]),
            "product": [f"P{j:02d}" for j in product] + ["P09"] * extra,
        }
    )
    truth = {
        f"P{j:02d}": float(np.exp(mu + effects[j] + sigma**2 / 2)) for j in range(len(AMOUNT_SIZES))
    }
    return frame, truth


def test_revenue_recovers_mean_deal_sizes_and_counts_exclusions() -> None:
    covered = total = 0
    for seed in SEEDS:
        frame, truth = simulate_amounts(seed)
        model = RevenueModel(groups=["product"]).fit(frame, random_seed=seed)
        assert_converged(model)
        assert model.excluded_ == {"used": sum(AMOUNT_SIZES), "missing": 5, "zero": 5}
        table = model.mean_amount("product").set_index("level")
        for level, true_mean in truth.items():
            total += 1
            covered += table.loc[level, "lower"] <= true_mean <= table.loc[level, "upper"]
        sigma = model.posterior_["posterior"]["sigma"].values
        assert np.quantile(sigma, 0.05) <= 0.7 <= np.quantile(sigma, 0.95)
    assert covered >= coverage_floor(total), f"{covered} of {total} covered"


# ----------------------------------------------------------------------------- cycle time
CYCLE_SIGMA = {"won": 0.5, "lost": 0.8}


def simulate_cycles(seed: int, n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals created over two years before AS_OF; each ends won, lost or stalled.

    Returns the export as seen on AS_OF and the truth per product (p_won, p_lost, p_stalled,
    median days won/lost).
    """
    rng = np.random.default_rng(seed)
    n_products = 5
    product = rng.integers(0, n_products, n)
    logit_won = 0.8 + rng.normal(0, 0.4, n_products)
    logit_lost = 0.6 + rng.normal(0, 0.4, n_products)
    mu_won = np.log(45) + rng.normal(0, 0.3, n_products)
    mu_lost = np.log(30) + rng.normal(0, 0.3, n_products)
    logits = np.stack([logit_won, logit_lost, np.zeros(n_products)], axis=1)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    u = rng.random(n)
    cum = probs.cumsum(axis=1)[product]
    outcome = np.where(u < cum[:, 0], "won", np.where(u < cum[:, 1], "lost", "stalled"))
    log_days = np.where(
        outcome == "won",
        mu_won[product] + CYCLE_SIGMA["won"] * rng.normal(size=n),
        mu_lost[product] + CYCLE_SIGMA["lost"] * rng.normal(size=n),
    )
    created = AS_OF - pd.to_timedelta(rng.integers(0, 730, n), "D")
    close = created + pd.to_timedelta(np.floor(np.exp(log_days)), "D")
    closed = (outcome != "stalled") & (close <= AS_OF)
    frame = pd.DataFrame(
        {
            "created_date": created,
            "close_date": pd.to_datetime(np.where(closed, close, pd.NaT)),
            "status": np.where(closed, outcome, "open"),
            "product": [f"P{j}" for j in product],
        }
    )
    truth = pd.DataFrame(
        {
            "p_won": probs[:, 0],
            "p_lost": probs[:, 1],
            "p_stalled": probs[:, 2],
            "median_days_won": np.exp(mu_won),
            "median_days_lost": np.exp(mu_lost),
        },
        index=[f"P{j}" for j in range(n_products)],
    )
    return frame, truth


@pytest.fixture(scope="module")
def cycle_fits() -> list[tuple[CycleTimeModel, pd.DataFrame]]:
    out = []
    for seed in SEEDS[:3]:
        frame, truth = simulate_cycles(seed)
        out.append((CycleTimeModel().fit(frame, random_seed=seed), truth))
    return out


def test_cycle_time_fits_converge(cycle_fits) -> None:  # noqa: ANN001
    for model, _ in cycle_fits:
        assert_converged(model)


def test_cycle_time_recovers_outcome_shares_and_durations(cycle_fits) -> None:  # noqa: ANN001
    covered = total = 0
    for model, truth in cycle_fits:
        table = model.outcome_table("product").set_index(["level", "quantity"])
        for level, row in truth.iterrows():
            for quantity, value in row.items():
                total += 1
                lower, upper = table.loc[(level, quantity), ["lower", "upper"]]
                covered += lower <= value <= upper
        sigma = model.posterior_["posterior"]["duration_sigma"]
        for outcome, true_sigma in CYCLE_SIGMA.items():
            draws = sigma.sel(outcome=outcome).values
            assert np.quantile(draws, 0.005) <= true_sigma <= np.quantile(draws, 0.995)
    assert covered >= coverage_floor(total), f"{covered} of {total} covered"


def test_old_open_deals_are_most_likely_stalled(cycle_fits) -> None:  # noqa: ANN001
    model, truth = cycle_fits[0]
    deals = pd.DataFrame({"product": ["P0", "P0", "P0"], "age_days": [0.0, 40.0, 600.0]})
    out = model.predict_outcome(deals, horizon_days=90, random_seed=1).mean("sample")
    p_won = out["p_won"].values
    assert p_won[2] < 0.02  # 600 days old: far beyond any won cycle (median ~45 days)
    assert p_won[0] > 0.3 and p_won[1] > 0.3
    np.testing.assert_allclose(out["p_won"] + out["p_lost"] + out["p_open"], 1.0)
    ever = model.p_ever_won([0.0, 600.0], cells=deals.iloc[:1]).mean("sample").values[0]
    assert abs(ever[0] - truth.loc["P0", "p_won"]) < 0.06
    assert ever[1] < 0.02


# ----------------------------------------------------------------------------- Maven
@pytest.mark.shared_data
def test_maven_win_rates_pool_almost_completely(maven_pipeline) -> None:  # noqa: ANN001
    raw = pd.read_csv(maven_pipeline)
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    frame = pd.DataFrame(
        {
            "status": np.where(closed["deal_stage"] == "Won", "won", "lost"),
            "product": closed["product"],
            "owner": closed["sales_agent"],
        }
    )
    model = WinRateModel(groups=["product", "owner"]).fit(frame, random_seed=3)
    assert_converged(model)
    sd = model.between_group_sd().set_index("term")
    # products and agents win 0.60-0.65: their spread on the logit scale is about 0.1 at most
    assert (sd["mean"] < 0.15).all(), sd
    assert (sd["upper"] < 0.3).all(), sd
    rates = model.group_rates("owner")
    assert rates["mean"].max() - rates["mean"].min() < 0.5 * (
        rates["observed"].max() - rates["observed"].min()
    )
