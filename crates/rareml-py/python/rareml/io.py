"""Readers of the NEWSdm emulsion, ``rareml.tpc.v1`` and ``rareml.tt.v1`` HDF5 files.

Arrays come back as numpy arrays in the Rust layout, handed over without a copy: emulsion images
float32 ``(N, P, H, W)`` (polarisations first), labels int64, ``pol_ids`` int32 ``(N, 13)``, TPC
waveforms int16 ``(S, T)``. Reads release the GIL.

Examples
--------
>>> f = rareml.io.EmulsionFile("clusters.h5")          # doctest: +SKIP
>>> s = f.set(f.groups()[0])                            # doctest: +SKIP
>>> x = s.read(0, 100)                                  # (100, 8, H, W) float32  # doctest: +SKIP
>>> for images, labels in s.batches(256): ...           # doctest: +SKIP
"""

from ._rareml import ClusterSet, EmulsionFile, TpcFile, TtFile

__all__ = ["EmulsionFile", "ClusterSet", "TpcFile", "TtFile"]
