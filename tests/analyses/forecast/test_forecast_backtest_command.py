"""The back-test command on an export without lost deals: it says what it cannot score."""

from __future__ import annotations

import pandas as pd
from forecaster_cases import sample_export

from pipeline_models.analyses.forecast.honesty import NO_LOST
from pipeline_models.cli import main


def test_backtest_command_scores_only_the_run_rate_without_lost_deals(tmp_path, capsys):
    frame = sample_export()
    export = tmp_path / "no_lost.csv"
    frame[frame["status"] != "lost"].to_csv(export, index=False)
    out = tmp_path / "forecasts.csv"
    argv = ["backtest", "--export", str(export), "--origins", "2026-03..2026-05"]
    code = main([*argv, "--horizons", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert (
        f"Not scored: workbench, weighted pipeline and cure-aware weighted pipeline, because {NO_LOST}."
        in printed
    )
    written = pd.read_csv(out)
    assert set(written["model"]) == {"run_rate"} and written["origin"].nunique() == 3


def test_backtest_command_scores_every_model_with_lost_deals(tmp_path, capsys):
    export = tmp_path / "export.csv"
    sample_export().to_csv(export, index=False)
    out = tmp_path / "forecasts.csv"
    argv = ["backtest", "--export", str(export), "--origins", "2026-03..2026-04"]
    assert main([*argv, "--horizons", "1", "--out", str(out)]) == 0
    assert "Not scored" not in capsys.readouterr().out
    assert set(pd.read_csv(out)["model"]) == {
        "workbench",
        "weighted_pipeline",
        "cure_weighted_pipeline",
        "run_rate",
    }
