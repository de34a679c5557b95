"""Amounts as exports write them: signs, codes, separators, decimal commas, negatives."""

from __future__ import annotations

import pandas as pd

from pipeline_models.io.amounts import parse_amounts, read_amounts


def test_parse_amounts_cases():
    amounts, bad, negative, currency = parse_amounts(
        pd.Series(["$1,234.50", "€ 99", "1.234,5", "12 000", "(300)", "abc", ""])
    )
    assert amounts.tolist()[:4] == [1234.5, 99.0, 1234.5, 12000.0]
    assert bool(negative.iloc[4]) and bool(bad.iloc[5]) and not bool(bad.iloc[6])
    assert currency.tolist()[:2] == ["USD", "EUR"]


def test_the_column_decides_how_an_undecided_cell_is_read():
    # '1,234' alone could be either; a column that shows a decimal comma elsewhere decides
    comma = read_amounts(pd.Series(["1,234", "99,5"]))
    assert comma.amounts.tolist() == [1.234, 99.5] and not comma.ambiguous.any()
    # a column that shows no mark at all reads ',' as thousands separator, with a warning
    plain = read_amounts(pd.Series(["1,234", "12"]))
    assert plain.amounts.tolist() == [1234.0, 12.0]
    assert any("can be read two ways" in reason for reason, _ in plain.notes)
    # a column that shows both marks leaves such a cell unread
    both = read_amounts(pd.Series(["1,234", "99,5", "1,234.50"]))
    assert both.ambiguous.tolist() == [True, False, False] and not both.bad.any()
    assert pd.isna(both.amounts.iloc[0])


def test_a_decimal_setting_overrides_the_column():
    amounts, bad, _, _ = parse_amounts(pd.Series(["1.234", "5,5"]), decimal=",")
    assert amounts.tolist() == [1234.0, 5.5] and not bad.any()
    amounts, _, _, currency = parse_amounts(pd.Series(["1,234", "CHF 12'500"]), decimal=".")
    assert amounts.tolist() == [1234.0, 12500.0] and currency.tolist()[1] == "CHF"


def test_negatives_and_non_numbers_are_marked():
    amounts, bad, negative, _ = parse_amounts(pd.Series(["-5", "(1,000)", "inf", "12x", " "]))
    assert negative.tolist() == [True, True, False, False, False]
    assert bad.tolist() == [False, False, True, True, False]
    assert amounts.tolist()[:2] == [-5.0, -1000.0]
