"""Streaming-read throughput of the same NEWSdm files with h5py, for docs/performance.md.

python3 benches/h5py_read.py DIR/processed.h5 DIR/raw.h5 [--batch 256] [--passes 3]

Reads each file's `images` in batches of B clusters (one hyperslab read each) and converts them to
the channels-first (B, P, H, W) order the networks take, like rareml-io's batch reader.
"""
import argparse
import time

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--passes", type=int, default=3)
args = ap.parse_args()

for path in args.files:
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and n.endswith("images") else None)
        for name in names:
            ds = f[name]
            stored = ds.size * ds.dtype.itemsize
            best = float("inf")
            for _ in range(args.passes):
                t = time.perf_counter()
                for a in range(0, ds.shape[0], args.batch):
                    x = ds[a:a + args.batch]
                    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
                best = min(best, time.perf_counter() - t)
            print(f"h5py {path}:{name} {ds.dtype} {ds.shape} chunks {ds.chunks} {ds.compression}: "
                  f"best of {args.passes} {best:.3f} s = {stored / 1e6 / best:.1f} MB/s of stored data, "
                  f"{ds.shape[0] / best:.0f} clusters/s")
