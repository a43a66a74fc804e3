"""rareml.preprocess and rareml.baselines against plain numpy references, and their errors."""

import numpy as np
import pytest

from rareml import baselines, preprocess, sim
from rareml.errors import InvalidArgumentError
from rareml.io import TpcFile, TtFile


@pytest.fixture(scope="module")
def raw():
    return np.concatenate([sim.emulsion("C30keV", 6, seed=8)["images"], sim.emulsion("fog", 6, seed=8)["images"]])


def test_emulsion_pipeline_equals_numpy(raw):
    x, kept, report = preprocess.emulsion(raw)
    assert x.shape == (12, 1, 9, 40, 40) and x.dtype == np.float32
    assert kept == list(range(12)) and report["kept"] == report["seen"] == 12
    # The paper's evaluation pipeline: central 40 x 40 crop, per-image median subtracted, / 128,
    # the 9th image a copy of the 1st.
    crop = raw[:, :8, 20:60, 20:60].astype(np.float32)
    ref = (crop - np.median(crop, axis=(2, 3), keepdims=True)) / 128
    np.testing.assert_allclose(x[:, 0, :8], ref, atol=1e-6)
    np.testing.assert_array_equal(x[:, 0, 8], x[:, 0, 0])
    # uint8 and float32 inputs agree.
    np.testing.assert_array_equal(preprocess.emulsion(raw.astype(np.float32))[0], x)


def test_emulsion_rotation_is_seeded_per_cluster(raw):
    cfg = {"rotation": {"Discrete": {"step_deg": 15.0, "max_deg": 90.0}}}
    a, _, _ = preprocess.emulsion(raw, cfg, seed=3)
    b, _, _ = preprocess.emulsion(raw[5:], cfg, seed=3, start=5)
    np.testing.assert_array_equal(a[5:], b)
    c, _, _ = preprocess.emulsion(raw, cfg, seed=4)
    assert not np.array_equal(a, c)


def test_emulsion_cuts_and_config_errors(raw):
    x, kept, report = preprocess.emulsion(raw, {"cuts": {"peak_max": 0.0, "pedestal_max": 1000.0}})
    assert x.shape[0] == 0 and kept == [] and report["rejected_peak"] == 12
    with pytest.raises(InvalidArgumentError, match="unknown field \"croop\"; the fields are .*crop"):
        preprocess.emulsion(raw, {"croop": 40})
    with pytest.raises(InvalidArgumentError, match="crop"):
        preprocess.emulsion(raw, {"crop": 0})
    with pytest.raises(InvalidArgumentError, match="expected uint8 or float32"):
        preprocess.emulsion(raw.astype(np.int16))
    with pytest.raises(InvalidArgumentError, match="polarisation"):
        preprocess.emulsion(raw[:, :5].copy())
    bad = raw.astype(np.float32)
    bad[3, 2, 40, 40] = np.nan
    with pytest.raises(InvalidArgumentError, match="non-finite|NaN"):
        preprocess.emulsion(bad)


def _maps(events, pixel, half=(6.45, 5.25), k=6):
    h = int(np.ceil(2 * half[1] / pixel - 1e-9))
    w = int(np.ceil(2 * half[0] / pixel - 1e-9))
    out = np.zeros((len(events), k, h, w), np.float32)
    for i, e in enumerate(events):
        r = np.floor((e["y_cm"].astype(np.float64) + half[1]) / pixel).astype(int)
        c = np.floor((e["x_cm"].astype(np.float64) + half[0]) / pixel).astype(int)
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        np.add.at(out[i], (e["station"][ok], r[ok], c[ok]), 1)
    return out


@pytest.mark.parametrize("pixel", [0.07, 0.14])
def test_tt_hit_maps_equal_numpy(pixel):
    ev = sim.tt(8, seed=2)
    x, rep = preprocess.tt_hit_maps(ev, config={"pixel_cm": pixel})
    np.testing.assert_array_equal(x, _maps(ev, pixel))
    assert [r[0] for r in rep] == [len(e["x_cm"]) for e in ev]
    xc, _ = preprocess.tt_hit_maps(ev, config={"pixel_cm": pixel}, coordinates=True)
    assert xc.shape[1] == 9
    np.testing.assert_array_equal(xc[:, 3:], x)
    np.testing.assert_array_equal(preprocess.add_coordinate_channels(x), xc)
    # [y, x, r]: y down the rows, x along the columns, r = 1 at the corners.
    assert xc[0, 0, 0, 0] == -1 and xc[0, 0, -1, 0] == 1 and xc[0, 1, 0, -1] == 1
    assert xc[0, 2, 0, 0] == pytest.approx(1) and xc[0, 2].max() == pytest.approx(1)


def test_tt_hits_outside_are_reported():
    e = sim.tt(1, seed=2)[0]
    e["x_cm"] = e["x_cm"].copy()
    e["x_cm"][:3] = 100.0
    _, rep = preprocess.tt_hit_maps([e])
    assert rep[0][1] == 3


def test_file_and_list_sources_agree(tmp_path):
    sim.write("tpc", tmp_path / "tpc.h5", 6, seed=9)
    sim.write("tt", tmp_path / "tt.h5", 6, seed=9)
    f, ev = TpcFile(tmp_path / "tpc.h5"), sim.tpc(6, seed=9)
    a, ra = preprocess.tpc_images(f, 1, 4)
    b, rb = preprocess.tpc_images(ev[1:4], readout=f.readout())
    np.testing.assert_array_equal(a, b)
    assert ra == rb and a.shape == (3, 2, 128, 128)
    # Charge is normalised to the event's total over both planes; 2 x 2 upsampling repeats each
    # pixel 4 times; what fell outside the window is reported.
    np.testing.assert_allclose(a.sum(axis=(1, 2, 3)), [4 * (1 - o / t) for t, o in ra], rtol=1e-4)
    np.testing.assert_array_equal(baselines.blob_scores(f, 1, 4), baselines.blob_scores(ev, 1, 4))
    g = TtFile(tmp_path / "tt.h5")
    np.testing.assert_array_equal(preprocess.tt_hit_maps(g)[0], preprocess.tt_hit_maps(sim.tt(6, seed=9))[0])
    with pytest.raises(IndexError, match="out of range"):
        preprocess.tpc_images(f, 2, 99)
    with pytest.raises(InvalidArgumentError, match="a TpcFile has its own readout"):
        preprocess.tpc_images(f, readout=f.readout())
    with pytest.raises(InvalidArgumentError, match="readout: no \"axis\""):
        preprocess.tpc_images(ev, readout={"strip_id": [1], "position_mm": [0.0]})
    with pytest.raises(InvalidArgumentError, match="expected a TtFile or a list of event dicts"):
        preprocess.tt_hit_maps(42)
    with pytest.raises(InvalidArgumentError, match="pixel_cm"):
        preprocess.tt_hit_maps(g, config={"pixel_cm": -1.0})


def test_barycenter_shift_equals_numpy():
    rng = np.random.default_rng(1)
    img = np.maximum(rng.normal(size=(5, 9, 12, 12)), 0).astype(np.float32)
    img[:, 8] = img[:, 0]
    out = baselines.barycenter_shift(img, pixel_nm=27.47)
    ys, xs = np.mgrid[:12, :12]
    for n in range(5):
        w = img[n, :8]
        b = np.stack([(w * xs).sum((1, 2)) / w.sum((1, 2)), (w * ys).sum((1, 2)) / w.sum((1, 2))], 1)
        # Pixels are float32; sums in float64 either way.
        np.testing.assert_allclose(out["barycentres_px"][n], b, rtol=1e-6)
        d = np.linalg.norm(b[:, None] - b[None], axis=2)
        assert out["shift_nm"][n] == pytest.approx(d.max() * 27.47)
        i, j = out["pair"][n]
        assert d[i, j] == pytest.approx(d.max())
    with pytest.raises(InvalidArgumentError, match="cluster 2: .*polarisation image 0 has no pixel"):
        z = img.copy()
        z[2, 0] = 0
        baselines.barycenter_shift(z)
    t = baselines.reference_threshold(out["shift_nm"], 0.5, n_bootstrap=50)
    assert t["value_nm"] == pytest.approx(np.median(out["shift_nm"]))


def test_tt_baselines():
    ev = sim.tt(300, seed=5)
    f = baselines.gaussian_features(ev[:3], stations=[0, 1])
    e = ev[0]
    for k, st in enumerate([0, 1]):
        m = e["station"] == st
        w, x, y = e["hit_energy_gev"][m].astype(float), e["x_cm"][m].astype(float), e["y_cm"][m].astype(float)
        if m.sum() == 0:
            continue
        cov = np.cov(np.stack([x, y]), aweights=w, bias=True)
        np.testing.assert_allclose(f[0, 4 * k:4 * k + 4], [cov[0, 0], cov[0, 1], cov[1, 1], m.sum()], rtol=1e-6)
    reg = baselines.MomentRegression.fit(ev[:200])
    p = reg.predict(ev[200:])
    truth = np.array([e["energy_gev"] for e in ev[200:]])
    assert p.shape == (100, 2) and np.corrcoef(p[:, 0], truth)[0, 1] > 0.3
    v = baselines.dbscan_vertex(ev[:50])
    truth_xy = np.array([e["vertex_cm"][:2] for e in ev[:50]])
    found = ~np.isnan(v["x_cm"])
    assert found.sum() > 15
    assert np.median(np.abs(v["x_cm"][found] - truth_xy[found, 0])) < 0.5
    assert np.all(v["n_stations"][~found] < 2)
    wm = baselines.weighted_mean_xy(ev[:50])
    assert wm.shape == (50, 2)
    fit = baselines.nhits_energy_fit([10, 20, 30], [1.0, 2.0, 3.0])
    assert fit["a_gev_per_hit"] == pytest.approx(0.1) and fit["b_gev"] == pytest.approx(0, abs=1e-12)
    with pytest.raises(InvalidArgumentError, match="eps_cm"):
        baselines.dbscan_vertex(ev[:2], params={"eps_cm": 0.0})


def test_find_blobs_on_a_line():
    pts = np.stack([np.arange(0, 60, 3.0), np.zeros(20)], 1)
    e = np.ones(20)
    e[-3:] = 10
    b = baselines.find_blobs(pts, e, {"voxel_mm": 3.0, "radius_mm": 7.0})
    assert b["path_length_mm"] == pytest.approx(57, abs=3)
    assert max(b["energies"]) > 25 and b["score"] == pytest.approx(min(b["energies"]))
    with pytest.raises(InvalidArgumentError, match=r"expected \(N, 2\) or \(N, 3\)"):
        baselines.find_blobs(np.zeros((3, 4)), np.ones(3))
