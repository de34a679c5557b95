"""Degenerate but valid exports through full runs of the report set: each ends in exit 0 with a
published report set whose reports say what they cannot show, never in a traceback or exit 1."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pipeline_models.cli import main

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-10"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A small synthetic export, its leads and its stage history (text cells, as a CRM writes
    them)."""
    from pipeline_models.data import synthetic as sample

    out = tmp_path_factory.mktemp("degenerate_base")
    config = replace(sample.SampleConfig(), n_opportunities=200)
    sample.write_sample(out, config=config, random_seed=11, months=1)
    exports = out / "exports"
    return (
        pd.read_csv(exports / f"opportunities_{PERIOD}.csv", dtype=str, keep_default_na=False),
        pd.read_csv(exports / f"leads_{PERIOD}.csv", dtype=str, keep_default_na=False),
        pd.read_csv(exports / f"stage_history_{PERIOD}.csv", dtype=str, keep_default_na=False),
    )


def _same_cycle(frame: pd.DataFrame) -> pd.DataFrame:
    closed = frame[frame["status"] != "open"].copy()
    created = pd.to_datetime(closed["created_date"])
    closed["close_date"] = (created + pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d")
    return closed[pd.to_datetime(closed["close_date"]) <= pd.Timestamp("2026-10-31")]


def _lost_after_a_fixed_time(frame: pd.DataFrame) -> pd.DataFrame:
    """A CRM that closes a deal as lost 90 days after its creation (later ones are still open)."""
    out = frame.copy()
    lost = out["status"] == "lost"
    close = pd.to_datetime(out["created_date"]) + pd.Timedelta(days=90)
    out.loc[lost, "close_date"] = close[lost].dt.strftime("%Y-%m-%d")
    later = lost & (close > pd.Timestamp("2026-10-31"))
    out.loc[later, ["status", "close_date"]] = ["open", ""]
    return out


def _after_period(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    earlier = out.iloc[:-2]
    won = earlier.index[earlier["status"] == "won"][-4:]
    out.loc[won, "close_date"] = "2026-11-04"
    out.loc[out.index[-2:], ["created_date", "close_date"]] = ["2026-11-03", "2026-12-15"]
    return out


CASES = {
    # name: (export from the base, sentence or sentences a report must hold)
    "only_open": (
        lambda f: f[f["status"] == "open"],
        "the export holds no closed deal (won or lost), so no win rate can be estimated",
    ),
    "no_amounts": (
        lambda f: f.assign(amount=""),
        "no won deal carries an amount",
    ),
    "zero_won_amounts": (
        lambda f: f.assign(amount=f["amount"].where(f["status"] != "won", "0")),
        "the export records no positive amount on any won deal",
    ),
    "one_deal": (
        lambda f: f.sort_values("created_date").tail(1),
        "Product potential cannot be estimated",
    ),
    "same_cycle_all_closed": (
        _same_cycle,
        ("how much time to close varies cannot be estimated", "No open deal as of the period"),
    ),
    "lost_after_a_fixed_time": (
        _lost_after_a_fixed_time,
        "closed between 84 and 91 days after creation, as when a CRM closes deals after a fixed",
    ),
    "no_lost": (
        lambda f: f[f["status"] != "lost"],
        "the CRM may delete lost deals",
    ),
}


@pytest.fixture(scope="module")
def fits(tmp_path_factory) -> Path:
    """One fit cache for the module: runs whose models read the same inputs (no amounts and zero
    won amounts leave statuses and dates alone) load the same fits, as successive runs would."""
    return tmp_path_factory.mktemp("degenerate_fits")


def _run(
    tmp: Path, export: Path, fits: Path, leads: Path | None = None, history: Path | None = None
) -> tuple[int, Path]:
    argv = [
        "run",
        "--export",
        str(export),
        "--period",
        PERIOD,
        "--out",
        str(tmp / "reports"),
        "--data",
        str(tmp / "data"),
        "--cache",
        str(fits),
    ]
    if leads is not None:
        argv += ["--leads", str(leads)]
    if history is not None:
        argv += ["--history", str(history)]
    return main(argv), tmp / "reports" / PERIOD


def _texts(published: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(published.glob("*.html")))


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_degenerate_export_runs_and_says_what_it_cannot_show(case, base, fits, tmp_path, capfd):
    make, sentence = CASES[case]
    export = tmp_path / f"{case}.csv"
    make(base[0]).to_csv(export, index=False)
    code, published = _run(tmp_path, export, fits)
    said = capfd.readouterr()
    assert code == 0, said.err[-3000:]
    assert "Traceback" not in said.out + said.err
    manifest = json.loads((published / "manifest.json").read_text())
    assert all(r["status"] == "ok" for r in manifest["reports"].values())
    html = _texts(published)
    for said in sentence if isinstance(sentence, tuple) else (sentence,):
        assert said in html, (case, said)
    # counts are still shown, and no table is a header alone
    overview = manifest["reports"]["overview"]["headline"]
    assert overview[0] == {"label": "opportunities", "value": f"{len(pd.read_csv(export)):,}"} or (
        case == "after_period"
    )
    assert not re.search(r"<tbody>\s*</tbody>", html)
    for report in manifest["reports"].values():
        assert not [h for h in report["headline"] if h["value"] in ("n/a", "nan", "")], report
    assert Path(manifest["parameters"]["export_path"]).is_file()
    assert ".staging" not in manifest["parameters"]["run_dir"]


@pytest.mark.slow
def test_after_period_export_with_leads_converted_before_their_deal(base, fits, tmp_path, capfd):
    """Two odd facts in one run: closes after the period, and leads whose conversion date
    precedes their deal's creation (a CRM that back-dates conversions)."""
    frame, leads, _ = base
    created = dict(zip(frame["opportunity_id"], frame["created_date"], strict=True))
    linked = leads["opportunity_id"].isin(created)
    leads = leads.copy()
    days = pd.to_datetime(leads.loc[linked, "opportunity_id"].map(created)) - pd.Timedelta(days=20)
    leads.loc[linked, "converted_date"] = days.dt.strftime("%Y-%m-%d").to_numpy()
    export, leads_file = tmp_path / "export.csv", tmp_path / "leads.csv"
    _after_period(frame).to_csv(export, index=False)
    leads.to_csv(leads_file, index=False)
    code, published = _run(tmp_path, export, fits, leads_file)
    said = capfd.readouterr()
    assert code == 0, said.err[-3000:]
    assert "Traceback" not in said.out + said.err
    manifest = json.loads((published / "manifest.json").read_text())
    assert any("closing after it" in w or "still open" in w for w in manifest["run_warnings"])
    overview = (published / "overview.html").read_text()
    assert (
        "2 deal(s) created later are left out and 4 deal(s) closed later count as still open"
        in (overview)
    )
    assert manifest["reports"]["overview"]["headline"][0]["value"] == f"{len(frame) - 2:,}"


def test_unexpected_failure_is_exit_3_with_a_log(base, tmp_path, capfd, monkeypatch):
    """A bug in a step is a failed run: one sentence, the traceback in the failure folder."""
    from pipeline_models.run import runner

    def broken(state):
        raise ZeroDivisionError("a planted failure")

    steps = tuple((broken if f is runner._fit else f, what) for f, what in runner.STEPS)
    monkeypatch.setattr(runner, "STEPS", steps)
    export = tmp_path / "export.csv"
    base[0].to_csv(export, index=False)
    code, published = _run(tmp_path, export, tmp_path / "fits")
    err = capfd.readouterr().err
    assert code == 3
    assert "the run failed while fitting the models (ZeroDivisionError: a planted failure)" in err
    assert "Traceback" not in err
    log = Path(re.search(r"The full error is in (\S+)", err).group(1))
    assert "ZeroDivisionError" in log.read_text() and ".failed" in str(log)
    assert not published.exists()


def test_export_taken_after_the_period_is_rebuilt_as_of_its_end(base, tmp_path):
    from pipeline_models.run.inputs import Sources, validate
    from pipeline_models.run.options import RunError

    frame = base[0]
    export = tmp_path / "export.csv"
    _after_period(frame).to_csv(export, index=False)
    result, *_ = validate(Sources(export=export, period=PERIOD))
    assert result.info["after_period"] == {
        "created_after": 2,
        "closed_after": 4,
        "period_end": "2026-10-31",
    }
    assert len(result.frame) == len(frame) - 2
    assert result.frame["created_date"].max() <= pd.Timestamp("2026-10-31")
    closed = result.frame[result.frame["status"] != "open"]
    assert closed["close_date"].max() <= pd.Timestamp("2026-10-31")
    assert any("leaving out 2 deal(s) created later" in p.reason for p in result.warnings)
    # an export that describes another period entirely is still refused (exit 2)
    with pytest.raises(RunError, match="after period 2026-08 ended") as refused:
        validate(Sources(export=export, period="2026-08"))
    assert refused.value.exit_code == 2


@pytest.mark.slow
def test_a_history_with_later_changes_and_unknown_deals_is_read_as_of_the_period(
    base, fits, tmp_path, capfd
):
    """A stage history taken after the period, naming deals the export no longer holds: the run
    keeps what it can use, says what it left out, and the patterns report reads the rest."""
    frame, _, history = base
    extra = pd.DataFrame(
        {
            "opportunity_id": ["GONE-1", frame["opportunity_id"].iloc[0]],
            "changed_date": ["2026-06-01", "2026-11-20"],
            "stage": ["Proposal", "Negotiation"],
        }
    )
    logged = pd.concat([history, extra], ignore_index=True).fillna("")
    export, history_file = tmp_path / "export.csv", tmp_path / "history.csv"
    frame.to_csv(export, index=False)
    logged.to_csv(history_file, index=False)
    code, published = _run(tmp_path, export, fits, history=history_file)
    said = capfd.readouterr()
    assert code == 0, said.err[-3000:]
    assert "Traceback" not in said.out + said.err
    manifest = json.loads((published / "manifest.json").read_text())
    warnings = " ".join(manifest["validation"]["warnings"])
    assert "1 change(s) dated after the period ended (2026-10-31) are left out" in warnings
    assert "1 deal(s) of the history are not in the export" in warnings
    patterns = (published / "patterns.html").read_text()
    assert "stage history: the real moves of" in patterns
