"""Stage conversion and time in stage from a stage history against the simulated truth, beside
what two monthly exports can infer.

For each pipeline shape the sample generator simulates deals with known stage loss probabilities
and dwell times; the stage history is what the CRM would have logged
(:func:`pipeline_models.data.synthetic.history_snapshot`). Printed per shape:

- the largest error of stage conversion over the open stages, against the true conversion:
  from the history over twelve months, from the history over the last month alone, and inferred
  from the last two month-end exports;
- the loss-split error (half the summed absolute difference between the share of losses per stage
  and the true split: 0 exact, 1 all wrong), for the same three;
- for the shape without stalls, the mean and median days in each stage: simulated, measured on the
  history, and the two-export estimate.

Usage::

    python bench/stage_history.py [--seed 7] [--deals 5000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import pandas as pd

from pipeline_models.analyses.patterns.changes import compare
from pipeline_models.analyses.patterns.history import history_moves, history_time_in_stage
from pipeline_models.analyses.patterns.stages import StageOrder, stage_conversion
from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample

SHAPES = {
    "small (2,000)": {"n_opportunities": 2_000},
    "default": {},
    "large (20,000)": {"n_opportunities": 20_000},
    "bottleneck at Discovery": {"bottleneck_stage": "Discovery", "bottleneck_weight": 6.0},
    "many stalls (25%)": {"stalled_fraction": 0.25, "stalled_segment": None},
    "no stalls": {"stalled_fraction": 0.0},
}


def errors(table: pd.DataFrame, truth: pd.Series, loss: pd.Series) -> str:
    table = table.set_index("stage")
    share = table["lost"] / table["lost"].sum()
    worst = float(abs(table["conversion"] - truth).max())
    split = float(abs(share - loss).sum() / 2)
    return f"{worst:.3f} / {split:.3f}"


def shape_line(name: str, knobs: dict, seed: int, deals: int) -> tuple[str, dict]:
    config = replace(sample.SampleConfig(), with_leads=False, **{"n_opportunities": deals, **knobs})
    history = sample.simulate_history(config, seed)
    previous_day, day = (pd.Timestamp(d) for d in sample.month_ends(config, 2))
    frame = conform_opportunities(sample.snapshot(history, day)[0])
    previous = conform_opportunities(sample.snapshot(history, previous_day)[0])
    log = sample.history_snapshot(history, day)
    order = StageOrder(tuple(config.stages), "crm")
    truth = pd.Series(sample.stage_conversion_truth(history.truth))
    loss = pd.Series(history.truth["stages"]["loss_stage_probability"])
    since = day - pd.DateOffset(months=12)
    year = stage_conversion(history_moves(log, frame, order, day, since), order, (day - since).days)
    gap = (day - previous_day).days
    month = stage_conversion(history_moves(log, frame, order, day, previous_day), order, gap)
    comparison = compare(previous, frame, order, day)
    exports = stage_conversion(comparison.moves, order, comparison.gap_days)
    line = (
        f"{name:<26} {errors(year, truth, loss):>15} {errors(month, truth, loss):>15} "
        f"{errors(exports, truth, loss):>15}"
    )
    parts = {
        "history": history,
        "log": log,
        "frame": frame,
        "order": order,
        "day": day,
        "since": since,
        "exports": exports,
    }
    return line, parts


def dwell_lines(parts: dict) -> list[str]:
    history, order, day, since = parts["history"], parts["order"], parts["day"], parts["since"]
    table = history_time_in_stage(parts["log"], parts["frame"], order, day, since).set_index(
        "stage"
    )
    st = history.stages
    entered = st[st["stage"].isin(order.stages) & (st["entered_date"] > since)]
    entered = entered[entered["entered_date"] <= day]
    dwell = (entered["exited_date"] - entered["entered_date"]).dt.days
    truth = dwell.groupby(entered["stage"].astype(str)).agg(["mean", "median"])
    exports = parts["exports"].set_index("stage")["months_in_stage"] * DAYS_PER_MONTH
    lines = [
        f"{'stage':<14} {'true mean':>9} {'history mean (interval)':>24} {'true median':>11} "
        f"{'history median':>14} {'two-export mean':>15}"
    ]
    for stage in order.stages:
        row = table.loc[stage]
        lines.append(
            f"{stage:<14} {truth.loc[stage, 'mean']:>9.1f} "
            f"{row['days_in_stage']:>9.1f} ({row['days_lower']:.1f}-{row['days_upper']:.1f})"
            f"{'':>3} {truth.loc[stage, 'median']:>11.0f} {row['median_days']:>14.0f} "
            f"{exports.loc[stage]:>15.1f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--deals", type=int, default=5_000, help="deals of a default shape")
    args = parser.parse_args()
    print("stage conversion: largest error over the stages / loss-split error")
    print(f"{'shape':<26} {'history, 12 mo':>15} {'history, 1 mo':>15} {'two exports':>15}")
    kept = {}
    for name, knobs in SHAPES.items():
        t0 = time.perf_counter()
        line, parts = shape_line(name, knobs, args.seed, args.deals)
        print(f"{line}   ({time.perf_counter() - t0:.1f} s)", flush=True)
        kept[name] = parts
    print("\ntime in stage, days (shape without stalls, twelve months):")
    for line in dwell_lines(kept["no stalls"]):
        print(line)


if __name__ == "__main__":
    main()
