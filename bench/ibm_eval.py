"""Out-of-sample calibration of the win-rate model on IBM's "Sales Win Loss" sample.

The data (an automotive-supplies wholesaler's CRM, 2015) are not the project's: the script reads
``ibm-win-loss/train.csv`` from the shared data folder ($PIPELINE_SHARED_DATA, default
``../shared/data`` beside the project). Opportunities are split by a hash of their number (so the
lines of one multi-line opportunity stay together): about 75% to fit on, the rest to judge.

Only what is known before the outcome is used: Route To Market, Region, Supplies Subgroup, Client
Size By Revenue, Client Size By Employee Count, Revenue From Client Past Two Years, Competitor Type
and an amount band (deciles of Opportunity Amount USD on the fitting part). The stage-duration and
ratio columns are only known once a deal has closed and would leak the answer.

Compared on the held-out part: log loss, Brier score and expected calibration error (10 equal-width
bins of predicted probability, weighted by deals) of

- ``segment rate``: raw win rate of the deal's segment (route to market x region x subgroup) in the
  fitting part, the overall rate for a segment never seen; clipped to [0.001, 0.999] for log loss;
- ``logistic``: plain maximum-likelihood logistic regression on the same eight attributes, one-hot
  (first level as reference), fitted with scipy's L-BFGS;
- ``WinRateModel``: the project's hierarchical model, one varying intercept per attribute plus
  the pairwise interactions listed in ``TERMS`` (partial pooling keeps the thin ones near zero);
  the posterior mean probability is the prediction.

Usage::

    python bench/ibm_eval.py [--seed 1] [--holdout 25] [--main-effects-only] [--draws 2000]

About 17,900 cells (the eight attributes' combinations seen): the default fit takes a quarter of an
hour or more on two busy cores. ``--draws 500 --tune 500`` takes a fraction of that; the fit still
needs a bulk ESS of 400 (or it is rerun with more draws), which puts the Monte Carlo error of a
posterior-mean probability at about 1/20 of its posterior sd, far below the differences scored here.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from pipeline_models.models.deal_score.scores import brier, ece, log_loss, reliability

ROOT = Path(__file__).resolve().parents[1]

ATTRIBUTES = {
    "Route To Market": "route",
    "Region": "region",
    "Supplies Subgroup": "subgroup",
    "Client Size By Revenue": "client_revenue",
    "Client Size By Employee Count": "client_employees",
    "Revenue From Client Past Two Years": "past_revenue",
    "Competitor Type": "competitor",
}
MAIN = [*ATTRIBUTES.values(), "amount_band"]
TERMS = [
    *MAIN,
    "route:subgroup",
    "route:region",
    "route:amount_band",
    "subgroup:region",
    "competitor:route",
    "past_revenue:route",
    "amount_band:subgroup",
]
SEGMENT = ["route", "region", "subgroup"]
LOG_LOSS_CLIP = 1e-3
"""Probabilities are clipped this far from 0 and 1 for log loss, so that a segment never won in
the fitting part costs about 7 nats per deal it wins here, not an infinite score."""


def shared_data() -> Path:
    return Path(os.environ.get("PIPELINE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def load(path: Path, holdout_percent: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(path).drop_duplicates()
    frame = raw.rename(columns=ATTRIBUTES)[list(ATTRIBUTES.values())]
    # an empty Competitor Type (no competitor) becomes the level "(none)", as in the models
    frame = frame.astype(str).fillna("(none)")
    frame["status"] = np.where(raw["Opportunity Result"] == "Won", "won", "lost")
    frame["amount"] = raw["Opportunity Amount USD"].astype(float)
    digest = (
        raw["Opportunity Number"]
        .astype(str)
        .map(lambda s: int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) % 100)
    )
    test = (digest < holdout_percent).to_numpy()
    train, held = frame[~test].copy(), frame[test].copy()
    edges = np.unique(np.quantile(train["amount"], np.linspace(0, 1, 11))[1:-1])
    for part in (train, held):
        part["amount_band"] = [f"d{b}" for b in np.searchsorted(edges, part["amount"])]
    return train.reset_index(drop=True), held.reset_index(drop=True)


# ------------------------------------------------------------------------------ baselines
def segment_rate(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
    won = train["status"] == "won"
    rates = won.groupby([train[c] for c in SEGMENT]).mean()
    keys = pd.MultiIndex.from_frame(held[SEGMENT])
    return rates.reindex(keys).fillna(won.mean()).to_numpy()


def design(frame: pd.DataFrame, levels: dict[str, list[str]]) -> np.ndarray:
    cols = [np.ones(len(frame))]
    for name, lv in levels.items():
        for level in lv[1:]:  # first level is the reference
            cols.append((frame[name] == level).to_numpy(dtype=float))
    return np.column_stack(cols)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logistic regression coefficients of 0/1 outcomes ``y`` on ``x``."""

    def nll(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = x @ beta
        value = np.sum(np.logaddexp(0.0, eta) - y * eta)
        return float(value), x.T @ (expit(eta) - y)

    fit = minimize(
        nll, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 5000}
    )
    return fit.x


def logistic(train: pd.DataFrame, held: pd.DataFrame) -> np.ndarray:
    levels = {c: sorted(train[c].unique()) for c in MAIN}
    x, y = design(train, levels), (train["status"] == "won").to_numpy(dtype=float)
    return expit(design(held, levels) @ fit_logistic(x, y))


def hierarchical(
    train: pd.DataFrame,
    held: pd.DataFrame,
    terms: list[str],
    seed: int,
    cache_dir: Path,
    draws: int,
    tune: int,
) -> tuple[np.ndarray, object]:
    from pipeline_models.models import WinRateModel, fit_cached

    model = WinRateModel(groups=terms, draws=draws, tune=tune)
    model = fit_cached(model, train, cache_dir, random_seed=seed).model
    preds = []
    for start in range(0, len(held), 2000):  # bounded memory: draws x rows per chunk
        chunk = held.iloc[start : start + 2000]
        preds.append(model.predict_proba(chunk, random_seed=seed).mean("sample").values)
    return np.concatenate(preds), model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--holdout", type=int, default=25, help="percent held out")
    parser.add_argument("--main-effects-only", action="store_true")
    parser.add_argument("--draws", type=int, default=2000, help="posterior draws per chain")
    parser.add_argument("--tune", type=int, default=1000, help="tuning steps per chain")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pipeline-bench-fits",
        help="fit cache (a rerun with the same data and seed loads the fit)",
    )
    args = parser.parse_args(argv)

    path = shared_data() / "ibm-win-loss" / "train.csv"
    if not path.exists():
        print(f"{path} not found (set PIPELINE_SHARED_DATA)", file=sys.stderr)
        return 2
    train, held = load(path, args.holdout)
    y = (held["status"] == "won").to_numpy(dtype=float)
    print(
        f"fit on {len(train)} deals (win rate {np.mean(train['status'] == 'won'):.3f}), "
        f"judged on {len(held)} held-out deals (win rate {y.mean():.3f})"
    )

    terms = MAIN if args.main_effects_only else TERMS
    t0 = time.perf_counter()
    p_model, model = hierarchical(
        train, held, terms, args.seed, args.cache_dir, args.draws, args.tune
    )
    seconds = time.perf_counter() - t0
    predictions = {
        "segment rate": segment_rate(train, held),
        "logistic": logistic(train, held),
        "WinRateModel": p_model,
    }
    print(
        f"WinRateModel: {len(terms)} terms, {len(model.inputs_)} cells, fit and predict "
        f"{seconds:.0f} s; {model.diagnostics().message}"
    )
    print(f"\n{'predictor':<14} {'log loss':>9} {'Brier':>8} {'ECE':>7}")
    for name, p in predictions.items():
        print(
            f"{name:<14} {log_loss(p, y, LOG_LOSS_CLIP):>9.4f} {brier(p, y):>8.4f} {ece(p, y):>7.4f}"
        )
    print("\nreliability of WinRateModel on the held-out deals")
    print(reliability(p_model, y).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nbetween-level sd (logit scale, 90% interval)")
    print(model.between_group_sd().to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
