"""Quick moment estimates of group effects: what decides each term's parametrization, the levels
of a term in a table of cells, and draws of levels a fit never saw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline_models.data.aggregate import group_levels


def additive_effects(
    values: np.ndarray,
    weights: np.ndarray,
    index: Mapping[str, np.ndarray],
    levels: Mapping[str, Sequence[str]],
    sweeps: int = 50,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weighted additive fit ``values ~ mu + sum_t a_t[level]`` by backfitting (Gauss-Seidel).

    Returns, per term, the level effects and their approximate sampling variances
    (1 / total weight of the level's cells). A quick, prior-free look at how much each term's
    levels differ once the other terms are accounted for.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    values, weights = np.where(ok, values, 0.0), np.where(ok, weights, 0.0)
    total = weights.sum()
    if total <= 0:
        return {t: (np.zeros(len(levels[t])), np.full(len(levels[t]), np.inf)) for t in index}
    effects = {t: np.zeros(len(levels[t])) for t in index}
    level_weight = {t: np.bincount(idx, weights, len(levels[t])) for t, idx in index.items()}
    fitted = np.zeros_like(values)
    mu = float((weights * values).sum() / total)
    for _ in range(sweeps):
        for term, idx in index.items():
            partial = fitted - effects[term][idx]
            resid = values - mu - partial
            with np.errstate(invalid="ignore", divide="ignore"):
                new = np.bincount(idx, weights * resid, len(levels[term])) / level_weight[term]
            new = np.nan_to_num(new)
            new -= new.mean()
            effects[term] = new
            fitted = partial + new[idx]
        mu = float((weights * (values - fitted)).sum() / total)
    with np.errstate(divide="ignore"):
        return {t: (effects[t], 1.0 / level_weight[t]) for t in index}


def prefer_centred(estimates: np.ndarray, variances: np.ndarray) -> bool:
    """Whether the centred form should sample a varying intercept better than the non-centred.

    ``estimates`` are raw per-level estimates on the linear scale and ``variances`` their sampling
    variances. The between-level variance is estimated by moments (``var(estimates) -
    mean(variances)``, floored at 0). Centred wins when the levels' sd is more than four times
    the typical (median) standard error: the data then pin every level far from the others, the
    centred posterior is close to independent and the non-centred one is a curved ridge. Below
    that, non-centred: it is the safe side, since a wrong centred choice near ``sd = 0`` causes
    divergences while a wrong non-centred one mostly costs effective draws (tried on unbalanced
    simulated pipelines: a threshold of two standard errors still chose centred for four regions
    with ~240 deals each and diverged).
    """
    estimates = np.asarray(estimates, dtype=float)
    variances = np.asarray(variances, dtype=float)
    ok = np.isfinite(estimates) & np.isfinite(variances)
    if ok.sum() < 3:
        return False
    between = max(float(np.var(estimates[ok], ddof=1) - np.mean(variances[ok])), 0.0)
    return between > 16.0 * float(np.median(variances[ok]))


def level_draws(
    known: Sequence[str],
    levels: np.ndarray,
    b: np.ndarray,
    sd: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Effects of ``levels`` on the linear scale, draws first.

    ``known`` are the fitted levels (sorted), ``b`` their effects (sample, ..., level), ``sd`` the
    term's scale (sample, ...). A level the fit never saw gets a fresh ``Normal(0, sd)`` effect
    per draw (one per distinct new level, shared by the rows that name it): its effect is drawn
    from the population of levels.
    """
    known = np.asarray(known, dtype=str)
    levels = np.asarray(levels, dtype=str)
    pos_clip = np.minimum(np.searchsorted(known, levels), len(known) - 1)
    seen = known[pos_clip] == levels
    new_levels, new_idx = np.unique(levels[~seen], return_inverse=True)
    b_all = b
    if len(new_levels):
        extra = sd[..., None] * rng.standard_normal((*b.shape[:-1], len(new_levels)))
        b_all = np.concatenate([b, extra], axis=-1)
    idx = np.where(seen, pos_clip, 0)
    idx[~seen] = len(known) + new_idx
    return b_all[..., idx]


def term_levels(cells: pd.DataFrame, term: str) -> np.ndarray:
    cols = term.split(":")
    text = group_levels(cells, cols)
    if len(cols) == 1:
        return text[cols[0]].to_numpy(dtype=object)
    return (
        text.agg(":".join, axis=1).to_numpy(dtype=object)
        if len(text)
        else np.array([], dtype=object)
    )
