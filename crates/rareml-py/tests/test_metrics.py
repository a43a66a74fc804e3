"""rareml.metrics against scikit-learn on random scores with ties, and its error cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

import rareml
from rareml.errors import InvalidArgumentError
from rareml.metrics import (
    efficiency_at_rejection,
    rejection_at_efficiency,
    roc_auc_score,
    roc_curve,
    significance,
    working_point,
)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_sklearn_with_ties(seed, drop):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    y = rng.integers(0, 2, n)
    # Few distinct values: many ties, across classes.
    s = np.round(rng.normal(y * 0.7, 1.0), int(rng.integers(0, 3)))
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=drop)
    efpr, etpr, ethr = skm.roc_curve(y, s, drop_intermediate=drop)
    np.testing.assert_array_equal(thr, ethr)
    np.testing.assert_allclose(fpr, efpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr, etpr, rtol=0, atol=1e-15)
    assert roc_auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-14)


def test_label_and_score_dtypes_agree():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 500)
    s = rng.normal(y, 1.0).astype(np.float32)
    ref = skm.roc_auc_score(y, s)
    for labels in (y, y.astype(bool), y.astype(np.int32), y.astype(np.uint8), y.astype(float),
                   np.where(y == 1, 1, -1), y.tolist()):
        assert roc_auc_score(labels, s) == pytest.approx(ref, abs=1e-14)
    # float32 scores are read as they are (no rounding through float64 differs).
    assert roc_auc_score(y, s.astype(np.float64)) == pytest.approx(ref, abs=1e-14)
    # A strided view is accepted too.
    big = np.repeat(s, 2)
    assert roc_auc_score(y, big[::2]) == pytest.approx(ref, abs=1e-14)


def test_significance_is_the_brute_force_maximum():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 800)
    s = np.round(rng.normal(y * 1.5, 1.0), 2)
    got = significance(y, s)
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    ok = fpr > 0
    xi = tpr[ok] / np.sqrt(fpr[ok])
    best = np.argmax(xi)
    assert got["xi"] == pytest.approx(xi[best], rel=1e-12)
    assert got["threshold"] == thr[ok][best]


def test_working_points():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    wp = rejection_at_efficiency(y, s, 1.0)
    assert wp["threshold"] == 0.35
    assert wp["rejection"] == {"kind": "value", "value": 2.0}
    assert wp["signal"]["lower"] < 1.0 <= wp["signal"]["upper"]
    wp = efficiency_at_rejection(y, s, 2.0)
    assert wp["signal"]["value"] == 1.0
    tight = working_point(y, s, 0.8)
    assert tight["rejection"]["kind"] == "lower_limit"
    assert 1.0 < tight["rejection"]["value"] < np.inf


@pytest.mark.parametrize(
    "y, s, match",
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "one class"),
        ([0, 1], [0.3, 0.3], "same|constant"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN|finite"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "inf|finite"),
        ([0, 1], [0.1, 0.2, 0.3], "length"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "label"),
        ([], [], "empty"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
        (["a", "b"], [0.1, 0.2], "dtype"),
    ],
)
def test_bad_input_raises_value_error(y, s, match):
    with pytest.raises(ValueError, match=match) as e:
        roc_curve(y, s)
    assert isinstance(e.value, rareml.errors.RaremlError)


def test_bad_working_point_parameters():
    with pytest.raises(rareml.errors.InvalidArgumentError):
        rejection_at_efficiency([0, 1], [0.1, 0.2], 1.5)
    with pytest.raises(ValueError):
        efficiency_at_rejection([0, 1], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError):
        working_point([0, 1], [0.1, 0.2], 0.1, cl=1.5)


@pytest.mark.parametrize("k,n,cl", [(0, 10, 0.95), (5, 10, 0.95), (10, 10, 0.6827), (3, 1000, 0.9)])
def test_clopper_pearson_equals_scipy(k, n, cl):
    from scipy.stats import beta

    lo, hi = rareml.metrics.clopper_pearson(k, n, cl)
    a = (1 - cl) / 2
    assert lo == pytest.approx(0.0 if k == 0 else beta.ppf(a, k, n - k + 1), abs=1e-9)
    assert hi == pytest.approx(1.0 if k == n else beta.ppf(1 - a, k + 1, n - k), abs=1e-9)


def test_clopper_pearson_errors():
    with pytest.raises(InvalidArgumentError, match="k = 11 > n = 10"):
        rareml.metrics.clopper_pearson(11, 10)
    with pytest.raises(InvalidArgumentError):
        rareml.metrics.clopper_pearson(0, 0)
    with pytest.raises(InvalidArgumentError):
        rareml.metrics.clopper_pearson(1, 2, cl=1.5)


def test_regression_summary_and_bins_equal_numpy():
    rng = np.random.default_rng(3)
    t = rng.uniform(1, 100, 5000)
    p = t * (1 + 0.1 * rng.normal(size=t.size))
    s = rareml.metrics.regression_summary(t, p)
    assert s["n"] == 5000
    assert s["bias"] == pytest.approx(np.mean(p - t))
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean((p - t) ** 2)))
    assert s["sigma_diff"] == pytest.approx(np.std(t - p))
    assert s["resolution"] == pytest.approx(np.std((t - p) / t))
    edges = [0, 10, 50, 90]
    b = rareml.metrics.binned_resolution(t, p, edges)
    assert b["below"] == 0 and b["above"] == int((t > 90).sum())
    for lo, hi, x in zip(edges, edges[1:], b["bins"]):
        m = (t >= lo) & (t < hi)
        assert x["n"] == m.sum()
        r = np.std((t[m] - p[m]) / t[m])
        assert x["summary"]["resolution"] == pytest.approx(r)
        assert x["resolution_err"] == pytest.approx(r / np.sqrt(2 * (m.sum() - 1)))
    assert rareml.metrics.regression_summary([0.0, 1.0], [1.0, 1.0])["resolution"] is None
    with pytest.raises(InvalidArgumentError):
        rareml.metrics.regression_summary([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(InvalidArgumentError):
        rareml.metrics.binned_resolution(t, p, [10, 0])


def test_fit_resolution_recovers_its_parameters():
    e = np.array([2.0, 5.0, 10.0, 20.0, 50.0, 100.0])
    r = np.sqrt(0.6**2 / e + 0.03**2)
    f = rareml.metrics.fit_resolution(e, r, np.full(6, 1e-3))
    assert f["a"] == pytest.approx(0.6, abs=1e-6) and f["b"] == pytest.approx(0.03, abs=1e-6)
    assert f["ndf"] == 4 and f["chi2"] == pytest.approx(0, abs=1e-6)
    g = rareml.metrics.fit_resolution(e, 0.6 / np.sqrt(e), np.full(6, 1e-3), model="stochastic")
    assert g["a"] == pytest.approx(0.6, abs=1e-6) and g["b"] == 0
    with pytest.raises(InvalidArgumentError, match="model 'quadratic'|model \"quadratic\""):
        rareml.metrics.fit_resolution(e, r, np.full(6, 1e-3), model="quadratic")
    # End to end: smeared predictions, narrow bins, the fit finds the smearing within its errors.
    rng = np.random.default_rng(0)
    t = rng.uniform(5, 100, 200_000)
    p = t * (1 + rng.normal(size=t.size) * np.sqrt(0.5**2 / t + 0.05**2))
    res = rareml.metrics.energy_resolution(t, p, np.linspace(5, 100, 40))
    assert abs(res["fit"]["a"] - 0.5) < 4 * res["fit"]["a_err"] + 0.02
    assert abs(res["fit"]["b"] - 0.05) < 4 * res["fit"]["b_err"] + 0.005
