"""rareml.io reads what h5py reads, on every fixture file; damaged input raises typed errors."""

import os
import shutil

import h5py
import numpy as np
import pytest

import rareml
from rareml.io import EmulsionFile, TpcFile, TtFile


@pytest.mark.parametrize("name", ["newsdm_raw.h5", "newsdm_processed.h5", "newsdm_train.h5"])
def test_emulsion_equals_h5py(fixtures, name):
    f = EmulsionFile(fixtures / name)
    groups = f.groups()
    assert groups
    with h5py.File(fixtures / name, "r") as h:
        for g in groups:
            s = f.set(g)
            images = h[g]["images"][()]
            # The Rust layout: polarisations first, (N, P, H, W), float32.
            expected = np.transpose(images, (0, 3, 1, 2)).astype(np.float32)
            got = s.read()
            assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(got, expected)
            assert len(s) == images.shape[0]
            assert (s.polarisations, s.height, s.width) == expected.shape[1:]
            stop = min(5, len(s))
            np.testing.assert_array_equal(s.read(1, stop), expected[1:stop])
            if "pol_ids" in h[g]:
                np.testing.assert_array_equal(s.pol_ids(), h[g]["pol_ids"][()])
            else:
                assert s.pol_ids() is None
            if "labels" in h[g]:
                np.testing.assert_array_equal(s.labels(), h[g]["labels"][()])
            chunks = list(s.batches(4))
            np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks]), expected)
            assert [len(c[0]) for c in chunks][:-1] == [4] * (len(chunks) - 1)


def test_tpc_equals_h5py(fixtures):
    f = TpcFile(fixtures / "tpc_v1.h5")
    with h5py.File(fixtures / "tpc_v1.h5", "r") as h:
        off = h["events/offsets"][()]
        assert len(f) == len(off) - 1
        for i in range(len(f)):
            e = f.event(i)
            np.testing.assert_array_equal(e["strip_id"], h["signals/strip_id"][off[i]:off[i + 1]])
            np.testing.assert_array_equal(e["samples"], h["signals/samples"][off[i]:off[i + 1]])
            assert e["samples"].dtype == np.int16
            assert e["label"] == h["events/label"][i]
            assert e["id"] == h["events/id"][i]
            # NaN on disk means "unknown": None here.
            energy = h["events/energy_kev"][i]
            assert e["energy_kev"] == (None if np.isnan(energy) else energy)
            vertex = h["events/vertex_mm"][i]
            if np.isnan(vertex).any():
                assert e["vertex_mm"] is None
            else:
                np.testing.assert_array_equal(np.float32(e["vertex_mm"]), vertex)
        r = f.readout()
        for k in ("strip_id", "axis", "position_mm"):
            np.testing.assert_array_equal(r[k], h["readout"][k][()])


def test_tt_equals_h5py(fixtures):
    f = TtFile(fixtures / "tt_v1.h5")
    with h5py.File(fixtures / "tt_v1.h5", "r") as h:
        off = h["events/offsets"][()]
        assert len(f) == len(off) - 1
        for i in range(len(f)):
            e = f.event(i)
            sl = slice(off[i], off[i + 1])
            for k in ("x_cm", "y_cm", "station"):
                np.testing.assert_array_equal(e[k], h["hits"][k][sl])
            np.testing.assert_array_equal(e["hit_energy_gev"], h["hits/energy_gev"][sl])
            assert e["energy_gev"] == h["events/energy_gev"][i]
            assert e["distance_cm"] == h["events/distance_cm"][i]
            np.testing.assert_array_equal(np.float32(e["vertex_cm"]), h["events/vertex_cm"][i])


def test_missing_file(tmp_path):
    for cls in (EmulsionFile, TpcFile, TtFile):
        with pytest.raises(FileNotFoundError, match="nothing.h5") as e:
            cls(tmp_path / "nothing.h5")
        assert isinstance(e.value, rareml.errors.MissingFileError)


def test_not_hdf5_and_truncated(tmp_path, fixtures):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file at all" * 100)
    with pytest.raises(ValueError, match="junk.h5.*not an HDF5"):
        EmulsionFile(junk)
    cut = tmp_path / "cut.h5"
    data = (fixtures / "tpc_v1.h5").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(rareml.RaremlError, match="cut.h5"):
        f = TpcFile(cut)
        for i in range(len(f)):
            f.event(i)


def test_directory_is_refused(tmp_path):
    with pytest.raises(OSError, match="not a regular file") as e:
        EmulsionFile(tmp_path)
    assert isinstance(e.value, rareml.errors.RaremlOSError)


def test_missing_dataset_wrong_dtype_and_nan(tmp_path, fixtures):
    src = fixtures / "newsdm_train.h5"
    bad = tmp_path / "bad.h5"
    shutil.copy(src, bad)
    with h5py.File(bad, "r+") as h:
        del h["val/images"]
        h["val/images"] = np.zeros((16, 40, 40, 9), dtype=np.int64)
        x = h["train/images"][()]
        x[3, 1, 2, 0] = np.nan
        del h["train/images"]
        h["train/images"] = x
        h.create_group("empty")
    f = EmulsionFile(bad)
    with pytest.raises(ValueError, match="bad.h5.*val/images.*dtype"):
        f.set("val")
    with pytest.raises(ValueError, match="bad.h5.*train/images.*cluster 3.*NaN"):
        f.set("train").read()
    with pytest.raises(ValueError, match="bad.h5.*nowhere"):
        f.set("nowhere")


def test_out_of_range(fixtures):
    s = EmulsionFile(fixtures / "newsdm_train.h5").set("train")
    with pytest.raises(IndexError, match="out of range"):
        s.read(0, len(s) + 1)
    with pytest.raises(IndexError):
        s.read(5, 2)
    with pytest.raises(IndexError):
        TpcFile(fixtures / "tpc_v1.h5").event(10**6)
    with pytest.raises(ValueError):
        s.batches(0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused(tmp_path):
    p = tmp_path / "pipe.h5"
    os.mkfifo(p)
    with pytest.raises(OSError, match="not a regular file"):
        TtFile(p)
