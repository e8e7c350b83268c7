"""Statistics of success rates: Wilson score intervals and a two-proportion drop test.

Rates are fractions in [0, 1]; counts are integers. Only the standard library
(``statistics.NormalDist``) is used.
"""

from __future__ import annotations

import math
from statistics import NormalDist


def _check_counts(successes, n, name: str = "") -> None:
    for field, value in ((f"{name}successes", successes), (f"{name}episodes", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
    if successes > n:
        raise ValueError(f"{name}successes ({successes}) exceeds {name}episodes ({n})")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0.0, 1.0) when ``n`` is 0."""
    _check_counts(successes, n)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends where rounding would leave 1e-17
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def drop_test(base_successes: int, base_n: int, new_successes: int, new_n: int, max_drop: float = 0.0) -> dict:
    """One-sided test that a success rate fell by more than ``max_drop``.

    H0: p_base - p_new <= max_drop against H1: p_base - p_new > max_drop, a
    Wald z-test of the difference of two independent proportions with the
    Agresti–Caffo adjustment (one success and one failure added to each
    sample, which keeps the test sane at rates of 0 or 1 and small samples).
    Returns the observed ``drop`` (p_base - p_new, unadjusted), ``z`` and the
    one-sided ``p_value``.
    """
    _check_counts(base_successes, base_n, "base ")
    _check_counts(new_successes, new_n, "new ")
    if not (isinstance(max_drop, (int, float)) and 0.0 <= max_drop < 1.0):
        raise ValueError(f"max_drop must lie in [0, 1), got {max_drop!r}")
    if base_n == 0 or new_n == 0:
        raise ValueError(f"both samples need episodes (base {base_n}, new {new_n})")
    pb = (base_successes + 1) / (base_n + 2)
    pn = (new_successes + 1) / (new_n + 2)
    se = math.sqrt(pb * (1 - pb) / (base_n + 2) + pn * (1 - pn) / (new_n + 2))
    z = (pb - pn - max_drop) / se
    return {
        "drop": base_successes / base_n - new_successes / new_n,
        "z": z,
        "p_value": 1.0 - NormalDist().cdf(z),
    }
