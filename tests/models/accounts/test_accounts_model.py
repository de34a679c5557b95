"""The account model: recovery of known preferences, a better next-purchase forecast than the
overall mix, the counts it reads, refusals, the estimator contract, save and load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from accounts_cases import (
    A_TRUE,
    END,
    HAND_AS_OF,
    MIX,
    PRODUCTS,
    SEGMENTS,
    hand_frame,
    simulate_accounts,
)

from pipeline_models.contract.labels import ALL_LEVEL
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.accounts import AccountProductsModel, AccountsConfig
from pipeline_models.models.contract import FitMismatchError, estimator_class
from pipeline_models.models.period import fit_account_products, refusal

SEED = 3


@pytest.fixture(scope="module")
def simulated():
    sim = simulate_accounts()
    return sim, AccountProductsModel().fit(sim.frame, END, random_seed=SEED)


@pytest.fixture(scope="module")
def simulated_table(simulated):
    return simulated[1].account_table()


# ----------------------------------------------------------------- recovery
def test_segment_mixes_are_recovered_and_covered(simulated):
    _, model = simulated
    table = model.segment_table()
    truth = pd.DataFrame(MIX, index=SEGMENTS, columns=PRODUCTS)
    true = np.array(
        [truth.loc[s, p] for s, p in zip(table["segment"], table["product"], strict=True)]
    )
    # 400 accounts a segment, about 1,900 won deals: a share's sd is about 0.012
    assert np.abs(table["share"] - true).max() < 0.05
    covered = (table["low"] <= true) & (true <= table["high"])
    assert covered.sum() >= 11  # of 15 (nominal 90%: 13.5)


def test_accounts_concentration_is_recovered(simulated):
    _, model = simulated
    assert A_TRUE / 1.5 < model.account_concentration_ < A_TRUE * 1.5
    assert not model.buys_alike
    assert model.diagnostics().ok


def test_intervals_of_each_accounts_mix_and_chance_cover_the_truth(simulated, simulated_table):
    sim, model = simulated
    table = simulated_table
    truth = sim.theta.stack()
    theta = np.array(
        [truth[(a, p)] for a, p in zip(table["account"], table["product"], strict=True)]
    )
    covered = (table["next_low"] <= theta) & (theta <= table["next_high"])
    assert 0.85 < covered.mean() < 0.95  # nominal 90%
    buy = {o: sim.buy_chance(o) for o in (False, True)}
    p_buy = np.array(
        [buy[o > 0][s] for o, s in zip(table["open_deals"], table["segment"], strict=True)]
    )
    chance = p_buy * theta
    covered = (table["low"] <= chance) & (chance <= table["high"])
    assert 0.85 < covered.mean() < 0.95


def test_intervals_of_a_few_accounts_are_theirs_in_the_full_table(simulated, simulated_table):
    """A report draws intervals only for the accounts it lists: each account's are the same as
    in the full table (its own stream), the others' are left out, the means are all there."""
    _, model = simulated
    few = sorted(simulated_table["account"].unique())[::7][:5]
    table = model.account_table(accounts=few)
    drawn = table["account"].isin(few)
    columns = ["low", "high", "next_low", "next_high"]
    pd.testing.assert_frame_equal(
        table.loc[drawn, columns], simulated_table.loc[drawn.to_numpy(), columns]
    )
    assert table.loc[~drawn, columns].isna().all().all()
    pd.testing.assert_series_equal(table["chance"], simulated_table["chance"])
    assert model.account_table(accounts=())[columns].isna().all().all()
    alone = model.account_intervals(few)
    pd.testing.assert_frame_equal(
        alone,
        table.loc[drawn, ["account", "product", *columns]].reset_index(drop=True),
        check_dtype=False,
    )


def test_chance_to_buy_is_recovered_by_segment_and_open_deal(simulated):
    sim, model = simulated
    table = model.buy_table()
    truth = np.array([sim.buy_chance(o)[s] for o, s in table.index])
    assert np.abs(table["mean"] - truth).max() < 0.08
    covered = (table["lower"] <= truth) & (truth <= table["upper"])
    assert covered.sum() >= 4  # of 6
    # accounts with an open deal buy more often, in every segment
    assert (table.xs(True)["mean"] > table.xs(False)["mean"]).all()


def test_next_purchase_is_forecast_better_than_by_the_overall_mix():
    """Fitted a year before the end, scored on each account's first purchase after it."""
    sim = simulate_accounts()
    origin = END - pd.DateOffset(months=12)
    known = pipeline_as_of(sim.frame, origin)
    model = AccountProductsModel().fit(known, origin, random_seed=SEED)
    later = sim.frame[(sim.frame["status"] == "won") & (sim.frame["close_date"] > origin)]
    later = later.sort_values("close_date").drop_duplicates("account")
    nxt = model.next_product()
    later = later[later["account"].isin(nxt.index)]
    assert len(later) > 600
    won = known[known["status"] == "won"]
    overall = won["product"].value_counts(normalize=True)
    segment = pd.crosstab(won["segment"], won["product"], normalize="index")
    pairs = list(zip(later["account"], later["segment"], later["product"], strict=True))
    model_score = np.mean([np.log(nxt.loc[a, p]) for a, _, p in pairs])
    overall_score = np.mean([np.log(overall[p]) for _, _, p in pairs])
    segment_score = np.mean([np.log(segment.loc[s, p]) for _, s, p in pairs])
    # seed 7: about -1.22 against -1.60 (overall mix) and -1.45 (raw segment mix)
    assert model_score > overall_score + 0.2
    assert model_score > segment_score + 0.1


# ----------------------------------------------------------------- what it reads
@pytest.fixture(scope="module")
def hand():
    return AccountProductsModel(AccountsConfig(draws=400)).fit(hand_frame(), HAND_AS_OF, 1)


def test_counts_are_read_off_the_deals_and_the_input_is_left_alone():
    frame = hand_frame()
    before = frame.copy()
    model = AccountProductsModel(AccountsConfig(draws=400)).fit(frame, HAND_AS_OF, 1)
    pd.testing.assert_frame_equal(frame, before)
    p = model.purchases_
    assert p.accounts == ["A1", "A2", "A3", "A4", "A5"]  # the deal without an account is out
    assert p.products == ["Cloud", "Core", "Plus", "Suite"]
    won = pd.DataFrame(p.won, index=p.accounts, columns=p.products)
    assert won.loc["A1", "Core"] == 2 and won.loc["A2", "Plus"] == 1
    assert won.loc["A5"].sum() == 0 and p.deals_won[4] == 1  # no product: a deal, not a mix
    assert list(p.open_deals) == [0, 1, 1, 0, 0]
    assert p.open_weight == pytest.approx(6 / 7)  # the export's win rate of closed deals
    assert p.segment_column == "segment"


def test_an_account_with_open_deals_only_leans_toward_them(hand):
    table = hand.account_table().set_index(["account", "product"])
    a3 = table.loc["A3"]
    assert a3["deals_won"].eq(0).all() and a3["open_deals"].eq(1).all()
    assert not a3["bought_before"].any()
    segment = hand.segment_table().set_index(["segment", "product"])["share"]
    assert a3.loc["Suite", "next_share"] > segment.loc[("Large", "Suite")]
    assert table.loc[("A1", "Core"), "bought_before"]
    assert not table.loc[("A1", "Plus"), "bought_before"]  # lost, not bought
    for _, row in table.iterrows():
        assert row["low"] <= row["chance"] <= row["high"]
        assert row["next_low"] <= row["next_share"] <= row["next_high"]
    shares = table.groupby("account")["next_share"].sum()
    assert np.allclose(shares, 1.0)


def test_segments_fall_back_to_region_then_to_one_segment():
    by_region = hand_frame().assign(segment=pd.NA)
    model = AccountProductsModel(AccountsConfig(draws=400)).fit(by_region, HAND_AS_OF, 1)
    assert model.purchases_.segment_column == "region"
    assert model.segments == ["North", "South"]
    alone = by_region.assign(region=pd.NA)
    model = AccountProductsModel(AccountsConfig(draws=400)).fit(alone, HAND_AS_OF, 1)
    assert model.purchases_.segment_column is None and model.segments == [ALL_LEVEL]
    assert not model.segment_mixes_.pooled


def test_a_half_life_weighs_recent_purchases_more():
    frame = hand_frame()
    plain = AccountProductsModel(AccountsConfig(draws=400)).fit(frame, HAND_AS_OF, 1)
    recent = AccountProductsModel(AccountsConfig(draws=400, half_life_months=6)).fit(
        frame, HAND_AS_OF, 1
    )
    a4 = plain.purchases_.accounts.index("A4")
    cloud, suite = (plain.products.index(p) for p in ("Cloud", "Suite"))
    assert plain.purchases_.weighted[a4, cloud] == plain.purchases_.weighted[a4, suite]
    assert recent.purchases_.weighted[a4, cloud] > 2 * recent.purchases_.weighted[a4, suite]


# ----------------------------------------------------------------- refusals
REFUSALS = {
    "no account": (lambda f: f.assign(account=pd.NA), "records no account"),
    "no product": (lambda f: f.assign(product=pd.NA), "records no product"),
    "no won deal": (lambda f: f[f["status"] != "won"], "no won deal with an account"),
    "short history": (
        lambda f: f[f["created_date"] > pd.Timestamp("2025-11-30")],
        "no deal of an account before 2025-10-31",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_an_export_that_cannot_support_the_model_is_refused_plainly(case, tmp_path):
    make, words = REFUSALS[case]
    frame = make(hand_frame())
    reason = refusal("account_products", frame, HAND_AS_OF)
    assert reason is not None and words in reason
    with pytest.raises(ValueError, match=words):
        AccountProductsModel().fit(frame, HAND_AS_OF)
    assert fit_account_products(frame, HAND_AS_OF, tmp_path, "digest", 1) is None
    assert not any(tmp_path.iterdir())  # nothing was fitted or cached


def test_the_hand_frame_itself_is_not_refused():
    assert refusal("account_products", hand_frame(), HAND_AS_OF) is None
    assert refusal("account_products", hand_frame()) is None


# ----------------------------------------------------------------- contract
def test_estimator_contract_and_cache(tmp_path):
    model = AccountProductsModel()
    assert estimator_class("account_products") is AccountProductsModel
    assert "draws" not in model.model_config and model.sampler_config == {"draws": 1000}
    assert "P(bought) x P(next product = j)" in model.formula
    other = AccountProductsModel(AccountsConfig(horizon_months=6))
    assert other.config_id != model.config_id
    first = fit_account_products(hand_frame(), HAND_AS_OF, tmp_path, "digest", 1)
    again = fit_account_products(hand_frame(), HAND_AS_OF, tmp_path, "digest", 1)
    assert first is not None and again is not None
    assert not first.hit and again.hit
    pd.testing.assert_frame_equal(first.model.account_table(), again.model.account_table())


def test_save_and_load_round_trip(hand, tmp_path):
    hand.save(tmp_path / "fit")
    loaded = AccountProductsModel.load(tmp_path / "fit", data_hash=hand.data_hash_)
    assert loaded.accounts_config == hand.accounts_config
    pd.testing.assert_frame_equal(loaded.account_table(), hand.account_table())
    pd.testing.assert_frame_equal(loaded.buy_table(), hand.buy_table())
    assert loaded.diagnostics() == hand.diagnostics()
    with pytest.raises(FitMismatchError, match="other data"):
        AccountProductsModel.load(tmp_path / "fit", data_hash="0" * 64)
    with pytest.raises(RuntimeError, match="not fitted"):
        AccountProductsModel().save(tmp_path / "empty")


def test_diagnostics_say_when_data_are_thin(hand):
    d = hand.diagnostics()
    assert not d.ok
    assert "accounts won two or more deals" in d.message
    assert d.figures["accounts"] == 5 and d.figures["won_deals"] == 5


def test_the_synthetic_sample_gives_the_accounts_of_a_segment_one_mix():
    """The generator draws a deal's product, then its segment, then an account of the segment
    uniformly: accounts of a segment differ only by chance, and the model finds them alike."""
    from dataclasses import replace

    from pipeline_models.contract import schema
    from pipeline_models.data import synthetic as sample

    config = replace(sample.SampleConfig(), n_opportunities=4000, with_leads=False)
    history = sample.simulate_history(config, random_seed=5)
    frame, _ = sample.snapshot(history, config.end)
    model = AccountProductsModel().fit(
        schema.conform_opportunities(frame), pd.Timestamp(config.end), 1
    )
    assert model.buys_alike
    assert "buy alike" in model.diagnostics().message
    mixes = model.segment_table().set_index(["segment", "product"])["share"]
    assert mixes.loc[("SMB", "Starter")] > 3 * mixes.loc[("Enterprise", "Starter")] / 2
    assert mixes.loc[("Enterprise", "Platform")] > 10 * mixes.loc[("SMB", "Platform")]
