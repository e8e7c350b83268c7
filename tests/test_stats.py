"""Wilson intervals and the drop test against values computed independently here."""

import math

import pytest

from graspsim.app.benchmark.stats import drop_test, wilson_interval


def _wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k, n", [(1, 10), (5, 10), (9, 10), (37, 60), (88, 100)])
def test_wilson_interval_matches_the_formula(k, n):
    lo, hi = wilson_interval(k, n)
    assert (lo, hi) == pytest.approx(_wilson(k, n), abs=1e-12)
    lo99, hi99 = wilson_interval(k, n, confidence=0.99)
    assert lo99 < lo and hi99 > hi  # a wider confidence gives a wider interval


def test_wilson_interval_ends_and_errors():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    for bad in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="confidence must lie in"):
            wilson_interval(1, 2, confidence=bad)
    with pytest.raises(ValueError, match="^successes must be a non-negative integer"):
        wilson_interval(-1, 3)
    with pytest.raises(ValueError, match=r"^successes \(4\) exceeds episodes \(3\)"):
        wilson_interval(4, 3)
    with pytest.raises(ValueError, match="^episodes must be a non-negative integer"):
        wilson_interval(1, 2.5)


def _drop(bs, bn, ns, nn, d):
    pb, pn = (bs + 1) / (bn + 2), (ns + 1) / (nn + 2)
    se = math.sqrt(pb * (1 - pb) / (bn + 2) + pn * (1 - pn) / (nn + 2))
    z = (pb - pn - d) / se
    return bs / bn - ns / nn, z, 0.5 * math.erfc(z / math.sqrt(2))


@pytest.mark.parametrize("bs, bn, ns, nn, d", [(90, 100, 60, 100, 0.05), (90, 100, 88, 100, 0.05),
                                               (9, 10, 7, 10, 0.0), (50, 80, 70, 90, 0.1), (0, 5, 5, 5, 0.0)])
def test_drop_test_matches_the_agresti_caffo_wald_test(bs, bn, ns, nn, d):
    r = drop_test(bs, bn, ns, nn, d)
    drop, z, p = _drop(bs, bn, ns, nn, d)
    assert r["drop"] == pytest.approx(drop, abs=1e-12) and r["z"] == pytest.approx(z, abs=1e-12)
    assert r["p_value"] == pytest.approx(p, abs=1e-9)


def test_drop_test_default_tolerates_no_drop_and_names_bad_fields():
    assert drop_test(9, 10, 7, 10)["z"] == pytest.approx(_drop(9, 10, 7, 10, 0.0)[1], abs=1e-12)
    with pytest.raises(ValueError, match=r"^new successes \(3\) exceeds new episodes \(2\)"):
        drop_test(1, 2, 3, 2)
    with pytest.raises(ValueError, match="^base episodes must be a non-negative integer"):
        drop_test(1, -2, 1, 2)
    with pytest.raises(ValueError, match=r"both samples need episodes \(base 2, new 0\)"):
        drop_test(1, 2, 0, 0)
    with pytest.raises(ValueError, match=r"both samples need episodes \(base 0, new 2\)"):
        drop_test(0, 0, 1, 2)
    for bad in (-0.1, 1.0, "0.1"):
        with pytest.raises(ValueError, match="max_drop must lie in"):
            drop_test(1, 2, 1, 2, bad)
