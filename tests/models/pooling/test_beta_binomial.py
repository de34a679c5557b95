"""Beta-binomial pooling: small lucky groups shrink, groups that really differ stay apart."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.models.pooling import beta_binomial_rates


def pooled_rates_example() -> pd.DataFrame:
    return beta_binomial_rates(
        [300, 290, 310, 5], [1000, 1000, 1000, 5], index=["a", "b", "c", "lucky"]
    )


def test_pooled_rates_pull_a_small_lucky_group_toward_the_rest():
    table = pooled_rates_example()
    lucky = table.loc["lucky"]
    assert lucky["observed"] == 1.0
    assert lucky["mean"] < 0.6  # 5 of 5 won does not make a 100% rate
    assert lucky["lower"] < 0.3 < lucky["upper"]  # and is not credibly above the others
    big = table.loc["a"]
    assert abs(big["mean"] - 0.3) < 0.01  # a large group keeps its own rate


def test_pooled_rates_keep_groups_that_really_differ():
    table = beta_binomial_rates([100, 900], [1000, 1000])
    assert table["mean"].iloc[0] == pytest.approx(0.1, abs=0.01)
    assert table["mean"].iloc[1] == pytest.approx(0.9, abs=0.01)
    assert table["upper"].iloc[0] < table["lower"].iloc[1]


def test_pooled_rates_interval_never_narrower_than_the_common_rate():
    # identical groups pool completely, but each interval keeps the common rate's uncertainty
    table = beta_binomial_rates([50] * 10, [100] * 10)
    common = beta_binomial_rates([500], [1000])
    width = (table["upper"] - table["lower"]).min()
    assert width >= 0.9 * float(common["upper"].iloc[0] - common["lower"].iloc[0])


def test_pooled_rates_one_group_is_its_jeffreys_posterior():
    table = beta_binomial_rates([3], [10])
    assert table["mean"].iloc[0] == pytest.approx(3.5 / 11)


def test_pooled_rates_reject_impossible_counts():
    with pytest.raises(ValueError):
        beta_binomial_rates([5], [3])
