"""What a deal score reads from a deal, coded as columns of a sparse design.

Every attribute is a set of levels (one column each, pooled towards zero); the amount gives three
things, all known when a deal is entered:

- its *size*, as a smooth effect over bins of log amount (a second-difference penalty lets the
  effect bend where the data ask and stay straight elsewhere);
- its *band* (a few quantile bands, and ``none`` for a zero or blank amount), an attribute like any
  other that meets the others in pairwise interactions;
- its *precision*, the number of significant digits (50,000 has one; 48,350 has four). Reps who
  type a round figure are often guessing before a quote exists; a figure to the dollar usually
  comes from a quote. The score learns from each export how much that matters there, and learns
  nothing from it where amounts are all round or all exact.

Levels an attribute never showed in the fitted deals have no column: such a deal takes the
population's value for that attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from pipeline_models.data.aggregate import factorize_rows
from pipeline_models.models.deal_score.config import DealScoreConfig
from pipeline_models.models.deal_score.laplace import Block, Coded

BLANK = "(blank)"
OTHER = "(other)"
BAND = "amount band"
PRECISION = "amount precision"
VALUE = "amount value"
UNPAIRED = ("account", VALUE)
"""Attributes with many levels that enter alone, never in a pair."""
SMOOTH = "amount"
NO_AMOUNT = "none"
INTERCEPT_SD = 10.0
MAIN_SD_RATE = -np.log(0.01) / 3.0
"""Prior on an attribute's spread: a 1% chance that levels differ by more than 3 in log-odds."""
PAIR_SD_RATE = -np.log(0.01) / 1.0
"""Prior on a pair's spread: a 1% chance of more than 1; pairs must earn their place."""
SMOOTH_RIDGE = 1e-4
"""Precision of the smooth's straight part (its null space): almost free, as a slope should be."""


@dataclass(frozen=True)
class Term:
    """One term of the score: its name, the attributes it crosses and its columns."""

    name: str
    parts: tuple[str, ...]
    start: int
    size: int


@dataclass
class Coding:
    """How a fitted score turns deals into design rows (learned from the fitted deals)."""

    levels: dict[str, list[str]]
    bin_edges: np.ndarray | None
    band_edges: np.ndarray | None
    terms: list[Term] = field(default_factory=list)
    columns: int = 0

    def smooth(self) -> Term | None:
        return next((t for t in self.terms if t.name == SMOOTH), None)


def precision_levels(amount: pd.Series) -> pd.Series:
    """Significant digits of each amount, as levels: ``none`` (zero or blank), ``1``, ``2``,
    ``3`` and ``4+`` (digits after rounding to cents)."""
    value = pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
    cents = np.where(np.isfinite(value) & (value > 0), np.round(value * 100.0), 0.0)
    digits = np.zeros(len(value), dtype=np.int64)  # 0: no amount
    positive = cents > 0
    c = cents[positive]
    length = np.floor(np.log10(c)).astype(np.int64) + 1
    zeros = np.zeros(len(c), dtype=np.int64)
    left = c.copy()
    ending = np.flatnonzero(left % 10 == 0)  # amounts that still end in a zero
    for _ in range(20):
        if not len(ending):
            break
        zeros[ending] += 1
        left[ending] //= 10
        ending = ending[left[ending] % 10 == 0]
    digits[positive] = np.minimum(length - zeros, 4)
    labels = np.array([NO_AMOUNT, "1", "2", "3", "4+"], dtype=object)
    return pd.Series(labels[digits], index=amount.index)


def log_amounts(amount: pd.Series) -> np.ndarray:
    value = pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(value) & (value > 0), np.log(np.maximum(value, 1e-9)), np.nan)


def _edges(log_amount: np.ndarray, count: int) -> np.ndarray | None:
    known = log_amount[np.isfinite(log_amount)]
    if len(np.unique(known)) < 2:
        return None
    edges = np.unique(np.quantile(known, np.linspace(0, 1, count + 1)[1:-1]))
    return edges


def attribute_frame(
    frame: pd.DataFrame,
    names: list[str],
    amount: str | None,
    bands: int,
    coding: Coding | None = None,
) -> pd.DataFrame:
    """The categorical attributes ``names`` of each deal as text (blank cells read
    ``(blank)``), with the band and precision of column ``amount`` unless it is ``None``."""
    # each distinct value is cleaned and labelled once (an export repeats few values many times)
    cats = {name: _text_labels(frame[name]) for name in names if name in frame}
    out = pd.DataFrame(cats, index=frame.index)
    if amount is not None:
        log_amount = log_amounts(frame[amount])
        edges = coding.band_edges if coding is not None else _edges(log_amount, bands)
        known = np.isfinite(log_amount)
        k = np.zeros(len(frame), dtype=np.int64)
        if edges is not None:
            k[known] = np.searchsorted(edges, log_amount[known])
        labels = np.array([f"band {j + 1}" for j in range(int(k.max(initial=0)) + 1)], object)
        out[BAND] = np.where(known, labels[k], NO_AMOUNT)
        out[PRECISION] = precision_levels(frame[amount]).to_numpy()
        value = pd.to_numeric(frame[amount], errors="coerce").round(2).to_numpy(dtype=float)
        distinct, position = np.unique(value, return_inverse=True)  # NaN sorts last, once
        text = np.array([f"{v:,.2f}" if v == v else BLANK for v in distinct], dtype=object)
        out[VALUE] = text[position.ravel()] if len(value) else np.array([], dtype=object)
    return out


def _text_labels(column: pd.Series) -> np.ndarray:
    """A column's values as text labels (blank cells read ``(blank)``), made per distinct value."""
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    text = pd.Series(distinct, dtype="string").str.strip()
    labels = text.mask(text.isna() | (text == ""), BLANK).astype(str).to_numpy(dtype=object)
    return np.append(labels, BLANK)[codes]  # code -1 (missing): the last, blank


def learn_coding(
    cats: pd.DataFrame, log_amount: np.ndarray | None, config: DealScoreConfig
) -> tuple[Coding, list[Block]]:
    """Levels, bins, terms and prior blocks from the fitted deals' attributes."""
    levels = {}
    for name in cats.columns:
        counts = cats[name].value_counts(sort=True)
        if name == VALUE:
            counts = counts[counts >= config.common_amount]
        kept = sorted(counts.index[: config.max_levels])
        if len(kept) < cats[name].nunique():
            kept.append(OTHER)
        levels[name] = kept
    coding = Coding(levels, None, None)
    if log_amount is not None:
        coding.bin_edges = _edges(log_amount, config.amount_bins)
        coding.band_edges = _edges(log_amount, config.bands)
    blocks = [Block(0, 1, np.eye(1), 1, fixed_precision=1.0 / INTERCEPT_SD**2)]
    terms = [Term("intercept", (), 0, 1)]
    start = 1
    for name, kept in levels.items():
        terms.append(Term(name, (name,), start, len(kept)))
        start += len(kept)
    if config.interactions:
        paired = [n for n in levels if n not in UNPAIRED and len(levels[n]) > 1]
        for a, b in combinations(paired, 2):
            size = len(levels[a]) * len(levels[b])
            if size <= config.pair_levels:
                terms.append(Term(f"{a}:{b}", (a, b), start, size))
                start += size
    for term in terms[1:]:
        rate = PAIR_SD_RATE if len(term.parts) > 1 else MAIN_SD_RATE
        blocks.append(Block(term.start, term.size, np.eye(term.size), term.size, sd_rate=rate))
    if coding.bin_edges is not None and len(coding.bin_edges) >= 3:
        size = len(coding.bin_edges) + 1
        terms.append(Term(SMOOTH, (SMOOTH,), start, size))
        D = np.diff(np.eye(size), n=2, axis=0)
        penalty = D.T @ D + SMOOTH_RIDGE * np.eye(size)
        blocks.append(Block(start, size, penalty, size - 2, sd_rate=MAIN_SD_RATE))
        start += size
    coding.terms, coding.columns = terms, start
    return coding, blocks


def level_codes(cats: pd.DataFrame, coding: Coding) -> dict[str, np.ndarray]:
    """Each attribute's level index per deal; -1 for a level the fit never saw."""
    codes = {}
    for name, kept in coding.levels.items():
        if name not in cats:
            codes[name] = np.full(len(cats), -1, dtype=np.int64)
            continue
        position, distinct = pd.factorize(cats[name])  # each distinct level looked up once
        found = pd.Index(kept).get_indexer(distinct).astype(np.int64)[position]
        if OTHER in kept:
            found[found < 0] = list(kept).index(OTHER)
        codes[name] = found
    return codes


def design(cats: pd.DataFrame, log_amount: np.ndarray | None, coding: Coding) -> Coded:
    """The design of deals ``cats`` (and their log amounts) under ``coding``: per deal and term,
    the index of its column within the term (-1: none)."""
    bins = _bin_index(log_amount, coding.bin_edges, len(cats))
    return _coded(level_codes(cats, coding), bins, coding)


def distinct_design(
    cats: pd.DataFrame, log_amount: np.ndarray | None, coding: Coding
) -> tuple[Coded, np.ndarray]:
    """The design of the distinct deals of ``cats`` (deals alike in every level and amount bin
    share a row) and each deal's row in it: the rows :func:`design` gives, made once each."""
    codes = level_codes(cats, coding)
    names = list(codes)
    columns = [*codes.values(), _bin_index(log_amount, coding.bin_edges, len(cats))]
    inverse, distinct = factorize_rows(pd.DataFrame(dict(enumerate(columns))), range(len(columns)))
    found = [distinct[k].to_numpy(np.int64) for k in range(len(columns))]
    return _coded(dict(zip(names, found[:-1], strict=True)), found[-1], coding), inverse


def _coded(codes: dict[str, np.ndarray], bins: np.ndarray, coding: Coding) -> Coded:
    """The design from each deal's level per attribute (``codes``) and amount bin (``bins``)."""
    n = len(bins)
    index = np.full((n, len(coding.terms)), -1, dtype=np.int64)
    index[:, 0] = 0
    for k, term in enumerate(coding.terms[1:], start=1):
        if term.name == SMOOTH:
            index[:, k] = bins
        elif len(term.parts) == 1:
            index[:, k] = codes[term.parts[0]]
        else:
            a, b = term.parts
            width = len(coding.levels[b])
            index[:, k] = np.where(
                (codes[a] >= 0) & (codes[b] >= 0), codes[a] * width + codes[b], -1
            )
    starts = np.array([t.start for t in coding.terms], dtype=np.int64)
    sizes = np.array([t.size for t in coding.terms], dtype=np.int64)
    return Coded(index, starts, sizes)


def _bin_index(log_amount: np.ndarray | None, edges: np.ndarray | None, n: int) -> np.ndarray:
    if log_amount is None or edges is None:
        return np.full(n, -1, dtype=np.int64)
    index = np.searchsorted(edges, np.nan_to_num(log_amount, nan=0.0))
    return np.where(np.isfinite(log_amount), index, -1).astype(np.int64)


def aggregate(X: Coded, won: np.ndarray) -> tuple[Coded, np.ndarray, np.ndarray]:
    """Distinct design rows with their deal and win counts: the sufficient statistics."""
    rows, inverse = np.unique(X.codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = np.bincount(inverse, minlength=len(rows)).astype(float)
    y = np.bincount(inverse, weights=won.astype(float), minlength=len(rows))
    return Coded(rows, X.starts, X.sizes), n, y


__all__ = [
    "BAND",
    "PRECISION",
    "SMOOTH",
    "VALUE",
    "Coding",
    "Term",
    "aggregate",
    "attribute_frame",
    "log_amounts",
    "design",
    "distinct_design",
    "learn_coding",
    "level_codes",
    "precision_levels",
]
