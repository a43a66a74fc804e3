"""rareml.sim: seeded, continuable, equal to what it writes; writers round-trip; DECAY0 reads."""

import _thread
import threading
import time

import h5py
import numpy as np
import pytest

import rareml
from rareml import sim
from rareml.errors import InvalidArgumentError, MissingFileError, FileFormatError
from rareml.io import EmulsionFile, TpcFile, TtFile


def _same_events(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], np.ndarray):
                np.testing.assert_array_equal(x[k], y[k], err_msg=k)
            else:
                assert x[k] == y[k], k


def test_emulsion_is_seeded_and_continues():
    a = sim.emulsion("C30keV", 6, seed=5)
    b = sim.emulsion("Carbon/30keV", 6, seed=5)
    np.testing.assert_array_equal(a["images"], b["images"])
    tail = sim.emulsion("c30kev", 3, seed=5, first=3)
    np.testing.assert_array_equal(a["images"][3:], tail["images"])
    np.testing.assert_array_equal(a["pol_ids"][3:], tail["pol_ids"])
    other = sim.emulsion("C30keV", 6, seed=6)
    assert not np.array_equal(a["images"], other["images"])
    assert a["images"].shape == (6, 9, 80, 80) and a["images"].dtype == np.uint8
    # The periodic copy: the 9th image is the 1st.
    np.testing.assert_array_equal(a["images"][:, 8], a["images"][:, 0])
    assert sim.emulsion("fog", 2)["labels"].tolist() == [3, 3]
    assert sim.emulsion("C100keV", 2)["labels"].tolist() == [2, 2]


@pytest.mark.parametrize("gen", [lambda **k: sim.tpc(5, **k), lambda **k: sim.tt(5, **k)])
def test_events_are_seeded_and_continue(gen):
    _same_events(gen(seed=3), gen(seed=3))
    _same_events(gen(seed=3)[2:], gen(seed=3, first=2)[:3])


def test_write_equals_generate(tmp_path):
    sim.write("tt", tmp_path / "tt.h5", 30, seed=2)
    f = TtFile(tmp_path / "tt.h5")
    _same_events([f.event(i) for i in range(len(f))], sim.tt(30, seed=2))
    sim.write("tpc", tmp_path / "tpc.h5", 12, seed=2, deflate=0)
    f = TpcFile(tmp_path / "tpc.h5")
    _same_events([f.event(i) for i in range(len(f))], sim.tpc(12, seed=2))
    np.testing.assert_array_equal(f.readout()["strip_id"], sim.tpc_readout()["strip_id"])
    sim.write("emulsion", tmp_path / "em.h5", 20, seed=2, samples=["C60keV", "gamma"])
    f = EmulsionFile(tmp_path / "em.h5")
    # A carbon sample is one group per scan: cluster i in scan i mod 4 of 0degr, 45degr, 90degr,
    # 0degr_repeat (the groups listed in alphabetical order).
    assert f.groups() == [
        "Carbon/60keV/0degr",
        "Carbon/60keV/0degr_repeat",
        "Carbon/60keV/45degr",
        "Carbon/60keV/90degr",
        "gamma",
    ]
    c60 = sim.emulsion("C60keV", 20, seed=2)
    np.testing.assert_array_equal(
        f.set("Carbon/60keV/45degr").read(), c60["images"][1::4].astype(np.float32)
    )
    assert sim.emulsion("nanoparticles", 2)["labels"].tolist() == [3, 3]
    c = sim.emulsion("gamma", 20, seed=2)
    np.testing.assert_array_equal(f.set("gamma").read(), c["images"].astype(np.float32))
    np.testing.assert_array_equal(f.set("gamma").pol_ids(), c["pol_ids"])


def test_config_overlays_defaults_and_unknown_fields_are_errors():
    d = sim.default_config("tpc")
    assert d["signal_fraction"] == 0.5
    ev = sim.tpc(40, seed=1, config={"signal_fraction": 1.0})
    assert {e["label"] for e in ev} == {1}
    with pytest.raises(InvalidArgumentError, match="signal_fractio.*signal_fraction"):
        sim.tpc(2, config={"signal_fractio": 1.0})
    with pytest.raises(InvalidArgumentError, match="signal_fraction"):
        sim.tpc(2, config={"signal_fraction": 2.0})
    with pytest.raises(InvalidArgumentError, match='sample "neutron": expected one of Carbon/30keV'):
        sim.emulsion("neutron", 2)
    with pytest.raises(InvalidArgumentError, match='detector "pmt"'):
        sim.write("pmt", "/tmp/never.h5", 1)
    with pytest.raises(InvalidArgumentError, match="deflate 12"):
        sim.write("tt", "/tmp/never.h5", 1, deflate=12)
    with pytest.raises(InvalidArgumentError, match="samples"):
        sim.write("tt", "/tmp/never.h5", 1, samples=["fog"])


def test_tpc_with_decay0(fixtures):
    ev = sim.tpc(6, seed=1, config={"signal_fraction": 1.0}, decay0=fixtures / "decay0" / "Xe136bb0n.dat")
    assert len(ev) == 6 and all(e["label"] == 1 for e in ev)
    with pytest.raises(MissingFileError):
        sim.tpc(2, decay0=fixtures / "decay0" / "absent.dat")


def test_write_answers_ctrl_c(tmp_path):
    # Long enough to run for many seconds; Ctrl-C arrives after 0.3 s.
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sim.write("emulsion", tmp_path / "big.h5", 200_000, samples=["fog"])
    elapsed = time.perf_counter() - start
    timer.join()
    assert elapsed < 0.3 + 1.0, elapsed


def test_writers_round_trip(tmp_path):
    tt = sim.tt(20, seed=4)
    rareml.io.write_tt(tmp_path / "tt.h5", tt)
    f = TtFile(tmp_path / "tt.h5")
    _same_events([f.event(i) for i in range(len(f))], tt)

    tpc = sim.tpc(8, seed=4)
    rareml.io.write_tpc(tmp_path / "tpc.h5", tpc, readout=sim.tpc_readout())
    f = TpcFile(tmp_path / "tpc.h5")
    _same_events([f.event(i) for i in range(len(f))], tpc)

    c = sim.emulsion("C30keV", 10, seed=4)
    mixed = {"images": c["images"][:, :8].astype(np.float32) / 7, "labels": np.array([0, 3] * 5)}
    rareml.io.write_emulsion(tmp_path / "em.h5", {"C30keV": c, "train": mixed})
    f = EmulsionFile(tmp_path / "em.h5")
    np.testing.assert_array_equal(f.set("C30keV").read(), c["images"].astype(np.float32))
    np.testing.assert_array_equal(f.set("C30keV").pol_ids(), c["pol_ids"])
    np.testing.assert_array_equal(f.set("train").read(), mixed["images"])
    np.testing.assert_array_equal(f.set("train").labels(), mixed["labels"])
    with h5py.File(tmp_path / "em.h5", "r") as h:
        # The file layout: (N, H, W, P) on disk, as the NEWSdm files.
        np.testing.assert_array_equal(h["train/images"][()], np.transpose(mixed["images"], (0, 2, 3, 1)))
        assert h["C30keV"].attrs["class"] in ("C30keV", b"C30keV")
        assert "class" not in h["train"].attrs


def test_writer_errors(tmp_path):
    e = sim.tpc(1, seed=1)[0]
    with rareml.io.TpcWriter(tmp_path / "a.h5", readout=sim.tpc_readout()) as w:
        with pytest.raises(InvalidArgumentError, match="strip_id: expected an int32 array.*int64"):
            w.append({**e, "strip_id": e["strip_id"].astype(np.int64)})
        with pytest.raises(InvalidArgumentError, match="no \"samples\""):
            w.append({"strip_id": e["strip_id"]})
        with pytest.raises(InvalidArgumentError, match="not in the readout"):
            w.append({**e, "strip_id": e["strip_id"] + 10_000_000})
        with pytest.raises(InvalidArgumentError, match=r"samples \(.*expected"):
            w.append({**e, "samples": e["samples"][:, :10].copy()})
        with pytest.raises(InvalidArgumentError, match="label 7"):
            w.append({**e, "label": 7})
        w.append(e)
        assert len(w) == 1
    with pytest.raises(InvalidArgumentError, match="closed"):
        w.append(e)
    assert len(TpcFile(tmp_path / "a.h5")) == 1

    t = sim.tt(1)[0]
    with rareml.io.TtWriter(tmp_path / "b.h5") as w:
        with pytest.raises(InvalidArgumentError, match="unequal length"):
            w.append({**t, "y_cm": t["y_cm"][:-1].copy()})
        with pytest.raises(InvalidArgumentError, match="station 9"):
            w.append({**t, "station": np.full_like(t["station"], 9)})
        with pytest.raises(InvalidArgumentError, match="expected a dict"):
            w.append([1, 2])
    c = sim.emulsion("fog", 2)
    with rareml.io.EmulsionWriter(tmp_path / "c.h5") as w:
        w.append("fog", c["images"], c["pol_ids"])
        with pytest.raises(InvalidArgumentError, match="float32, the group holds uint8"):
            w.append("fog", c["images"].astype(np.float32), c["pol_ids"])
        with pytest.raises(InvalidArgumentError, match="started with pol_ids true"):
            w.append("fog", c["images"])
        with pytest.raises(InvalidArgumentError, match="labels\\[1\\] = 9"):
            w.append("x", c["images"], labels=np.array([0, 9]))
        with pytest.raises(InvalidArgumentError, match="8 or 9 polarisations"):
            w.append("y", c["images"][:, :5].copy())
        with pytest.raises(InvalidArgumentError, match="pol_ids has shape"):
            w.append("fog", c["images"], c["pol_ids"][:1].copy())
    assert len(EmulsionFile(tmp_path / "c.h5").set("fog")) == 2


def _parse_decay0(path):
    lines = open(path).read().splitlines()
    i = next(k for k, l in enumerate(lines) if "First event and full number of events" in l)
    first, n = map(int, lines[i + 1].split())
    events, k = [], i + 2
    while k < len(lines):
        if not lines[k].strip():
            k += 1
            continue
        num, t, m = lines[k].split()
        parts = [lines[k + 1 + j].replace("D", "E").split() for j in range(int(m))]
        events.append((int(num), float(t), parts))
        k += 1 + int(m)
    return first, n, events


@pytest.mark.parametrize("name", ["Tl208.dat", "Xe136bb0n.dat"])
def test_read_decay0_equals_a_plain_parse(fixtures, name):
    header, events = rareml.io.read_decay0(fixtures / "decay0" / name)
    first, n, ref = _parse_decay0(fixtures / "decay0" / name)
    assert (header["first_event"], header["n_events"]) == (first, n)
    assert len(events) == len(ref)
    for e, (num, t, parts) in zip(events, ref):
        assert e["number"] == num and e["time_s"] == pytest.approx(t)
        np.testing.assert_array_equal(e["geant_id"], [int(p[0]) for p in parts])
        np.testing.assert_allclose(e["momentum_mev"], [[float(v) for v in p[1:4]] for p in parts])
        electrons = e["geant_id"] == 3
        p2 = (e["momentum_mev"][electrons] ** 2).sum(axis=1)
        me = 0.51099895
        np.testing.assert_allclose(e["kinetic_energy_mev"][electrons], np.sqrt(p2 + me**2) - me, rtol=1e-12)


def test_read_decay0_errors(tmp_path, fixtures):
    with pytest.raises(MissingFileError):
        rareml.io.read_decay0(tmp_path / "none.dat")
    text = (fixtures / "decay0" / "Tl208.dat").read_text().splitlines()
    bad = tmp_path / "bad.dat"
    i = next(k for k, l in enumerate(text) if "First event" in l)
    text[i + 4] = "  3 zero 0.1 0.2 0.0"
    bad.write_text("\n".join(text))
    with pytest.raises(FileFormatError, match=f"bad.dat:{i + 5}: .*event 1, particle 1"):
        rareml.io.read_decay0(bad)
