"""How the CRM showed an open deal: its expected close date and amount, and when they changed.

The expected close date starts optimistic, ``expected_0 = created + cycle * optimism * exp(noise
* z)`` (at least a week, often snapped to a month end), and is revised up to
:data:`~.config.MAX_REVISIONS` times while the deal is open: most revisions push it later shortly
before it arrives, a few pull it in. Some open amounts differ from the final one until a single
revision, and some are missing until the deal closes.
"""

from __future__ import annotations

import numpy as np

from .columns import NEVER, month_end_day
from .config import MAX_REVISIONS, SampleConfig
from .draws import normalised


def expected_close_dates(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    cycle: np.ndarray,
    close: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The CRM's expected close date of each deal and the days it was revised.

    Returns ``expected`` (n, R+1): the date set at creation and after each revision, and
    ``revised`` (n, R): the day of each revision (:data:`NEVER` when it did not happen). Revisions
    happen while the deal is open: pushes shortly before the expected date, later by about
    ``push_days_median`` (often to a month end); pull-ins earlier, by two to six weeks.
    """
    n = len(created)
    guess = (
        cycle * config.close_date_optimism * np.exp(config.close_date_noise * rng.normal(size=n))
    )
    expected0 = created + np.maximum(7, np.rint(guess)).astype(np.int64)
    snap = rng.random(n) < config.month_end_snap
    expected0 = np.where(snap, month_end_day(expected0), expected0)
    allowed = rng.choice(MAX_REVISIONS + 1, size=n, p=normalised(config.revision_count_weights))
    expected = np.empty((n, MAX_REVISIONS + 1), dtype=np.int64)
    revised = np.full((n, MAX_REVISIONS), NEVER, dtype=np.int64)
    expected[:, 0] = expected0
    previous_day, previous_expected = created.copy(), expected0
    alive = np.ones(n, dtype=bool)
    for k in range(1, MAX_REVISIONS + 1):
        pull = rng.random(n) < config.pull_in_probability
        day_push = previous_expected - rng.integers(0, 15, n)
        day_pull = previous_day + np.rint(
            rng.uniform(0.2, 0.6, n) * (previous_expected - previous_day)
        ).astype(np.int64)
        day = np.maximum(np.where(pull, day_pull, day_push), previous_day + 1)
        push_days = np.maximum(
            7, np.rint(config.push_days_median * np.exp(0.5 * rng.normal(size=n)))
        ).astype(np.int64)
        pushed = previous_expected + push_days
        pushed = np.where(rng.random(n) < config.month_end_snap, month_end_day(pushed), pushed)
        pulled = np.maximum(day + 7, previous_expected - rng.integers(14, 46, n))
        alive &= (k <= allowed) & (day < close)
        expected[:, k] = np.where(alive, np.where(pull, pulled, pushed), previous_expected)
        revised[:, k - 1] = np.where(alive, day, NEVER)
        previous_day = np.where(alive, day, previous_day)
        previous_expected = expected[:, k]
    return expected, revised


def amount_revisions(
    config: SampleConfig, rng: np.random.Generator, created: np.ndarray, cycle: np.ndarray
) -> dict[str, np.ndarray]:
    """How each deal's amount showed while open.

    Returns ``open_amount_factor`` (open amount / final amount before the revision, 1 for deals
    never revised), ``amount_revised`` (the day of the one revision, :data:`NEVER` without one)
    and ``amount_missing`` (no amount shown while open).
    """
    n = len(created)
    has_change = rng.random(n) < config.amount_change_fraction
    amount_factor = np.where(
        has_change, np.exp(config.amount_change_sigma * rng.normal(size=n)), 1.0
    )
    change_day = created + np.rint(rng.uniform(0.1, 0.9, n) * cycle).astype(np.int64)
    change_day = np.where(has_change, np.maximum(change_day, created + 1), NEVER)
    amount_missing = rng.random(n) < config.open_amount_missing
    return {
        "open_amount_factor": amount_factor,
        "amount_revised": change_day,
        "amount_missing": amount_missing,
    }


__all__ = ["amount_revisions", "expected_close_dates"]
