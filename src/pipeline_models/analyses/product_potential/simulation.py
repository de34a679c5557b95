"""Deal-by-deal simulation of the levers' arithmetic (:func:`.levers.added_revenue`), so a test
can check the closed form against deals that are created, stall, win and close one by one."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from pipeline_models.contract.labels import DAYS_PER_MONTH

from .levels import level_dim_of

_NOW = ("volume", "stalled_share", "win_rate", "deal_size", "cycle_mu", "cycle_sigma")


def simulate_added_revenue(
    draws: xr.Dataset,
    changes: Mapping[str, xr.DataArray],
    horizon_months: float = 3,
    n_draws: int = 500,
    amount_sigma: float = 0.6,
    random_seed: int | None = 0,
) -> xr.DataArray:
    """Deal-by-deal simulation of :func:`~.levers.added_revenue`, with common random numbers.

    For each of ``n_draws`` evenly spaced posterior draws and each level: ``N ~ Poisson(lambda
    H)`` opportunities created at uniform times in the horizon; each stalls with probability
    ``z``, else is won when ``u < q`` (``u`` uniform), with amount ``s * exp(sigma_a e -
    sigma_a^2/2)`` and days to close ``exp(mu + sigma e')``. The changed world uses the *same*
    random numbers with ``q'`` (``u < q'``), amounts scaled by ``s'/s`` and days
    ``exp(mu' + sigma e')``; the addition is counted as in :func:`~.levers.added_revenue` (extra
    eventual revenue plus extra revenue of the changed deals closing inside the horizon). Each
    level draws from its own stream, so a level's result does not depend on the other levels'
    changes.

    Returns draws ``(sample, level)`` of the simulated addition (for tests of the arithmetic).
    """
    dim = level_dim_of(draws["win_rate"])
    n_total = draws.sizes["sample"]
    keep = np.linspace(0, n_total - 1, min(n_draws, n_total)).round().astype(int)
    d = draws.isel(sample=keep)
    ch = {k: v.isel(sample=keep) for k, v in changes.items()}
    levels = d[dim].values.tolist()
    out = np.zeros((len(keep), len(levels)))
    base_seq = np.random.SeedSequence(random_seed)
    for j, level in enumerate(levels):
        rng = np.random.default_rng(base_seq.spawn(len(levels))[j])

        def col(name: str, source: Mapping | xr.Dataset, lv: str = level) -> np.ndarray:
            values = source[name] if name in source else d[name]
            return np.asarray(values.sel({dim: lv}).values, dtype=float)

        now = {k: col(k, d) for k in _NOW}
        changed = {k: col(k, ch) for k in ("win_rate", "deal_size", "cycle_mu")}
        out[:, j] = _simulate_level(now, changed, horizon_months, amount_sigma, rng)
    return xr.DataArray(
        out,
        dims=("sample", dim),
        coords={"sample": keep, dim: levels},
        name="simulated_added_revenue",
    )


def _simulate_level(
    now: Mapping[str, np.ndarray],
    changed: Mapping[str, np.ndarray],
    horizon_months: float,
    amount_sigma: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One level's simulated addition per draw: the deals of the horizon in both worlds."""
    h_days = float(horizon_months) * DAYS_PER_MONTH
    lam = now["volume"] * float(horizon_months)
    z, q, s = now["stalled_share"], now["win_rate"], now["deal_size"]
    mu, sig = now["cycle_mu"], now["cycle_sigma"]
    q1, s1, mu1 = changed["win_rate"], changed["deal_size"], changed["cycle_mu"]
    n = rng.poisson(lam)
    width = max(int(n.max()), 1)
    shape = (len(lam), width)
    present = np.arange(width)[None, :] < n[:, None]
    t = rng.random(shape) * h_days
    stalled = rng.random(shape) < z[:, None]
    u = rng.random(shape)
    noise_a = np.exp(amount_sigma * rng.standard_normal(shape) - amount_sigma**2 / 2)
    e = rng.standard_normal(shape)
    won0 = present & ~stalled & (u < q[:, None])
    won1 = present & ~stalled & (u < q1[:, None])
    amount0 = s[:, None] * noise_a
    amount1 = s1[:, None] * noise_a
    inside_old = t + np.exp(mu[:, None] + sig[:, None] * e) <= h_days
    inside_new = t + np.exp(mu1[:, None] + sig[:, None] * e) <= h_days
    eventual = (won1 * amount1).sum(axis=1) - (won0 * amount0).sum(axis=1)
    earlier = (won1 * amount1 * (inside_new.astype(float) - inside_old)).sum(axis=1)
    return eventual + earlier
