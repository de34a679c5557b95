"""Sufficient statistics: exact counts and sums, the amount rule, censoring, purity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data.aggregate import (
    DEFAULT_DURATION_EDGES,
    NONE_LEVEL,
    amount_stats,
    cycle_stats,
    table_hash,
    win_counts,
)

AS_OF = pd.Timestamp("2025-06-30")

deal = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["won", "lost", "open"]),
        "product": st.sampled_from(["A", "B", "C", None, ""]),
        "region": st.sampled_from(["North", "South", None]),
        "amount": st.one_of(st.none(), st.just(0.0), st.floats(1.0, 1e7)),
        "created": st.integers(0, 800),  # days before AS_OF (can be after it: negative age)
        "duration": st.integers(0, 900),
    }
)


def make_frame(rows: list[dict]) -> pd.DataFrame:
    created = [AS_OF - pd.Timedelta(days=r["created"] - 30) for r in rows]
    close = [
        c + pd.Timedelta(days=r["duration"]) if r["status"] != "open" else None
        for c, r in zip(created, rows, strict=True)
    ]
    raw = pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(len(rows))],
            "created_date": created,
            "close_date": close,
            "stage": "s",
            "status": [r["status"] for r in rows],
            "amount": [r["amount"] for r in rows],
            "product": [r["product"] for r in rows],
            "region": [r["region"] for r in rows],
        }
    )
    return conform_opportunities(raw)


def level(value: object) -> str:
    return NONE_LEVEL if value is None or value is pd.NA or value == "" else str(value)


frames = st.lists(deal, min_size=0, max_size=60).map(make_frame)
settings.register_profile(
    "aggregate", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("aggregate")


@given(frames)
def test_win_counts_match_a_plain_count(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    table = win_counts(frame, ["product", "region"])
    pd.testing.assert_frame_equal(frame, before)  # input untouched

    expected: dict[tuple[str, str], list[int]] = {}
    for row in frame.itertuples():
        if row.status in ("won", "lost"):
            key = (level(row.product), level(row.region))
            cell = expected.setdefault(key, [0, 0])
            cell[0] += row.status == "won"
            cell[1] += 1
    got = {(r.product, r.region): [r.won, r.n] for r in table.itertuples()}
    assert got == expected
    assert list(table.columns) == ["product", "region", "won", "n"]
    assert table["n"].dtype == np.int64
    keys = list(zip(table["product"], table["region"], strict=True))
    assert keys == sorted(keys)


@given(frames)
def test_amount_stats_use_won_positive_amounts_and_count_the_rest(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    table = amount_stats(frame, ["product"])
    pd.testing.assert_frame_equal(frame, before)

    won = frame[frame["status"] == "won"]
    assert table["n"].sum() + table["n_missing"].sum() + table["n_zero"].sum() == len(won)
    for row in table.itertuples():
        cell = won[[level(p) == row.product for p in won["product"].astype(object)]]
        amounts = cell["amount"].to_numpy(dtype=float)
        positive = amounts[amounts > 0]
        assert row.n == len(positive)
        assert row.n_missing == int(np.isnan(amounts).sum())
        assert row.n_zero == int((amounts == 0).sum())
        assert row.sum_log == pytest.approx(np.log(positive).sum(), rel=1e-12, abs=1e-9)
        assert row.sum_log2 == pytest.approx((np.log(positive) ** 2).sum(), rel=1e-12, abs=1e-9)


@given(frames)
def test_cycle_stats_censor_open_deals_at_their_age(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    table = cycle_stats(frame, ["product"], as_of=AS_OF)
    pd.testing.assert_frame_equal(frame, before)

    expected: dict[tuple[str, str, float], int] = {}
    edges = np.asarray(DEFAULT_DURATION_EDGES, dtype=float)
    for row in frame.itertuples():
        if row.created_date > AS_OF:
            continue  # not yet created on AS_OF
        closed = row.status != "open" and row.close_date <= AS_OF
        end = row.close_date if closed else AS_OF
        days = (end - row.created_date).days
        lo = edges[np.searchsorted(edges, days, side="right") - 1]
        key = (level(row.product), row.status if closed else "open", lo)
        expected[key] = expected.get(key, 0) + 1
    got = {(r.product, r.outcome, r.lo): r.count for r in table.itertuples()}
    assert got == expected
    assert (table["lo"] < table["hi"]).all()
    assert table.attrs["as_of"] == "2025-06-30"


def test_closed_after_as_of_counts_as_open_and_later_deals_are_left_out() -> None:
    frame = conform_opportunities(
        pd.DataFrame(
            {
                "opportunity_id": ["a", "b", "c", "d"],
                "created_date": ["2025-01-01", "2025-01-01", "2025-07-10", None],
                "close_date": ["2025-01-20", "2025-08-01", None, None],
                "stage": "s",
                "status": ["won", "lost", "open", "open"],
                "product": ["X", "X", "X", "X"],
            }
        )
    )
    table = cycle_stats(frame, ["product"], as_of="2025-06-30")
    rows = {(r.outcome, r.lo, r.hi): r.count for r in table.itertuples()}
    assert rows == {("won", 14.0, 21.0): 1, ("open", 175.0, 182.0): 1}
    assert table.attrs["n_no_created"] == 1


def test_missing_group_values_become_none_level() -> None:
    frame = conform_opportunities(
        pd.DataFrame(
            {
                "opportunity_id": ["a", "b", "c"],
                "created_date": "2025-01-01",
                "close_date": "2025-02-01",
                "stage": "s",
                "status": ["won", "lost", "won"],
                "product": [None, "", "A"],
            }
        )
    )
    table = win_counts(frame, ["product"])
    assert table.to_dict("list") == {"product": [NONE_LEVEL, "A"], "won": [1, 1], "n": [2, 1]}
    # a column the export lacks is all "(none)"
    assert win_counts(frame, ["region"])["region"].tolist() == [NONE_LEVEL]


def test_no_groups_gives_one_total_row_and_empty_frame_gives_none() -> None:
    frame = make_frame(
        [
            {
                "status": "won",
                "product": "A",
                "region": None,
                "amount": 5.0,
                "created": 10,
                "duration": 3,
            },
            {
                "status": "open",
                "product": "A",
                "region": None,
                "amount": None,
                "created": 10,
                "duration": 3,
            },
        ]
    )
    assert win_counts(frame, []).to_dict("list") == {"won": [1], "n": [1]}
    assert len(win_counts(frame.iloc[0:0], ["product"])) == 0
    assert len(amount_stats(frame.iloc[0:0], ["product"])) == 0


def test_table_hash_is_stable_and_sees_every_change() -> None:
    frame = make_frame(
        [
            {
                "status": s,
                "product": p,
                "region": None,
                "amount": 10.0,
                "created": 40,
                "duration": 5,
            }
            for s, p in [("won", "A"), ("lost", "A"), ("won", "B")]
        ]
    )
    table = win_counts(frame, ["product"])
    assert table_hash(table) == table_hash(win_counts(frame.copy(), ["product"]))
    changed = table.copy()
    changed.loc[0, "won"] += 1
    assert table_hash(changed) != table_hash(table)
    renamed = table.rename(columns={"product": "region"})
    assert table_hash(renamed) != table_hash(table)
    with_attrs = table.copy()
    with_attrs.attrs = {"as_of": "2025-01-01"}
    assert table_hash(with_attrs) != table_hash(table)


def test_factorize_rows_numbers_combinations_in_order_of_first_appearance() -> None:
    from pipeline_models.data.aggregate import factorize_rows

    frame = pd.DataFrame(
        {
            "product": pd.array(["A", "B", "A", None, "B", None], dtype="string"),
            "age": [1.0, 1.0, 1.0, 2.0, 3.0, 2.0],
        }
    )
    codes, distinct = factorize_rows(frame, ["product", "age"])
    assert codes.tolist() == [0, 1, 0, 2, 3, 2]
    assert distinct["product"].tolist()[:2] == ["A", "B"] and pd.isna(distinct["product"][2])
    assert distinct["age"].tolist() == [1.0, 1.0, 2.0, 3.0]
    # the same partition as pandas' own grouping, on a larger random table
    rng = np.random.default_rng(3)
    big = pd.DataFrame({"a": rng.integers(0, 50, 20_000), "b": rng.choice(list("xyz"), 20_000)})
    codes, distinct = factorize_rows(big, ["a", "b"])
    expected = big.groupby(["a", "b"], sort=False).ngroup().to_numpy()
    assert (codes == expected).all()
    assert len(distinct) == big.drop_duplicates().shape[0]
