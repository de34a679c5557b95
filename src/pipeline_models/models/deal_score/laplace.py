"""A Gaussian (Laplace) approximation to a logistic model with Gaussian priors whose spreads are
estimated from the data (empirical Bayes).

The model on aggregated rows (``n[i]`` deals, ``y[i]`` won, design row ``x[i]``)::

    y[i] ~ Binomial(n[i], logistic(x[i] @ beta))
    beta[block k] ~ Normal(0, (tau[k] * Q[k])^-1),   sd[k] = tau[k]^-1/2 ~ Exponential(rate[k])

where ``Q[k]`` is the identity for a term of levels (partial pooling of the levels towards zero)
and a second-difference penalty for a smooth term. The posterior of ``beta`` is approximated by
a normal at its mode with the inverse Hessian as covariance (Newton's method, exact gradient and
Hessian: the log posterior is concave). Each ``tau[k]`` is set by MacKay's fixed point for
the evidence, ``tau = gamma / (beta' Q beta)`` with ``gamma = rank(Q) - tau * tr(Q Sigma)`` the
number of well-determined parameters of the term (with the exponential prior on each sd, a
penalised complexity prior, the numerator becomes ``gamma + rate * sd``: the spread is the
posterior mode of the sd, which keeps a term with little support from fitting noise), and the two
steps alternate until the spreads settle. The cost grows with the number of distinct rows and the square of the number of
coefficients, not with the number of deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.sparse as sp
from scipy.linalg import lapack
from scipy.special import expit, log1p
from threadpoolctl import threadpool_limits

from pipeline_models.data.aggregate import factorize_rows

NEWTON_STEPS = 50
EB_STEPS = 60
GRADIENT_TOLERANCE = 1e-6
"""Newton stops when the largest gradient entry is below this many deals' worth of log-odds."""
SETTLED = 0.01
"""Empirical Bayes stops when a round moves no row's log-odds by more than this (a chance near
50% by a quarter of a point): spreads heading for zero creep on for many rounds without
changing any prediction."""


@dataclass(frozen=True)
class Block:
    """One term's coefficients: ``start:start + size`` of beta, its penalty matrix and rank."""

    start: int
    size: int
    penalty: np.ndarray  # (size, size): Q of the prior precision tau * Q
    rank: int
    fixed_precision: float | None = None  # a term whose precision is set, not estimated
    sd_rate: float = 0.0  # rate of the exponential prior on the term's sd (0: flat)


@dataclass(frozen=True)
class Coded:
    """A design whose terms are each one-hot: ``codes[i, t]`` is row ``i``'s column within term
    ``t`` (-1: none), the term's columns are ``starts[t]:starts[t] + sizes[t]``. Products with it
    are counts per level (``bincount``); the Gram matrix is a sparse product."""

    codes: np.ndarray  # (rows, terms) int64
    starts: np.ndarray  # (terms,)
    sizes: np.ndarray  # (terms,)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape[0], int(self.starts[-1] + self.sizes[-1])

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.starts, self.sizes)

    def columns(self) -> np.ndarray:
        """Each row's column per term in the full design (-1: none)."""
        return np.where(self.codes >= 0, self.codes + self.starts, -1)

    def dot(self, beta: np.ndarray) -> np.ndarray:
        cols = self.columns()
        return np.where(cols >= 0, beta[np.maximum(cols, 0)], 0.0).sum(axis=1)

    def rdot(self, r: np.ndarray) -> np.ndarray:
        """``X' r``."""
        out = np.zeros(self.shape[1])
        for t, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True)):
            c = self.codes[:, t]
            keep = c >= 0
            out[start : start + size] = np.bincount(c[keep], weights=r[keep], minlength=size)
        return out

    def gram(self, w: np.ndarray) -> np.ndarray:
        """``X' diag(w) X``, dense, by a sparse product (each row holds one 1 per term)."""
        X, Xt, row = self._sparse
        weighted = sp.csr_matrix((w[row], X.indices, X.indptr), shape=X.shape)
        return (Xt @ weighted).toarray()

    @cached_property
    def _sparse(self) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """The design as a sparse matrix, its transpose, and the row of each stored entry."""
        cols = self.columns()
        row, term = np.nonzero(cols >= 0)
        X = sp.csr_matrix((np.ones(len(row)), (row, cols[row, term])), shape=self.shape)
        return X, X.T.tocsr(), np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))


@dataclass(frozen=True)
class LaplaceFit:
    """Mode, covariance and spreads of the fitted model, and how the fit went."""

    beta: np.ndarray
    cov: np.ndarray
    tau: np.ndarray
    newton_converged: bool
    spreads_converged: bool
    gradient: float
    eb_steps: int
    effective: np.ndarray  # gamma per block: well-determined parameters


def prior_precision(blocks: list[Block], tau: np.ndarray, p: int) -> np.ndarray:
    """The dense prior precision matrix for spreads ``tau``."""
    P = np.zeros((p, p))
    for k, b in enumerate(blocks):
        s = slice(b.start, b.start + b.size)
        P[s, s] = tau[k] * b.penalty
    return P


def _objective(eta: np.ndarray, n: np.ndarray, y: np.ndarray, beta, P) -> float:
    # negative log posterior: -sum(y eta - n log(1 + e^eta)) + beta' P beta / 2
    log_norm = np.where(eta > 0, eta + log1p(np.exp(-eta)), log1p(np.exp(eta)))
    return float(-(y * eta - n * log_norm).sum() + 0.5 * beta @ P @ beta)


def _factor(H: np.ndarray) -> np.ndarray:
    chol, info = lapack.dpotrf(H, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("the Hessian is not positive definite")
    return chol


def _inverse(chol: np.ndarray) -> np.ndarray:
    inv, info = lapack.dpotri(chol, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("the Hessian could not be inverted")
    return np.tril(inv) + np.tril(inv, -1).T


def _block_traces(chol: np.ndarray, blocks: list[Block]) -> np.ndarray:
    """``tr(Q[k] Sigma[k, k])`` per block, ``Sigma`` the inverse of ``L L'`` (``chol``: ``L``).

    Only the diagonal blocks of ``Sigma`` are needed, and ``Sigma = L^-T L^-1``: block ``k`` is
    the product of ``L^-1``'s columns of the block with themselves, and where ``Q[k]`` is diagonal
    only their sums of squares. Inverting ``L`` alone costs half of forming all of ``Sigma``."""
    inv_l, info = lapack.dtrtri(chol, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError("the Hessian could not be inverted")
    traces = np.empty(len(blocks))
    for k, b in enumerate(blocks):
        columns = inv_l[b.start :, b.start : b.start + b.size]  # L^-1 is lower triangular
        Q = b.penalty
        if np.count_nonzero(Q - np.diag(np.diag(Q))):
            traces[k] = float(np.sum(Q * (columns.T @ columns)))
        else:
            traces[k] = float(np.diag(Q) @ np.einsum("ij,ij->j", columns, columns))
    return traces


def _step(X: Coded, n, y, P, beta, value, chol, grad) -> tuple[np.ndarray, float]:
    """One damped Newton step: halve it until the posterior rises."""
    step = la.cho_solve((chol, True), grad, check_finite=False)
    t = 1.0
    while True:
        trial = beta - t * step
        new = _objective(X.dot(trial), n, y, trial, P)
        if new <= value + 1e-12 * abs(value) or t < 1e-8:
            return trial, new
        t /= 2.0


def _local(X: Coded, n, y, P, beta) -> tuple[float, np.ndarray, np.ndarray]:
    """Objective, gradient and Cholesky factor of the Hessian at ``beta``."""
    eta = X.dot(beta)
    mu = expit(eta)
    grad = X.rdot(n * mu - y) + P @ beta
    chol = _factor(X.gram(n * mu * (1.0 - mu)) + P)
    return _objective(eta, n, y, beta, P), grad, chol


def newton(
    X: Coded, n: np.ndarray, y: np.ndarray, P: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool, float]:
    """Mode of the posterior for a fixed prior precision ``P``, from ``beta``; returns the mode,
    the Cholesky factor of the Hessian there, whether it converged and the largest gradient."""
    limit = GRADIENT_TOLERANCE * max(1.0, float(n.sum()) ** 0.5)
    for _ in range(NEWTON_STEPS):
        value, grad, chol = _local(X, n, y, P, beta)
        worst = float(np.abs(grad).max())
        if worst < limit:
            return beta, chol, True, worst
        beta, _ = _step(X, n, y, P, beta, value, chol, grad)
    value, grad, chol = _local(X, n, y, P, beta)
    worst = float(np.abs(grad).max())
    return beta, chol, worst < limit, worst


def fit_laplace(
    X: Coded,
    n: np.ndarray,
    y: np.ndarray,
    blocks: list[Block],
    sd_bounds: tuple[float, float],
    tau: np.ndarray | None = None,
    estimate_spreads: bool = True,
    beta: np.ndarray | None = None,
) -> LaplaceFit:
    """Fit mode and covariance, and (``estimate_spreads``) each block's prior spread.

    ``sd_bounds``: the smallest and largest prior sd a block may take; ``tau``: starting (or,
    without ``estimate_spreads``, fixed) precisions, one per block; ``beta``: a starting point.
    The first round finds the mode for the starting spreads; each later round takes one Newton
    step for the current spreads from the last point and updates the spreads with the Hessian
    that step used. Both settle at the same fixed point as a full mode search per round (the
    mode moves little when the spreads do), at a third of the factorisations; once the spreads
    settle, the mode for them is found in full.
    """
    p = X.shape[1]
    lo, hi = 1.0 / sd_bounds[1] ** 2, 1.0 / sd_bounds[0] ** 2
    if tau is None:
        tau = np.array([b.fixed_precision or 1.0 for b in blocks])
    tau = tau.astype(float).copy()
    beta = np.zeros(p) if beta is None else beta.copy()
    gamma = np.array([float(b.rank) for b in blocks])
    rounds, settled = 0, not estimate_spreads
    with threadpool_limits(1, user_api="blas"):  # two cores share: one thread is fastest
        eta = X.dot(beta)
        for _ in range(EB_STEPS if estimate_spreads else 0):
            rounds += 1
            P = prior_precision(blocks, tau, p)
            if rounds == 1:  # from the start: all the way to the mode
                beta, chol, _, _ = newton(X, n, y, P, beta)
            else:  # near the mode: one step, and the spreads from the Hessian it used
                value, grad, chol = _local(X, n, y, P, beta)
                beta, _ = _step(X, n, y, P, beta, value, chol, grad)
            tau, gamma = _spread_step(blocks, tau, beta, _block_traces(chol, blocks), lo, hi)
            new_eta = X.dot(beta)
            moved, eta = float(np.abs(new_eta - eta).max()), new_eta
            if moved < SETTLED and rounds > 1:
                settled = True
                break
        P = prior_precision(blocks, tau, p)
        beta, chol, converged, worst = newton(X, n, y, P, beta)
        cov = _inverse(chol)
    return LaplaceFit(beta, cov, tau, converged, settled, worst, rounds, gamma)


def _spread_step(
    blocks: list[Block], tau: np.ndarray, beta: np.ndarray, traces: np.ndarray, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """MacKay's update of every estimated block's precision; fixed blocks keep theirs.
    ``traces``: ``tr(Q Sigma)`` of each block at the mode."""
    new = tau.copy()
    gamma = np.zeros(len(blocks))
    for k, b in enumerate(blocks):
        s = slice(b.start, b.start + b.size)
        Q = b.penalty
        gamma[k] = max(b.rank - tau[k] * traces[k], 1e-6)
        if b.fixed_precision is not None:
            continue
        quad = float(beta[s] @ Q @ beta[s])
        # mode in sd of evidence x Exponential(rate) prior: tau quad = gamma + rate * sd
        numerator = gamma[k] + b.sd_rate / np.sqrt(tau[k])
        new[k] = np.clip(max(numerator, 1e-6) / max(quad, 1e-12), lo, hi)
    return new, gamma


def predictive(
    X: Coded, fit: LaplaceFit, chunk: int = 2_000, inverse: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Per row: mean and sd of the linear predictor, and the chance averaged over the posterior
    (the probit approximation ``logistic(m / sqrt(1 + pi s^2 / 8))``).

    Rows with the same level in every term have the same figures, so each distinct row is
    computed once (10^6 deals of the synthetic sample have about 180,000 distinct rows).
    ``inverse``: ``X`` holds distinct rows already, and row ``i`` of the answer is their row
    ``inverse[i]`` (:func:`~pipeline_models.models.deal_score.design.distinct_design`)."""
    if inverse is None:
        terms = X.codes.shape[1]
        inverse, distinct = factorize_rows(pd.DataFrame(X.codes), range(terms))
        codes = np.ascontiguousarray(distinct.to_numpy(dtype=np.int64).reshape(-1, terms))
        X = Coded(codes, X.starts, X.sizes)
    mean, sd, chance = _predictive_rows(X, fit, chunk)
    return mean[inverse], sd[inverse], chance[inverse]


def _predictive_rows(X: Coded, fit: LaplaceFit, chunk: int) -> tuple[np.ndarray, ...]:
    mean = X.dot(fit.beta)
    var = np.empty(X.shape[0])
    cols = X.columns()
    for start in range(0, X.shape[0], chunk):
        c = cols[start : start + chunk]
        safe = np.maximum(c, 0)
        block = fit.cov[safe[:, :, None], safe[:, None, :]]
        valid = (c >= 0)[:, :, None] & (c >= 0)[:, None, :]
        var[start : start + chunk] = np.where(valid, block, 0.0).sum(axis=(1, 2))
    sd = np.sqrt(np.maximum(var, 0.0))
    chance = expit(mean / np.sqrt(1.0 + np.pi * sd**2 / 8.0))
    return mean, sd, chance


__all__ = ["Block", "Coded", "LaplaceFit", "fit_laplace", "newton", "predictive", "prior_precision"]
