"""Fitting a hierarchical model without a sampler: nested Laplace, corrected by importance weights.

The models here are latent Gaussian: on each cell, ``K`` linear predictors
``eta_k = a_k + sum_t b_kt[level]`` with ``a_k ~ Normal`` and zero-sum effects
``b_kt = Q_t u_kt``, ``u_kt ~ Normal(0, sd_kt^2 I)`` (``Q_t`` an orthonormal basis of the vectors
that sum to zero: exactly PyMC's ``ZeroSumNormal``), and a likelihood of the cell given its
predictors and a few positive scale parameters. Call ``theta`` the logs of the ``sd_kt`` and of the
scales, and ``x`` the intercepts and ``u``.

1. For a given ``theta``, the posterior of ``x`` is nearly Gaussian (the likelihoods here are log
   concave in ``eta``, or close): Newton's method finds its mode and curvature (Laplace).
2. The Laplace approximation of ``p(theta | data)`` is maximised; its curvature at the mode gives a
   Student-t proposal for ``theta`` (INLA's first step, without its grid).
3. Proposals ``theta ~ t``, ``x | theta ~ Normal(mode, curvature^-1)`` are weighted by the exact
   joint posterior over the proposal density, Pareto-smoothed (PSIS) and resampled: draws from the
   exact posterior up to importance sampling error, which the effective sample size and the Pareto
   ``k`` measure (``k > 0.7``: the proposal missed part of the posterior; the caller uses NUTS).
   Nothing is compiled, and the same data, settings and seed give the same draws in any process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, stats
from threadpoolctl import threadpool_limits

from pipeline_models.models.hierarchical.priors import Prior

K_MAX = 0.7
"""Pareto k above which importance weights cannot be trusted (Vehtari et al., PSIS)."""
PROPOSAL_DF = 5.0
"""Degrees of freedom of the Student-t proposal for theta: tails heavier than the posterior's."""
PROPOSAL_SCALE = 1.2
"""The proposal's scale over the Laplace curvature's: wide rather than narrow."""
WIDE_SCALE = 3.0
WIDE_SHARE = 0.2
"""A fifth of the theta proposals come from a component three times as wide (defensive mixture)."""
ADAPTATIONS = 1
"""Times the proposal is moved to the weighted draws' mean and spread when its Pareto k is high."""
K_GOOD = 0.5  # Pareto k below which the weights are good enough that no adaptation is tried
THETA_RANGE = (np.log(1e-6), np.log(1e3))  # log sds and scales beyond which a proposal weighs 0
LATENT_PER_THETA = 8
"""Latent draws per proposed theta (each theta costs a Newton solve, each latent draw little)."""
MAX_NEWTON = 60


Loglik = Callable[[np.ndarray, np.ndarray], np.ndarray]
Derivatives = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LatentModel:
    """A latent Gaussian model on cells (see the module docstring).

    Attributes
    ----------
    predictors
        Names of the ``K`` linear predictors.
    intercepts
        ``(mean, sd)`` of each predictor's Normal intercept prior.
    terms
        Term -> level index of every cell (integers from 0).
    n_levels
        Term -> number of levels.
    sd_priors
        Prior of the between-level sd, one per predictor (the same for all its terms).
    scales
        Name -> prior of the likelihood's positive scale parameters, in the order ``loglik`` takes.
    loglik
        ``loglik(eta, scales)``: log likelihood of each cell, ``eta`` of shape ``(cells, K)``.
    derivatives
        ``derivatives(eta, scales)``: gradient ``(cells, K)`` and minus the Hessian
        ``(cells, K, K)`` of ``loglik`` in ``eta``; ``None`` for central differences.
    scale_loglik
        Part of the log likelihood that depends on the scales alone.
    theta_start
        Where the search for the mode of ``theta`` starts (log sds, then log scales).
    """

    predictors: tuple[str, ...]
    intercepts: tuple[tuple[float, float], ...]
    terms: Mapping[str, np.ndarray]
    n_levels: Mapping[str, int]
    sd_priors: tuple[Prior, ...]
    scales: Mapping[str, Prior]
    loglik: Loglik
    derivatives: Derivatives | None = None
    scale_loglik: Callable[[np.ndarray], float] | None = None
    theta_start: np.ndarray | None = None
    n_cells: int = field(init=False)

    def __post_init__(self) -> None:
        sizes = {len(idx) for idx in self.terms.values()}
        object.__setattr__(self, "n_cells", sizes.pop() if sizes else 1)


@dataclass
class LaplaceDraws:
    """Equally weighted posterior draws and how well the proposal matched the posterior."""

    intercept: np.ndarray  # (S, K)
    sd: dict[tuple[int, str], np.ndarray]  # (S,)
    effects: dict[tuple[int, str], np.ndarray]  # (S, levels)
    scales: dict[str, np.ndarray]  # (S,)
    ess: float
    khat: float
    proposals: int
    theta_mode: np.ndarray
    picked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    """Which weighted proposal each draw is (repeats show how often one was resampled)."""

    @property
    def ok(self) -> bool:
        return self.khat <= K_MAX


class LaplaceUnsupported(ValueError):
    """The model has a prior the Laplace fit cannot evaluate; sample it instead."""


def zero_sum_basis(n: int) -> np.ndarray:
    """Orthonormal basis (n, n - 1) of the vectors summing to zero (Helmert's, closed form)."""
    basis = np.zeros((n, max(n - 1, 0)))
    for j in range(1, n):
        basis[:j, j - 1] = 1.0 / np.sqrt(j * (j + 1))
        basis[j, j - 1] = -j / np.sqrt(j * (j + 1))
    return basis


def log_positive_prior(prior: Prior, value: np.ndarray) -> np.ndarray:
    """Log density of a positive prior at ``value``."""
    p = prior.params
    if prior.dist == "HalfNormal":
        return stats.halfnorm.logpdf(value, scale=p.get("sigma", 1.0))
    if prior.dist == "HalfCauchy":
        return stats.halfcauchy.logpdf(value, scale=p.get("beta", 1.0))
    if prior.dist == "Exponential":
        return stats.expon.logpdf(value, scale=1.0 / p.get("lam", 1.0))
    if prior.dist == "HalfStudentT":
        t = stats.t.logpdf(value, p.get("nu", 3.0), scale=p.get("sigma", 1.0)) + np.log(2.0)
        return np.where(np.asarray(value) >= 0, t, -np.inf)
    raise LaplaceUnsupported(f"a {prior.dist} prior on a scale is not supported by the Laplace fit")


def normal_prior(prior: Prior) -> tuple[float, float]:
    """``(mean, sd)`` of a Normal prior (what an intercept must have for the Laplace fit)."""
    if prior.dist != "Normal":
        raise LaplaceUnsupported(f"a {prior.dist} prior on an intercept is not supported")
    return float(prior.params.get("mu", 0.0)), float(prior.params.get("sigma", 1.0))


def numeric_derivatives(loglik: Loglik, h: float = 1e-4) -> Derivatives:
    """Gradient and minus Hessian of a per-cell ``loglik`` in ``eta`` by central differences
    (each cell's likelihood depends on its own predictors only, so all cells move at once)."""

    def derivatives(eta: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = eta.shape
        f0 = loglik(eta, scales)
        step = np.eye(k) * h
        plus = [loglik(eta + step[i], scales) for i in range(k)]
        minus = [loglik(eta - step[i], scales) for i in range(k)]
        grad = np.stack([(plus[i] - minus[i]) / (2 * h) for i in range(k)], axis=1)
        neg_hess = np.zeros((n, k, k))
        for i in range(k):
            neg_hess[:, i, i] = -(plus[i] - 2 * f0 + minus[i]) / h**2
            for j in range(i):
                pp = loglik(eta + step[i] + step[j], scales)
                pm = loglik(eta + step[i] - step[j], scales)
                mp = loglik(eta - step[i] + step[j], scales)
                mm = loglik(eta - step[i] - step[j], scales)
                neg_hess[:, i, j] = neg_hess[:, j, i] = -(pp - pm - mp + mm) / (4 * h**2)
        return grad, neg_hess

    return derivatives


class _Posterior:
    """The joint posterior of ``(theta, x)`` of a :class:`LatentModel`, and its Laplace parts."""

    def __init__(self, model: LatentModel) -> None:
        self.model = model
        k = len(model.predictors)
        self.k = k
        self.term_names = list(model.terms)
        blocks: list[tuple[int, str, int, int]] = []  # (predictor, term, start, stop) in x
        start = k
        for pred in range(k):
            for term in self.term_names:
                width = model.n_levels[term] - 1
                blocks.append((pred, term, start, start + width))
                start += width
        self.blocks = blocks
        self.dim = start
        self.n_sd = len(blocks)
        self.n_theta = self.n_sd + len(model.scales)
        self.bases = {t: zero_sum_basis(model.n_levels[t]) for t in self.term_names}
        design = np.zeros((model.n_cells, k, self.dim))
        design[:, np.arange(k), np.arange(k)] = 1.0
        for pred, term, lo, hi in blocks:
            design[:, pred, lo:hi] = self.bases[term][model.terms[term]]
        self.design = design
        self.flat_design = design.reshape(-1, self.dim)
        self.mean = np.zeros(self.dim)
        self.mean[:k] = [m for m, _ in model.intercepts]
        self.intercept_prec = np.array([1.0 / s**2 for _, s in model.intercepts])
        self.derivatives = model.derivatives or numeric_derivatives(model.loglik)
        self.scale_priors = list(model.scales.values())
        self.x_last = self.mean.copy()

    # ------------------------------------------------------------- pieces
    def precision(self, theta: np.ndarray) -> np.ndarray:
        prec = np.empty(self.dim)
        prec[: self.k] = self.intercept_prec
        for i, (_, _, lo, hi) in enumerate(self.blocks):
            prec[lo:hi] = np.exp(-2.0 * theta[i])
        return prec

    def scales(self, theta: np.ndarray) -> np.ndarray:
        return np.exp(theta[self.n_sd :])

    def log_prior_theta(self, theta: np.ndarray) -> float:
        """Log prior of theta, the log transform's Jacobian included."""
        total = float(np.sum(theta))
        for i, (pred, _, _, _) in enumerate(self.blocks):
            total += float(log_positive_prior(self.model.sd_priors[pred], np.exp(theta[i])))
        for j, prior in enumerate(self.scale_priors):
            total += float(log_positive_prior(prior, np.exp(theta[self.n_sd + j])))
        return total

    def eta(self, x: np.ndarray) -> np.ndarray:
        return (self.flat_design @ x).reshape(self.model.n_cells, self.k)

    def loglik(self, x: np.ndarray, scales: np.ndarray) -> float:
        total = float(np.sum(self.model.loglik(self.eta(x), scales)))
        if self.model.scale_loglik is not None:
            total += float(self.model.scale_loglik(scales))
        return total

    def log_prior_x(self, x: np.ndarray, prec: np.ndarray) -> float:
        d = x - self.mean
        return float(-0.5 * np.sum(prec * d * d) + 0.5 * np.sum(np.log(prec)))

    # ------------------------------------------------------------- Laplace
    def mode(self, theta: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Mode of ``x | theta``, the Cholesky factor of minus the Hessian there, and the log
        of likelihood times prior at the mode (damped Newton with backtracking)."""
        prec, scales = self.precision(theta), self.scales(theta)
        x = start.copy()
        value = self.loglik(x, scales) + self.log_prior_x(x, prec)
        for _ in range(MAX_NEWTON):
            grad, chol = self._newton_parts(x, prec, scales)
            step = linalg.cho_solve((chol, True), grad)
            decrement = float(step @ grad)
            t = 1.0
            while t > 1e-6:
                trial = x + t * step
                new = self.loglik(trial, scales) + self.log_prior_x(trial, prec)
                if np.isfinite(new) and new >= value - 1e-10 * abs(value):
                    break
                t *= 0.5
            else:
                break
            x, value = trial, new
            if decrement < 1e-10:
                break
        _, chol = self._newton_parts(x, prec, scales)
        return x, chol, value

    def _newton_parts(
        self, x: np.ndarray, prec: np.ndarray, scales: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        g, neg_hess = self.derivatives(self.eta(x), scales)
        flat = self.flat_design
        grad = g.reshape(-1) @ flat - prec * (x - self.mean)
        weighted = np.matmul(neg_hess, self.design).reshape(flat.shape)
        hess = flat.T @ weighted
        hess[np.diag_indices(self.dim)] += prec
        return grad, _cholesky(hess)

    def log_marginal(self, theta: np.ndarray) -> float:
        """Laplace approximation of ``log p(theta | data)`` up to a constant."""
        if not np.all(np.isfinite(theta)):
            return -np.inf
        x, chol, value = self.mode(theta, self.x_last)
        self.x_last = x
        return value - float(np.sum(np.log(np.diag(chol)))) + self.log_prior_theta(theta)


def _cholesky(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor; a matrix that is not positive definite (a likelihood not log
    concave at this point) is lifted along its diagonal until it is."""
    if not np.all(np.isfinite(matrix)):
        raise linalg.LinAlgError("the curvature of the posterior is not finite here")
    lift = 0.0
    scale = float(np.max(np.abs(np.diag(matrix)))) or 1.0
    for _ in range(30):
        try:
            return linalg.cholesky(matrix + lift * np.eye(len(matrix)), lower=True)
        except linalg.LinAlgError:
            lift = max(lift * 10.0, 1e-8 * scale)
    raise linalg.LinAlgError("the curvature of the posterior could not be made positive")


def _theta_mode(post: _Posterior) -> tuple[np.ndarray, np.ndarray]:
    """Mode of the Laplace marginal of theta and its covariance (minus the inverse Hessian)."""
    start = post.model.theta_start
    if start is None:
        start = np.full(post.n_theta, np.log(0.3))
    start = np.asarray(start, dtype=float)
    bounds = [(np.log(1e-4), np.log(50.0))] * post.n_theta
    # central differences at 1e-3: the marginal holds a log determinant, noisy at finer steps
    result = optimize.minimize(
        lambda th: -post.log_marginal(th),
        start,
        jac=lambda th: _gradient(lambda t: -post.log_marginal(t), th, 1e-3),
        method="L-BFGS-B",
        bounds=bounds,
    )
    mode = np.asarray(result.x, dtype=float)
    hess = _hessian(lambda th: -post.log_marginal(th), mode, 1e-2)
    values, vectors = np.linalg.eigh(0.5 * (hess + hess.T))
    values = np.maximum(values, 0.25)  # a flat direction gets an sd of 2 on the log scale
    return mode, (vectors / values) @ vectors.T


def _gradient(fn: Callable[[np.ndarray], float], at: np.ndarray, h: float) -> np.ndarray:
    step = np.eye(len(at)) * h
    return np.array([(fn(at + e) - fn(at - e)) / (2 * h) for e in step])


def _hessian(fn: Callable[[np.ndarray], float], at: np.ndarray, h: float) -> np.ndarray:
    n = len(at)
    f0 = fn(at)
    step = np.eye(n) * h
    out = np.zeros((n, n))
    for i in range(n):
        out[i, i] = (fn(at + step[i]) - 2 * f0 + fn(at - step[i])) / h**2
        for j in range(i):
            out[i, j] = out[j, i] = (
                fn(at + step[i] + step[j])
                - fn(at + step[i] - step[j])
                - fn(at - step[i] + step[j])
                + fn(at - step[i] - step[j])
            ) / (4 * h**2)
    return out


def fit_laplace(
    model: LatentModel, n_draws: int, random_seed: int | None, proposals: int | None = None
) -> LaplaceDraws:
    """``n_draws`` equally weighted posterior draws of ``model`` (see the module docstring),
    resampled from ``proposals`` weighted ones (default ``n_draws``).

    Linear algebra runs on one thread: the matrices are small, so threads only contend, and a
    fixed thread count keeps every sum in the same order, hence the same digits.
    """
    with threadpool_limits(1, user_api="blas"):
        return _fit(model, n_draws, random_seed, proposals or n_draws)


def _fit(model: LatentModel, n_draws: int, random_seed: int | None, proposals: int) -> LaplaceDraws:
    rng = np.random.default_rng(random_seed)
    post = _Posterior(model)
    mode, cov = _theta_mode(post)
    x_mode, _, _ = post.mode(mode, post.x_last)
    n_theta = max(proposals // LATENT_PER_THETA, 1)
    centre = mode
    for _ in range(ADAPTATIONS + 1):
        thetas, xs, log_w = _weighted_proposals(post, centre, cov, n_theta, x_mode, rng)
        weights, khat = _smoothed_weights(log_w)
        if khat <= K_GOOD:
            break
        # move the proposal to where the weights say the posterior is, keeping it no narrower
        per_theta = weights.reshape(n_theta, LATENT_PER_THETA).sum(axis=1)
        centre = per_theta @ thetas
        spread = ((thetas - centre) * per_theta[:, None]).T @ (thetas - centre)
        sd = np.maximum(np.diag(spread), np.diag(cov)) ** 0.5
        cov = np.outer(sd, sd) * (0.5 * _correlation(spread) + 0.5 * np.eye(len(sd)))
    ess = float(1.0 / np.sum(weights**2))
    pick = _systematic(weights, n_draws, rng)
    x_all = xs[pick]
    theta_all = thetas[pick // LATENT_PER_THETA]
    out = _unpack(post, x_all, theta_all, ess, khat, len(log_w), mode)
    out.picked = pick
    return out


def _weighted_proposals(
    post: _Posterior,
    centre: np.ndarray,
    cov: np.ndarray,
    n_theta: int,
    x_start: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proposals ``(theta, x)`` and their log importance weights. Theta comes from a defensive
    mixture of two Student-t (the Laplace curvature's, and three times as wide), so that a
    posterior with a longer tail than the curvature says still gets proposals there."""
    narrow = stats.multivariate_t(centre, cov * PROPOSAL_SCALE**2, df=PROPOSAL_DF)
    wide = stats.multivariate_t(centre, cov * WIDE_SCALE**2, df=PROPOSAL_DF)
    from_wide = rng.random(n_theta) < WIDE_SHARE
    thetas = np.where(
        from_wide[:, None],
        np.atleast_2d(wide.rvs(size=n_theta, random_state=rng)).reshape(n_theta, -1),
        np.atleast_2d(narrow.rvs(size=n_theta, random_state=rng)).reshape(n_theta, -1),
    )
    log_q_theta = np.logaddexp(
        np.log1p(-WIDE_SHARE) + np.atleast_1d(narrow.logpdf(thetas)),
        np.log(WIDE_SHARE) + np.atleast_1d(wide.logpdf(thetas)),
    )
    xs = np.tile(x_start, (n_theta * LATENT_PER_THETA, 1))
    log_w = np.full(n_theta * LATENT_PER_THETA, -np.inf)
    for j, theta in enumerate(thetas):
        # sds and scales outside (1e-6, 1e3) carry no posterior mass worth a Newton solve (a
        # truncated proposal is still a proposal); a solve that fails gives its draws no weight
        if not np.all((theta > THETA_RANGE[0]) & (theta < THETA_RANGE[1])):
            continue
        try:
            x_hat, chol, _ = post.mode(theta, x_start)
        except (linalg.LinAlgError, FloatingPointError):
            continue
        z = rng.standard_normal((LATENT_PER_THETA, post.dim))
        draws = (
            x_hat + linalg.solve_triangular(chol, z.T, lower=True, trans="T", check_finite=False).T
        )
        log_q_x = -0.5 * np.sum(z * z, axis=1) + float(np.sum(np.log(np.diag(chol))))
        prec, scales = post.precision(theta), post.scales(theta)
        prior_theta = post.log_prior_theta(theta)
        rows = slice(j * LATENT_PER_THETA, (j + 1) * LATENT_PER_THETA)
        xs[rows] = draws
        log_w[rows] = [
            post.loglik(x, scales) + post.log_prior_x(x, prec) + prior_theta for x in draws
        ]
        log_w[rows] -= log_q_theta[j] + log_q_x
    return thetas, xs, np.where(np.isnan(log_w), -np.inf, log_w)


def _smoothed_weights(log_w: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed, normalised importance weights and the Pareto k of their tail."""
    from arviz_stats.base.array import array_stats

    if not np.any(np.isfinite(log_w)):
        raise linalg.LinAlgError("no proposal reached the posterior")
    # psislw takes log likelihoods and weights by their negatives
    smoothed, khat = array_stats.psislw(-(log_w - np.max(log_w)))
    return np.exp(smoothed - np.logaddexp.reduce(smoothed)), float(khat)


def _correlation(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.maximum(np.diag(cov), 1e-12))
    return np.clip(cov / np.outer(sd, sd), -1.0, 1.0)


def _systematic(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling of ``n`` indices by ``weights``, returned in random order."""
    points = (rng.random() + np.arange(n)) / n
    index = np.searchsorted(np.cumsum(weights), points, side="right")
    return rng.permutation(np.minimum(index, len(weights) - 1))


def _unpack(
    post: _Posterior,
    x: np.ndarray,
    theta: np.ndarray,
    ess: float,
    khat: float,
    proposals: int,
    mode: np.ndarray,
) -> LaplaceDraws:
    sd, effects = {}, {}
    for i, (pred, term, lo, hi) in enumerate(post.blocks):
        sd[(pred, term)] = np.exp(theta[:, i])
        effects[(pred, term)] = x[:, lo:hi] @ post.bases[term].T
    scales = {name: np.exp(theta[:, post.n_sd + j]) for j, name in enumerate(post.model.scales)}
    return LaplaceDraws(
        intercept=x[:, : post.k],
        sd=sd,
        effects=effects,
        scales=scales,
        ess=ess,
        khat=khat,
        proposals=proposals,
        theta_mode=mode,
    )


__all__ = [
    "K_MAX",
    "LaplaceDraws",
    "LaplaceUnsupported",
    "LatentModel",
    "fit_laplace",
    "log_positive_prior",
    "normal_prior",
    "numeric_derivatives",
    "zero_sum_basis",
]
