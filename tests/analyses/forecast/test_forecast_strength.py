"""Lead strength: open deals ranked by their chance this quarter, moved by their deal score, with
the reasons in words; the score's reliability; and the report's section, or why it is absent."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from forecaster_cases import FAST  # noqa: E402
from scipy.special import expit  # noqa: E402

from pipeline_models.analyses.forecast import narrative, report, strength, tables  # noqa: E402
from pipeline_models.contract.period import month_end  # noqa: E402
from pipeline_models.contract.schema import conform_opportunities  # noqa: E402
from pipeline_models.models.deal_score import DealScoreConfig, DealScoreModel  # noqa: E402
from pipeline_models.models.deal_score.deals import with_account_past  # noqa: E402
from pipeline_models.models.deal_score.scores import ece  # noqa: E402
from pipeline_models.models.forecaster import PipelineForecaster  # noqa: E402
from pipeline_models.models.forecaster.cells import SCORE_ODDS  # noqa: E402
from pipeline_models.present import display  # noqa: E402
from pipeline_models.present.formats import format_count  # noqa: E402
from pipeline_models.run.catalog import Catalog  # noqa: E402
from pipeline_models.run.inputs import Sources, prepare  # noqa: E402

PERIOD = "2026-10"
ORIGIN = month_end(PERIOD)
RLO = "\u202e"
SCRIPT = "<script>alert(1)</script>"
PRODUCTS = {"Basic": 0.0, f"{SCRIPT}{RLO}": 1.0, "Pro": -1.0}
"""Products and their effect on the log-odds of winning (one named like a script payload)."""
NORTH = 2.0
"""Extra log-odds of a deal sold in the North: within a product, North deals score far higher."""
FAST_SCORE = DealScoreConfig(attributes=("product", "region", "lead_source"), interactions=False)
"""A deal score that fits in a fraction of a second (no pairs of attributes)."""


def export(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    """A canonical export whose wins depend on product and region; deals created in the last
    months are mostly still open."""
    rng = np.random.default_rng(seed)
    product = rng.choice(list(PRODUCTS), n)
    region = rng.choice(["North", "South"], n)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 1030, n), "D")
    closes = created + pd.to_timedelta(rng.integers(15, 150, n), "D")
    eta = -0.6 + np.array([PRODUCTS[p] for p in product]) + NORTH * (region == "North") - 1.0
    won = rng.random(n) < expit(eta)
    is_open = closes > ORIGIN
    status = np.where(is_open, "open", np.where(won, "won", "lost"))
    amount = np.round(np.exp(rng.normal(np.log(20_000), 0.8, n)), 0) + rng.integers(1, 9, n)
    amount = np.where(is_open & (rng.random(n) < 0.1), np.nan, amount)
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"D{k:05d}" for k in range(n)],
            "created_date": created,
            "close_date": np.where(is_open, pd.NaT, closes),
            "stage": np.select([status == "won", status == "lost"], ["Won", "Lost"], "Proposal"),
            "status": status,
            "amount": amount,
            "product": product,
            "region": region,
            "owner": rng.choice(["Ann", "Bob", "Cy"], n),
            "lead_source": rng.choice(["Web", "Referral"], n),
            "account": [f"Account {k:03d}" for k in rng.integers(0, 300, n)],
        }
    )
    return conform_opportunities(frame)


@pytest.fixture(scope="module")
def fitted():
    frame = export()
    score = DealScoreModel(FAST_SCORE).fit_deals(frame, random_seed=1)
    forecaster = PipelineForecaster(FAST).fit(frame, ORIGIN)
    return frame, score, forecaster


def open_of(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "open"]


def test_the_ranked_table_is_sorted_by_chance_and_leaves_its_input_alone(fitted):
    frame, score, forecaster = fitted
    deals = open_of(frame)
    before = deals.copy()
    table = strength.strength_table(forecaster, score, deals, PERIOD, frame)
    pd.testing.assert_frame_equal(deals, before)
    assert table.attrs == {"quarter": "2026Q4", "months": 2}
    assert len(table) == deals["created_date"].notna().sum() > 50
    assert table["p_quarter"].is_monotonic_decreasing
    assert table["p_quarter"].between(0, 1).all() and table["p_won"].between(0, 1).all()
    no_amount = table["amount"].isna()
    assert no_amount.any() and table.loc[no_amount, "expected_value"].isna().all()
    np.testing.assert_allclose(
        table.loc[~no_amount, "expected_value"],
        table.loc[~no_amount, "p_quarter"] * table.loc[~no_amount, "amount"],
    )
    # the chance this quarter is the forecaster's, moved by each deal's score
    by_id = deals.set_index("opportunity_id").loc[table["opportunity_id"]]
    moved = by_id.assign(**{SCORE_ODDS: table[SCORE_ODDS].to_numpy()})
    np.testing.assert_allclose(table["p_quarter"], forecaster.chance_won_within(moved, 2))
    top = strength.strength_table(forecaster, score, deals, PERIOD, frame, rows=5)
    assert list(top["opportunity_id"]) == list(table["opportunity_id"].head(5))
    assert list(top["reasons"]) == list(table["reasons"].head(5))


def test_a_deal_with_a_strong_score_gets_a_larger_chance(fitted):
    frame, score, forecaster = fitted
    scored = strength.with_score_odds(open_of(frame), score, "product", frame)
    assert SCORE_ODDS not in open_of(frame)
    strong = scored.loc[[scored[SCORE_ODDS].idxmax()]]
    weak = scored.loc[[scored[SCORE_ODDS].idxmin()]]
    assert strong[SCORE_ODDS].iloc[0] > 2 and weak[SCORE_ODDS].iloc[0] < 0.5
    assert strong["region"].iloc[0] == "North" and weak["region"].iloc[0] == "South"
    for deal, moved in ((strong, 1.5), (weak, 1 / 1.5)):
        plain = forecaster.chance_won_within(deal.drop(columns=SCORE_ODDS), 2)[0]
        with_odds = forecaster.chance_won_within(deal, 2)[0]
        assert plain > 0
        assert (with_odds > moved * plain) if moved > 1 else (with_odds < moved * plain)
    # without a score nothing changes
    plain = strength.with_score_odds(open_of(frame), None)
    pd.testing.assert_frame_equal(plain, open_of(frame))


def test_reasons_name_only_the_terms_that_move_a_score_by_a_tenth(fitted):
    frame, score, _ = fitted
    deals = open_of(frame)
    sentences = strength.reason_sentences(score, deals, opportunities=frame)
    assert sentences.index.equals(deals.index)
    long = score.reasons(with_account_past(deals, frame).reset_index(drop=True), 3)
    assert (long["effect"].abs() < 0.1).any()  # some of the top three are too weak to name
    for i, text in enumerate(sentences):
        strong = long[(long["deal"] == i) & (long["effect"].abs() >= 0.1)]
        parts = [] if text == strength.NOTHING_STANDS_OUT else text.split("; ")
        assert len(parts) == len(strong), text
        for part, effect in zip(parts, strong["effect"], strict=True):
            assert part.endswith(" raises it" if effect > 0 else " lowers it")
    everything_weak = strength.reason_sentences(score, deals, opportunities=frame, min_effect=10)
    assert (everything_weak == strength.NOTHING_STANDS_OUT).all()


def test_a_product_named_like_a_script_is_inert_text_in_the_reasons(fitted, monkeypatch):
    import IPython.display
    from IPython.core.formatters import DisplayFormatter

    frame, score, forecaster = fitted
    deals = open_of(frame)
    sentences = strength.reason_sentences(score, deals, opportunities=frame)
    named = sentences[deals["product"].str.startswith(SCRIPT).to_numpy()]
    assert len(named) > 5
    assert named.str.contains(f"product {SCRIPT} raises it", regex=False).all()
    assert not sentences.str.contains(RLO).any()
    table = strength.strength_table(forecaster, score, deals, PERIOD, frame)
    shown = tables.strength_display(table[table["product"].str.startswith(SCRIPT)], rows=3)
    html = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj: html.append(DisplayFormatter().format(obj)[0])
    )
    display.show_table(shown)
    page = html[0]["text/html"]
    assert "<script" not in page and RLO not in page
    assert f"product {SCRIPT.replace('<', '&lt;').replace('>', '&gt;')} raises it" in page


def test_the_reliability_bins_hold_every_fitted_deal(fitted):
    frame, score, _ = fitted
    table = strength.reliability_table(score)
    assert table["deals"].sum() == score.deals_ == len(score.oof_)
    assert (table["deals"] > 0).all()
    assert table.attrs["ece"] == pytest.approx(ece(score.oof_, score.oof_won_))
    assert table.attrs["deals"] == score.deals_
    few = frame[frame["status"] != "open"].head(12)
    tiny = DealScoreModel(FAST_SCORE).fit(few, (few["status"] == "won").to_numpy())
    assert tiny.oof_ is None and strength.reliability_table(tiny) is None
    assert strength.reliability_table(None) is None


# ------------------------------------------------------------------ the report's section
def _catalog(export_path, tmp_path) -> Catalog:
    sources = Sources(export=export_path, period=PERIOD, random_seed=3, cache_dir=tmp_path / "fits")
    return Catalog.open(prepare(sources, tmp_path / "run").catalog.folder)


@pytest.fixture(scope="module")
def sample_catalog(small_sample, tmp_path_factory):
    return _catalog(
        small_sample / "exports" / "opportunities_2026-10.csv", tmp_path_factory.mktemp("run")
    )


def _with_score(catalog: Catalog, monkeypatch, config: DealScoreConfig = FAST_SCORE):
    """The catalog with a quickly fitted deal score in place of the run's (same contract)."""
    score = DealScoreModel(config).fit_deals(catalog.opportunities(), random_seed=1)
    monkeypatch.setattr(catalog, "deal_score", lambda: score)
    return score


def test_the_section_on_the_small_sample(sample_catalog, monkeypatch):
    monkeypatch.setattr(sample_catalog, "deal_score", lambda: None)
    unscored = report.build(sample_catalog, backtest_months=0)
    score = _with_score(sample_catalog, monkeypatch)
    content = report.build(sample_catalog, backtest_months=0)
    shown = content.table("strength").frame
    assert len(shown) == report.TOP_DEALS
    chance = shown["Chance won in 2026Q4"].str.rstrip("%").astype(float)
    assert chance.is_monotonic_decreasing
    assert not shown.map(lambda v: isinstance(v, float)).any().any()  # no raw floats
    assert content.note("strength").template == narrative.STRENGTH_SENTENCE
    assert content.note("strength").values["deal"] == shown["Deal"].iloc[0]
    assert content.note("strength_amounts") is None  # the sample's amounts are read
    caption = content.note("reliability")
    assert caption.values["deals"] == format_count(score.deals_)
    assert content.figures["deal_score_ece"] == pytest.approx(ece(score.oof_, score.oof_won_))
    assert content.figures["deal_score_deals"] == score.deals_
    figure = content.chart("reliability").draw()
    assert len(figure.axes) == 1
    # the forecast's open deals move with their scores
    assert (
        content.figures["revenue_next_month_median"]
        != unscored.figures["revenue_next_month_median"]
    )
    assert unscored.table("strength") is None and unscored.chart("reliability") is None


def test_the_section_says_when_amounts_were_left_out(sample_catalog, monkeypatch):
    config = DealScoreConfig(attributes=("product", "region"), interactions=False, amount=None)
    _with_score(sample_catalog, monkeypatch, config)
    content = report.build(sample_catalog, backtest_months=0)
    note = content.note("strength_amounts")
    assert note.template == narrative.AMOUNTS_LEFT_OUT
    assert note.values["reason"] == "amounts are not read"


def test_the_section_says_why_deals_are_not_scored(small_sample, tmp_path):
    frame = pd.read_csv(small_sample / "exports" / "opportunities_2026-10.csv", dtype=str)
    closed = frame[frame["stage"].str.startswith("Closed")].head(12)
    path = tmp_path / "export.csv"
    pd.concat([frame[~frame["stage"].str.startswith("Closed")], closed]).to_csv(path, index=False)
    catalog = _catalog(path, tmp_path)
    assert catalog.deal_score() is None
    content = report.build(catalog, backtest_months=0)
    note = content.note("strength")
    assert note.template == narrative.STRENGTH_UNAVAILABLE
    assert "12 closed deals" in note.values["reason"]
    assert content.table("strength") is None and content.chart("reliability") is None
    assert content.figures["deal_score_ece"] is None and content.figures["deal_score_deals"] == 0
    assert "lead_strength" not in content.files
