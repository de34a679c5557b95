"""Problem messages are short and inert: control characters escaped, long text cut, long lists
capped (every problem stays in ``ExportError.problems``)."""

from __future__ import annotations

from pipeline_models.contract.problems import (
    MAX_PROBLEMS_SHOWN,
    MAX_TEXT_SHOWN,
    ExportError,
    Problem,
    shown,
)


def test_control_and_invisible_characters_are_shown_as_escapes():
    problem = Problem("ex\x1b[2Jport.csv", "bad \x00 byte", column="own\u202eer", values=("a\x07",))
    text = str(problem)
    assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text and "\x07" not in text
    assert "ex\\x1b[2Jport.csv" in text and "bad \\x00 byte" in text
    assert "column 'own\\u202eer'" in text and "'a\\x07'" in text


def test_a_line_break_in_a_name_keeps_a_problem_on_one_line():
    assert "\n" not in str(Problem("f.csv", "reason", column="a\nb"))


def test_long_reasons_and_values_are_cut():
    text = str(Problem("f.csv", "r" * 100_000, values=("v" * 100_000,)))
    assert len(text) < MAX_TEXT_SHOWN + 200
    assert f"({100_000 - MAX_TEXT_SHOWN:,} more characters)" in text


def test_an_error_lists_its_first_problems_and_counts_the_rest():
    problems = [Problem("f.csv", f"reason {i}") for i in range(1_000_000)]
    error = ExportError(problems)
    lines = str(error).splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert (
        lines[-1]
        == f"  ... and {1_000_000 - MAX_PROBLEMS_SHOWN:,} more problems (999,950 errors) not shown"
    )
    assert len(error.problems) == 1_000_000  # all kept for the caller


def test_plain_text_is_shown_as_typed():
    assert shown("Zoë Müller, 1,234.50 €") == "Zoë Müller, 1,234.50 €"
