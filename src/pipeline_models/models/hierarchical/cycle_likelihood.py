"""The cycle-time model's likelihood on its aggregated rows, in numpy, with its exact gradient and
Hessian in the predictors: what the Laplace fit of :class:`~pipeline_models.models.CycleTimeModel`
uses (the PyMC form is in the model's ``_build``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

OUTCOMES = ("won", "lost")
"""Outcomes that close a deal; the third, ``stalled``, never closes."""


class CycleLikelihood:
    """Log likelihood of each cell given its predictors ``(won, lost log odds, won, lost median
    log days)`` and the two spreads, the same terms as the PyMC model's two potentials, with its
    exact gradient and Hessian in the predictors (for the Laplace fit)."""

    def __init__(self, table: pd.DataFrame, row_cell: np.ndarray, n_cells: int) -> None:
        outcome = table["outcome"].to_numpy()
        count = table["count"].to_numpy(dtype=float)
        lo, hi = table["lo"].to_numpy(dtype=float), table["hi"].to_numpy(dtype=float)
        closed = np.isin(outcome, OUTCOMES)
        self.n_cells = n_cells
        self.k = (outcome[closed] == "lost").astype(np.int64)
        self.c_closed, self.n_closed = row_cell[closed], count[closed]
        self.first, self.last = lo[closed] == 0, np.isinf(hi[closed])
        with np.errstate(divide="ignore"):
            self.log_lo = np.where(self.first, -np.inf, np.log(np.where(self.first, 1, lo[closed])))
            self.log_hi = np.where(self.last, np.inf, np.log(np.where(self.last, 1, hi[closed])))
        open_rows = (outcome == "open") & (lo > 0)
        self.c_open, self.n_open = row_cell[open_rows], count[open_rows]
        self.log_age = np.log(lo[open_rows]) if open_rows.any() else np.zeros(0)
        self.closed_by_outcome = np.stack(
            [np.bincount(self.c_closed, self.n_closed * (self.k == j), n_cells) for j in (0, 1)],
            axis=1,
        )

    def _closed_bins(self, eta: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, ...]:
        m, s_ = eta[self.c_closed, 2 + self.k], sigma[self.k]
        a, b = (self.log_lo - m) / s_, (self.log_hi - m) / s_
        log_bin = np.where(
            self.first, log_ndtr(b), np.where(self.last, log_ndtr(-a), _log_between(a, b))
        )
        return a, b, s_, log_bin

    def _open_parts(self, eta: np.ndarray, sigma: np.ndarray, logp: np.ndarray) -> tuple:
        c = (self.log_age[:, None] - eta[self.c_open, 2:]) / sigma  # (rows, 2)
        log_s = log_ndtr(-c)
        parts = np.concatenate([logp[self.c_open, :2] + log_s, logp[self.c_open, 2:]], axis=1)
        return c, log_s, parts

    def loglik(self, eta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        logp = _log_shares(eta)
        _, _, _, log_bin = self._closed_bins(eta, sigma)
        closed = self.n_closed * (logp[self.c_closed, self.k] + log_bin)
        total = np.bincount(self.c_closed, closed, self.n_cells)
        if len(self.c_open):
            _, _, parts = self._open_parts(eta, sigma, logp)
            total += np.bincount(self.c_open, self.n_open * _logsumexp(parts, axis=1), self.n_cells)
        return total

    def derivatives(self, eta: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradient ``(cells, 4)`` and minus the Hessian ``(cells, 4, 4)`` of :meth:`loglik`."""
        n = self.n_cells
        logp = _log_shares(eta)
        p = np.exp(logp)[:, :2]
        shares = p[:, :, None] * np.eye(2) - p[:, :, None] * p[:, None, :]  # -d2 log p / d eta2
        grad = np.zeros((n, 4))
        neg = np.zeros((n, 4, 4))
        total_closed = self.closed_by_outcome.sum(axis=1)
        grad[:, :2] = self.closed_by_outcome - total_closed[:, None] * p
        neg[:, :2, :2] = total_closed[:, None, None] * shares
        a, b, s_, log_bin = self._closed_bins(eta, sigma)
        with np.errstate(invalid="ignore", over="ignore"):
            ra = np.where(self.first, 0.0, np.exp(_log_phi(a) - log_bin))
            rb = np.where(self.last, 0.0, np.exp(_log_phi(b) - log_bin))
            d1 = (ra - rb) / s_
            d2 = (np.where(self.first, 0.0, a * ra) - np.where(self.last, 0.0, b * rb)) / s_**2
        d2 = d2 - d1**2
        for j in (0, 1):
            rows = self.k == j
            c, w = self.c_closed[rows], self.n_closed[rows]
            grad[:, 2 + j] += np.bincount(c, w * d1[rows], n)
            neg[:, 2 + j, 2 + j] -= np.bincount(c, w * d2[rows], n)
        if len(self.c_open):
            g_open, neg_open = self._open_derivatives(eta, sigma, logp, shares)
            for i in range(4):
                grad[:, i] += np.bincount(self.c_open, self.n_open * g_open[:, i], n)
                for j in range(4):
                    neg[:, i, j] += np.bincount(self.c_open, self.n_open * neg_open[:, i, j], n)
        return grad, neg

    def _open_derivatives(
        self, eta: np.ndarray, sigma: np.ndarray, logp: np.ndarray, shares: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per open row: a log-sum-exp over won-later, lost-later and stalled (``logp``: the
        cells' log outcome chances)."""
        c, log_s, parts = self._open_parts(eta, sigma, logp)
        r = np.exp(parts - _logsumexp(parts, axis=1, keepdims=True))  # (rows, 3)
        hazard = np.exp(_log_phi(c) - log_s)  # (rows, 2)
        p = np.exp(logp[self.c_open, :2])
        jac = np.zeros((len(c), 3, 4))  # gradient of each part
        jac[:, :, :2] = np.eye(3)[None, :, :2] - p[:, None, :]
        jac[:, 0, 2] = hazard[:, 0] / sigma[0]
        jac[:, 1, 3] = hazard[:, 1] / sigma[1]
        grad = np.einsum("rj,rjk->rk", r, jac)
        hess = np.einsum("rj,rjk,rjl->rkl", r, jac, jac) - grad[:, :, None] * grad[:, None, :]
        hess[:, :2, :2] -= shares[self.c_open]
        curve = -hazard * (hazard - c) / sigma**2
        hess[:, 2, 2] += r[:, 0] * curve[:, 0]
        hess[:, 3, 3] += r[:, 1] * curve[:, 1]
        return grad, -hess


def pinned_spreads(table: pd.DataFrame, row_cell: np.ndarray) -> dict[str, dict]:
    """Outcomes whose closed deals (two or more) fall, within each cell, in a single duration bin,
    as when a CRM closes deals as lost after a fixed time without activity.

    Their within-cell spread is below what the bins can tell, and a log-normal spread pressed
    against zero has no posterior to approximate (the Laplace fit's weights collapse and NUTS
    diverges). Such a spread is fixed at that of log days spread evenly over the widest of those
    bins, ``log(hi / lo) / sqrt(12)``, so every deal of the outcome closes within its bin, as
    observed. Returns outcome -> ``{"sigma", "deals", "note"}``; empty for an ordinary export.
    """
    outcome = table["outcome"].to_numpy()
    count = table["count"].to_numpy(dtype=float)
    lo, hi = table["lo"].to_numpy(dtype=float), table["hi"].to_numpy(dtype=float)
    out: dict[str, dict] = {}
    for name in OUTCOMES:
        rows = (outcome == name) & (count > 0)
        deals = int(count[rows].sum())
        cells = row_cell[rows]
        if deals < 2 or len(np.unique(np.c_[cells, lo[rows]], axis=0)) != len(np.unique(cells)):
            continue
        bin_lo, bin_hi = lo[rows], hi[rows]
        # the bins open on one side get the stand-in edges the likelihood's switch uses
        log_width = np.log(np.where(np.isinf(bin_hi), bin_lo * 2 + 1, bin_hi)) - np.log(
            np.where(bin_lo == 0, bin_hi / 2, bin_lo)
        )
        where = days_span(bin_lo.min(), bin_hi.max())
        within = "" if len(np.unique(bin_lo)) == 1 else ", each group's within one bin of days"
        note = (
            f"Every {name} deal ({deals}) closed {where} days after creation{within}, as when a "
            "CRM closes deals after a fixed time: how much their time to close varies is below "
            "what days can tell, and is taken as even over that span, not estimated."
        )
        out[name] = {"sigma": float(log_width.max() / np.sqrt(12)), "deals": deals, "note": note}
    return out


def days_span(lo: float, hi: float) -> str:
    """The days from ``lo`` to ``hi`` (bin edges; ``hi`` infinite for the open last bin) in
    words: ``"between 84 and 91"`` or ``"3654 or more"``."""
    return f"{int(lo)} or more" if np.isinf(hi) else f"between {int(lo)} and {int(hi)}"


def _log_shares(eta: np.ndarray) -> np.ndarray:
    """Log chances of won, lost and stalled from the won and lost log odds (cells, 3)."""
    logits = np.concatenate([eta[:, :2], np.zeros((len(eta), 1))], axis=1)
    return logits - _logsumexp(logits, axis=1, keepdims=True)


def _logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(x)))`` along ``axis`` (scipy's, without its per-call overhead: the Laplace
    fit calls this tens of thousands of times on small arrays)."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_phi(z: np.ndarray) -> np.ndarray:
    return -0.5 * z * z - 0.5 * np.log(2 * np.pi)


def _log_between(z_lo: np.ndarray, z_hi: np.ndarray) -> np.ndarray:
    """``log(Phi(z_hi) - Phi(z_lo))`` without cancellation, in either tail."""
    upper = z_lo > 0
    a = np.where(upper, -z_hi, z_lo)
    b = np.where(upper, -z_lo, z_hi)
    log_a, log_b = log_ndtr(a), log_ndtr(b)
    with np.errstate(divide="ignore"):
        return log_b + np.log1p(-np.exp(np.minimum(log_a - log_b, 0.0)))


__all__ = ["OUTCOMES", "CycleLikelihood", "days_span", "pinned_spreads"]
