"""Hand-made inputs shared by the product potential tests: posterior draws scattered around
known values, and a small export whose figures can be counted by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr
from reader_checks import reader_faults  # noqa: F401 (the cases' tests import it from here)

from pipeline_models.analyses.product_potential.draws import derive
from pipeline_models.contract import schema
from pipeline_models.data import synthetic as sample

H = 3  # horizon, months


def make_draws(
    levels: tuple[str, ...] = ("A", "B", "C"),
    n: int = 400,
    seed: int = 0,
    win: tuple[float, ...] = (0.2, 0.3, 0.5),
    size: tuple[float, ...] = (10_000.0, 5_000.0, 2_000.0),
    days: tuple[float, ...] = (90.0, 45.0, 20.0),
    volume: tuple[float, ...] = (20.0, 50.0, 100.0),
) -> xr.Dataset:
    """Hand-made joint posterior draws: each quantity scattered around the given value."""
    rng = np.random.default_rng(seed)
    k = len(levels)

    def around(values, rel):  # noqa: ANN001, ANN202
        return np.asarray(values[:k], float)[None, :] * np.exp(rel * rng.standard_normal((n, k)))

    data = {
        "win_rate": np.clip(around(win, 0.1), 0, 1),
        "deal_size": around(size, 0.05),
        "stalled_share": np.clip(around((0.1, 0.05, 0.02, 0.03), 0.2), 0, 1),
        "cycle_mu": np.log(around(days, 0.05)),
        "cycle_sigma": np.full((n, k), 0.5),
        "volume": around(volume, 0.1),
        "volume_earlier": around(volume, 0.1),
    }
    ds = xr.Dataset(
        {name: (("sample", "product"), v) for name, v in data.items()},
        coords={"sample": np.arange(n), "product": list(levels)},
        attrs={"by": ["product"], "volume_months": 6},
    )
    return derive(ds)


def hand_frame() -> pd.DataFrame:
    """Eight deals of products X, Y and none, regions N, S and none."""
    rows = [
        # id, created, closed, status, amount, product, region
        ("1", "2026-01-10", "2026-02-10", "won", 100.0, "X", "N"),
        ("2", "2026-02-10", "2026-03-01", "lost", None, "X", "N"),
        ("3", "2026-05-10", "2026-06-20", "won", 300.0, "X", "S"),
        ("4", "2026-08-01", None, "open", 50.0, "X", "S"),
        ("5", "2026-09-01", None, "open", None, "Y", "N"),
        ("6", None, None, "open", 20.0, "Y", None),
        ("7", "2026-04-01", "2026-04-21", "won", 0.0, "Y", "N"),
        ("8", "2026-06-15", "2026-07-15", "lost", 80.0, None, "N"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "created_date",
            "close_date",
            "status",
            "amount",
            "product",
            "region",
        ],
    )
    frame["stage"] = frame["status"]
    return schema.conform_opportunities(frame)


def simulated_export(n: int, seed: int) -> tuple[pd.DataFrame, dict, pd.Timestamp]:
    """A simulated export of ``n`` opportunities, the simulation's truth and its end day."""
    config = replace(sample.SampleConfig(), n_opportunities=n, with_leads=False)
    history = sample.simulate_history(config, random_seed=seed)
    opportunities, _ = sample.snapshot(history, config.end)
    return schema.conform_opportunities(opportunities), history.truth, pd.Timestamp(config.end)
