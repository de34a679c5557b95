"""The executive page: the forecast against the target, why it moved since last month's run, the
top risks and the largest levers, each a sentence or two that links to the report explaining it.

It reads what the reports of a run wrote (their ``summary.json`` and files) and last month's
published ledger; it computes nothing the reports did not, so every figure on it is the one its
report shows. Every value is written for readers (:mod:`~pipeline_models.present.formats`); the
page's template escapes them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_models.analyses.executive.attribution import (
    PARTS,
    Attribution,
    attribute,
    covers,
    read_ledger,
)
from pipeline_models.analyses.forecast.ledger import LEDGER_FILE, UNITS, column
from pipeline_models.analyses.forecast.tables import span_text, value_text
from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.present.content import SUMMARY_FILE
from pipeline_models.present.formats import format_count, format_money, format_pct

TOP_DEALS = 10
"""The largest deals whose share of the forecast the page names as concentration."""
TOP_LEVERS = 3
"""Levers the page lists."""
TOP_PROBLEMS = 3
"""Data problems the page lists (each in one sentence; the overview lists them all)."""


@dataclass
class Item:
    """One line of the executive page: its words and the report that explains it."""

    text: str
    href: str | None = None
    amount: str | None = None
    """A signed amount shown beside the text (the parts of why the forecast moved)."""


@dataclass
class ExecutivePage:
    """What the executive page shows, as reader strings, by section."""

    forecast: list[Item] = field(default_factory=list)
    moved: list[Item] = field(default_factory=list)
    moved_intro: str = ""
    moved_total: str = ""
    """The change the parts add up to, signed (blank when there is nothing to compare)."""
    risks: list[Item] = field(default_factory=list)
    levers: list[Item] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    """Machine-readable numbers of the page (the attribution in whole units), for the manifest."""


def _summary(folder: Path, report: str) -> dict | None:
    path = folder / "files" / report / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _deals(metric: str) -> str:
    return " deals" if metric == "count" else ""


def _interval(low: float, high: float, metric: str, currency: str) -> str:
    span = span_text(low, high, metric, currency)
    return f"{round(100 * FORECAST_INTERVAL)}%: {span}{_deals(metric)}"


def _amount(value: float, metric: str, currency: str) -> str:
    return value_text(value, metric, currency) + _deals(metric)


def _signed(value: float, metric: str, currency: str) -> str:
    text = _amount(abs(value), metric, currency)
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


SKEWED = 0.02
"""How far the average may lie from the median before the page writes both: the part on why
the forecast moved speaks of averages (they add up), so a reader sees where they differ."""


def _average(figure: dict, metric: str, currency: str) -> str:
    """``"; 74.0k USD on average"`` where the average is far from the median, else nothing."""
    mean, median = figure["expected"], figure["median"]
    if abs(mean - median) <= SKEWED * max(abs(median), 1e-9):
        return ""
    return f"; {_amount(mean, metric, currency)} on average"


def forecast_items(outlook: dict, metric: str, currency: str) -> list[Item]:
    """The forecast for the next month and the quarter, against the target when there is one."""
    figures = outlook[metric]
    month, quarter = figures["month"], figures["quarter"]
    what = "Revenue won" if metric == "revenue" else "Deals won"
    items = [
        Item(
            f"{what} in {outlook['month']}: {_amount(month['median'], metric, currency)} "
            f"(median; {_interval(month['low'], month['high'], metric, currency)}).",
            "forecast.html",
        ),
        Item(
            f"{what} in {outlook['quarter']}, with what is already won: "
            f"{_amount(quarter['median'], metric, currency)} "
            f"(median; {_interval(quarter['low'], quarter['high'], metric, currency)}"
            f"{_average(quarter, metric, currency)}).",
            "forecast.html",
        ),
    ]
    target, chance = figures.get("target") or 0.0, figures.get("p_reach_target")
    if metric == "revenue" and target > 0 and chance is not None:
        items.append(
            Item(
                f"Chance of reaching the target of {format_money(target, currency)} in "
                f"{outlook['quarter']}: {format_pct(chance)}.",
                "forecast.html",
            )
        )
    return items


def moved_items(
    attribution: Attribution, previous_period: str, currency: str
) -> tuple[str, list[Item]]:
    """Why the quarter's forecast moved: the sentence that frames it and one line per part."""
    metric, unit = attribution.metric, UNITS[attribution.metric]
    months = attribution.window
    window = f"{months[0]}..{months[-1]}" if len(months) > 1 else str(months[0])
    intro = (
        f"On average, last month's run ({previous_period}) expected "
        f"{_amount(attribution.before / unit, metric, currency)} for {window} and this run "
        f"expects {_amount(attribution.after / unit, metric, currency)} "
        f"({_signed(attribution.change / unit, metric, currency)}). Averages add up, so the "
        "change splits into parts:"
    )
    items = []
    for name, label in PARTS.items():
        value, deals = attribution.parts[name], attribution.deals[name]
        if value == 0 and deals == 0:
            continue
        count = f" ({format_count(deals)} deal{'s' if deals != 1 else ''})" if deals else ""
        items.append(
            Item(
                label[0].upper() + label[1:] + count,
                "forecast.html",
                _signed(value / unit, metric, currency),
            )
        )
    return intro, items


LEVER_WORDS = {
    "win_rate": "win rate {pct}% higher",
    "deal_size": "deal size {pct}% larger",
    "cycle_time": "days to win {pct}% shorter",
}
"""A lever of the product potential report, as the page names it."""


def lever_items(levers: pd.DataFrame, pct: float, horizon: int, currency: str) -> list[Item]:
    """The largest levers of a small change (:data:`TOP_LEVERS`); levers of one product that add
    the very same revenue (a win rate or a deal size up by the same share) are one line."""
    small = levers[(levers["scenario"] == "percent") & (levers["mean"] > 0)].copy()
    if small.empty:
        return []
    small["key"] = small["mean"].round(2)
    merged = (
        small.groupby(["product", "key", "kind"], sort=False, dropna=False)
        .agg(
            levers=("lever", list),
            mean=("mean", "first"),
            low=("lower", "first"),
            high=("upper", "first"),
        )  # fmt: skip
        .reset_index()
        .sort_values("mean", ascending=False)
        .head(TOP_LEVERS)
    )
    items = []
    for row in merged.itertuples(index=False):
        what = " or ".join(LEVER_WORDS.get(lv, lv).format(pct=f"{pct:g}") for lv in row.levers)
        gain = "won earlier" if row.kind == "earlier revenue" else "added"
        items.append(
            Item(
                f"{row.product}: {what} — {format_money(row.mean, currency)} {gain} over the next "
                f"{horizon} months ({round(100 * INTERVAL)}%: {span_text(row.low, row.high, 'revenue', currency)}).",
                "product_potential.html",
            )
        )
    return items


_PROBLEM = re.compile(r"\(\d[\d,]* rows?\): ")


def problem_sentence(warning: str) -> str:
    """A validation warning as one sentence for readers: its reason, without file and rows."""
    match = _PROBLEM.search(warning)
    text = warning[match.end() :] if match else re.sub(r"^\w+: ", "", warning)
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def concentration_item(ledger: pd.DataFrame, outlook: dict, metric: str) -> Item | None:
    """The share of the quarter's forecast still to come that rests on its largest open deals."""
    months = [pd.Period(m, "M") for m in outlook["quarter_months"]]
    columns = [column(metric, m) for m in months if column(metric, m) in ledger]
    if not columns:
        return None
    values = ledger[columns].sum(axis=1)
    to_come = float(values[ledger["kind"] != "won"].sum())
    open_values = values[ledger["kind"] == "open"].sort_values(ascending=False)
    if to_come <= 0 or open_values.empty:
        return None
    n = min(TOP_DEALS, len(open_values))
    share = float(open_values.head(n).sum()) / to_come
    what = "revenue" if metric == "revenue" else "deals"
    return Item(
        f"Concentration: {format_pct(share)} of the {what} still to come in {outlook['quarter']} "
        f"rests on its {n} largest open deals.",
        "forecast.html",
    )


def risk_items(folder: Path, manifest: dict, ledger: pd.DataFrame | None, outlook: dict | None,
               metric: str, currency: str) -> list[Item]:  # fmt: skip
    """The top risks: stalled value, concentration, figures to read with care, data problems."""
    items = []
    patterns = _summary(folder, "patterns")
    figures = patterns["figures"] if patterns else {}
    stalled = figures.get("stalled_deals")
    if stalled:
        at_risk = figures.get("value_at_risk")
        value = f": {format_money(at_risk, currency)} at risk" if at_risk else ""
        items.append(
            Item(
                f"Stalled deals: {format_count(stalled)} open deals are far older than won deals "
                f"usually get{value}.",
                "patterns.html",
            )
        )
    if ledger is not None and outlook is not None:
        concentration = concentration_item(ledger, outlook, metric)
        if concentration is not None:
            items.append(concentration)
    for sentence in manifest.get("models", {}).get("reader_warnings", []):
        items.append(Item(sentence, "product_potential.html"))
    problems = [problem_sentence(w) for w in manifest.get("validation", {}).get("warnings", [])]
    for sentence in problems[:TOP_PROBLEMS]:
        items.append(Item(f"Data: {sentence}", "overview.html"))
    if len(problems) > TOP_PROBLEMS:
        more = len(problems) - TOP_PROBLEMS
        items.append(
            Item(f"Data: {more} more problem(s) are listed in the overview.", "overview.html")
        )
    return items


def _ledger(folder: Path | None) -> pd.DataFrame | None:
    path = None if folder is None else folder / "files" / "forecast" / f"{LEDGER_FILE}.csv"
    return read_ledger(path) if path is not None and path.exists() else None


def _moved(page: ExecutivePage, previous: Path | None, previous_period: str, ledger, frame,
           outlook: dict, metric: str, currency: str) -> None:  # fmt: skip
    """Fill the page's part on why the forecast moved (or say why it cannot)."""
    window = [pd.Period(m, "M") for m in outlook["quarter_months"]]
    label = f"{window[0]}..{window[-1]}" if len(window) > 1 else str(window[0])
    before = _ledger(previous)
    if before is None:
        page.moved_intro = (
            f"No published run of {previous_period} is in this reports folder, so there is no "
            "earlier forecast to compare with; once one is, this part says why the forecast moved."
        )
        return
    if ledger is None or frame is None or not covers(before, metric, window):
        page.moved_intro = (
            f"The run of {previous_period} did not forecast every month of {label}, so the "
            "change cannot be split into its parts."
        )
        return
    attribution = attribute(before, ledger, frame, window, metric)
    page.moved_intro, page.moved = moved_items(attribution, previous_period, currency)
    page.moved_total = _signed(attribution.change / UNITS[metric], metric, currency)
    page.figures["attribution"] = {
        "window": [str(m) for m in window],
        "metric": metric,
        "unit": UNITS[metric],
        "before": attribution.before,
        "after": attribution.after,
        "parts": attribution.parts,
        "deals": attribution.deals,
    }


def build(
    folder: Path,
    manifest: dict,
    previous: Path | None,
    frame: pd.DataFrame | None,
    currency: str = "",
) -> ExecutivePage:
    """The executive page of the report set in ``folder`` (its manifest so far), against the
    published set of last month in ``previous`` (``None``: there is none); ``frame`` is the run's
    canonical opportunities (what became of last month's deals)."""
    page = ExecutivePage()
    previous_period = str(pd.Period(manifest["period"], "M") - 1)
    forecast = _summary(folder, "forecast")
    outlook = (forecast or {}).get("figures", {}).get("outlook")
    metric = (outlook or {}).get("metric", "revenue")
    ledger = _ledger(folder)
    if outlook is None:
        page.moved_intro = "The forecast is not part of this run, so nothing can be compared."
    else:
        page.forecast = forecast_items(outlook, metric, currency)
        _moved(page, previous, previous_period, ledger, frame, outlook, metric, currency)
    page.risks = risk_items(folder, manifest, ledger, outlook, metric, currency)
    potential = _summary(folder, "product_potential")
    levers = folder / "files" / "product_potential" / "levers.csv"
    if potential and levers.exists():
        figures = potential["figures"]
        page.levers = lever_items(
            pd.read_csv(levers),
            figures.get("lever_pct", 10),
            figures.get("horizon_months", 3),
            currency,
        )
    return page
