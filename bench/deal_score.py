"""Deal scores against simple and strong baselines, by the number of deals they learn from.

The data (an automotive-supplies wholesaler's CRM, 2015) are not the project's: by default the
script reads ``ibm-win-loss/train.csv`` from the shared data folder ($PIPELINE_SHARED_DATA, default
``../shared/data`` beside the project) and splits it exactly as ``bench/ibm_eval.py`` does: by a hash
of the opportunity number (so the lines of one multi-line opportunity stay together), 25% held out
as the test part, the rest the training part. ``--train`` and ``--test`` give two files of the same
layout instead, each used whole.

Only what is known before the outcome is a feature: Route To Market, Region, Supplies Subgroup, Client
Size By Revenue, Client Size By Employee Count, Revenue From Client Past Two Years, Competitor Type
and the raw Opportunity Amount USD. The stage-duration, ratio and stage-change-count columns are only
known once a deal has closed and would leak the answer; Deal Size Category is a binned copy of the
amount and is left out too.

For each size in ``--sizes`` (a number of training deals, or ``all``) and each repeat (a random
subsample of the training part of that size, drawn from ``--seed``, the size and the repeat; ``all``
is fitted once), four predictors are fitted on the same deals and scored on the whole test part:

- ``segment rate``: raw win rate of the deal's segment (route to market x region x subgroup), the
  overall rate for a segment never seen; clipped to [0.001, 0.999];
- ``logistic``: plain maximum-likelihood logistic regression on the seven attributes one-hot (first
  level as reference) plus log1p(amount), fitted with scipy's L-BFGS as in ``bench/ibm_eval.py``;
- ``lightgbm``: gradient-boosted trees, as ``LGBMClassifier`` with 400 trees, learning rate 0.05,
  31 leaves, at least 20 deals per leaf, the attributes as pandas categories and the raw amount;
  the same settings at every size (nothing is tuned per size), deterministic, seeded by ``--seed``,
  two threads;
- ``deal score``: the project's ``DealScoreModel`` on the seven attributes and the amount.

Scores (``pipeline_models.models.deal_score.scores``): log loss (probabilities clipped to
[1e-6, 1 - 1e-6]), Brier score, expected calibration error (10 equal-width bins, weighted by deals)
and AUC; each is the mean over the repeats, as is ``fit_seconds`` (fitting and predicting the test
part). LightGBM is a benchmark-only dependency: ``pip install -e .[bench]``.

Usage::

    python bench/deal_score.py [--train FILE --test FILE] [--sizes 300 1000 5000 all]
                               [--repeats 5] [--seed 1] [--out metrics.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_eval import ATTRIBUTES, design, fit_logistic, load, segment_rate, shared_data  # noqa: E402

from pipeline_models.models.deal_score.scores import auc, brier, ece, log_loss  # noqa: E402

HOLDOUT_PERCENT = 25
"""Share of opportunity numbers held out, as ``bench/ibm_eval.py`` holds out by default."""
COLUMNS = list(ATTRIBUTES.values())
"""The seven attributes known before the outcome, as renamed by ``ibm_eval.load``."""
SEGMENT_CLIP = 1e-3
"""A segment rate of 0 or 1 from a handful of deals is kept this far from certainty."""
LIGHTGBM = {
    "objective": "binary",
    "num_iterations": 400,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,  # deterministic results need one histogram layout, chosen up front
    "verbose": -1,
}
"""LightGBM's settings, the same at every size: ``LGBMClassifier(n_estimators=400,
learning_rate=0.05, num_leaves=31, min_child_samples=20, n_jobs=2)`` in lightgbm's own terms (its
scikit-learn wrapper would need scikit-learn as well; the model it fits is the same)."""
METRICS = {"log_loss": log_loss, "brier": brier, "ece": ece, "auc": auc}

Predictor = Callable[[pd.DataFrame, pd.DataFrame, int], np.ndarray]


def won(frame: pd.DataFrame) -> np.ndarray:
    return (frame["status"] == "won").to_numpy()


# ------------------------------------------------------------------------------ predictors
def segment(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    return np.clip(segment_rate(train, test), SEGMENT_CLIP, 1 - SEGMENT_CLIP)


def logistic(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    levels = {c: sorted(train[c].unique()) for c in COLUMNS}
    log_amount = np.log1p(train["amount"].to_numpy())
    # standardised for L-BFGS's sake; with an intercept the fitted probabilities do not change
    centre, scale = log_amount.mean(), log_amount.std() or 1.0

    def features(frame: pd.DataFrame) -> np.ndarray:
        amount = (np.log1p(frame["amount"].to_numpy()) - centre) / scale
        return np.column_stack([design(frame, levels), amount])

    beta = fit_logistic(features(train), won(train).astype(float))
    return expit(features(test) @ beta)


def boosted(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    import lightgbm

    # categories fixed by the training deals: a level they never saw is missing, not a new code
    levels = {c: sorted(train[c].unique()) for c in COLUMNS}

    def features(frame: pd.DataFrame) -> pd.DataFrame:
        table = {
            c: pd.Categorical(frame[c].where(frame[c].isin(levels[c])), categories=levels[c])
            for c in COLUMNS
        }
        return pd.DataFrame({**table, "amount": frame["amount"].to_numpy()})

    data = lightgbm.Dataset(features(train), label=won(train).astype(float))
    booster = lightgbm.train({**LIGHTGBM, "seed": seed}, data)
    return np.asarray(booster.predict(features(test)), dtype=float)


def deal_score_predictor() -> Predictor | None:
    """The project's deal score, or None (with a note) when it cannot be imported."""
    try:
        from pipeline_models.models.deal_score import DealScoreConfig, DealScoreModel
    except ImportError as error:
        print(f"deal score left out: it cannot be imported ({error})", flush=True)
        return None
    config = DealScoreConfig(attributes=tuple(COLUMNS), amount="amount")

    def deal_score(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
        model = DealScoreModel(config).fit(train[[*COLUMNS, "amount"]], won(train))
        return np.asarray(model.predict(test[[*COLUMNS, "amount"]]), dtype=float)

    return deal_score


# ------------------------------------------------------------------------------ the benchmark
def subsample(train: pd.DataFrame, size: int, seed: int, repeat: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, size, repeat])
    rows = np.sort(rng.choice(len(train), size=size, replace=False))
    return train.iloc[rows].reset_index(drop=True)


def score(
    predictors: dict[str, Predictor],
    train: pd.DataFrame,
    test: pd.DataFrame,
    sizes: list[str],
    repeats: int,
    seed: int,
) -> pd.DataFrame:
    """Every predictor at every size and repeat, scored on the whole test part (means over repeats)."""
    y = won(test).astype(float)
    rows = []
    for size in sizes:
        n = len(train) if size == "all" else int(size)
        if n > len(train):
            print(f"size {n} left out: the training part holds {len(train)} deals", file=sys.stderr)
            continue
        runs = 1 if size == "all" else repeats
        for repeat in range(runs):
            part = train if size == "all" else subsample(train, n, seed, repeat)
            for name, predict in predictors.items():
                print(f"size {size}, repeat {repeat + 1}/{runs}: {name}", file=sys.stderr)
                t0 = time.perf_counter()
                p = predict(part, test, seed)
                seconds = time.perf_counter() - t0
                metrics = {m: f(p, y) for m, f in METRICS.items()}
                rows.append(
                    {"predictor": name, "train_deals": n, **metrics, "fit_seconds": seconds}
                )
    table = pd.DataFrame(rows, columns=["predictor", "train_deals", *METRICS, "fit_seconds"])
    return table.groupby(["predictor", "train_deals"], sort=False).mean().reset_index()


def size_argument(text: str) -> str:
    if text == "all" or (text.isdigit() and int(text) > 0):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither a positive number of deals nor 'all'")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, help="training deals (IBM layout)")
    parser.add_argument("--test", type=Path, help="test deals (IBM layout)")
    parser.add_argument(
        "--sizes", nargs="+", type=size_argument, default=["300", "1000", "5000", "all"]
    )
    parser.add_argument("--repeats", type=int, default=5, help="subsamples per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="CSV of the table (printed only without it)")
    args = parser.parse_args(argv)
    if (args.train is None) != (args.test is None):
        parser.error("--train and --test go together")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def parts(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The training and test parts, or None (with a message) when a file is missing."""
    paths = (
        [args.train, args.test] if args.train else [shared_data() / "ibm-win-loss" / "train.csv"]
    )
    for path in paths:
        if not path.exists():
            print(f"{path} not found (set PIPELINE_SHARED_DATA)", file=sys.stderr)
            return None
    if args.train:
        # holding out 0% keeps every deal of each file in its first part
        return load(args.train, 0)[0], load(args.test, 0)[0]
    return load(paths[0], HOLDOUT_PERCENT)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        print(
            "lightgbm is missing: it is a benchmark-only dependency; install it with "
            "`pip install -e .[bench]` (or `.venv/bin/pip install lightgbm`)",
            file=sys.stderr,
        )
        return 3
    split = parts(args)
    if split is None:
        return 2
    train, test = split
    print(
        f"training part {len(train)} deals (win rate {won(train).mean():.3f}), "
        f"test part {len(test)} deals (win rate {won(test).mean():.3f}); "
        f"lightgbm with the same settings at every size",
        flush=True,
    )
    predictors: dict[str, Predictor] = {
        "segment rate": segment,
        "logistic": logistic,
        "lightgbm": boosted,
    }
    deal_score = deal_score_predictor()
    if deal_score is not None:
        predictors["deal score"] = deal_score
    table = score(predictors, train, test, args.sizes, args.repeats, args.seed)
    formats = {m: "{:.4f}".format for m in METRICS} | {"fit_seconds": "{:.2f}".format}
    print(table.to_string(index=False, formatters=formats))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
