"""Speed of the Python package against the Python tools it replaces (prints figures; not a test).

    python crates/rareml-py/benches/bench.py [--n-scores 10000000] [--clusters 20000]

1. roc_auc_score on n random scores (with ties) against scikit-learn's;
2. reading a NEWSdm file (float32, written here with h5py, 40x40x9, uncompressed) to numpy
   against h5py (+ the transpose to the (N, P, H, W) layout rareml returns);
3. Model.predict events/s of NEWSnet (9x40x40, batch 32) — compare with the Rust `throughput`
   example's inference figure.
"""

import argparse
import pathlib
import subprocess
import tempfile
import time

import h5py
import numpy as np
from sklearn import metrics as skm

import rareml


def best(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-scores", type=int, default=10_000_000)
    ap.add_argument("--clusters", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, a.n_scores)
    s = np.round(rng.normal(y * 0.5, 1.0), 4)
    assert rareml.metrics.roc_auc_score(y, s) == skm.roc_auc_score(y, s) or abs(
        rareml.metrics.roc_auc_score(y, s) - skm.roc_auc_score(y, s)) < 1e-12
    t_r = best(lambda: rareml.metrics.roc_auc_score(y, s))
    t_s = best(lambda: skm.roc_auc_score(y, s))
    print(f"roc_auc_score, {a.n_scores:.0e} scores: rareml {t_r:.3f} s, scikit-learn {t_s:.3f} s "
          f"({t_s / t_r:.1f}x)")

    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "clusters.h5"
        with h5py.File(path, "w") as h:
            h["C30keV/images"] = rng.random((a.clusters, 40, 40, 9), dtype=np.float32)
        mb = a.clusters * 40 * 40 * 9 * 4 / 1e6

        def with_rareml():
            return rareml.io.EmulsionFile(path).set("C30keV").read()

        def with_h5py():
            with h5py.File(path, "r") as h:
                return np.ascontiguousarray(np.transpose(h["C30keV/images"][()], (0, 3, 1, 2)))

        np.testing.assert_array_equal(with_rareml(), with_h5py())
        t_r, t_h = best(with_rareml), best(with_h5py)
        with h5py.File(path, "r") as h:
            t_raw = best(lambda: h["C30keV/images"][()])
        print(f"read {a.clusters} clusters ({mb:.0f} MB) to (N, P, H, W): rareml {t_r:.3f} s "
              f"({a.clusters / t_r:,.0f} clusters/s), h5py + transpose {t_h:.3f} s "
              f"({a.clusters / t_h:,.0f}/s), h5py alone (N, H, W, P) {t_raw:.3f} s")

    fixtures = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures"
    m = rareml.models.load("newsnet", fixtures / "newsnet.safetensors")
    x = rng.standard_normal((a.events, 1, 9, 40, 40), dtype=np.float32)
    m.predict(x[:32], batch_size=32)
    throughput = pathlib.Path(__file__).resolve().parents[3] / "target" / "release" / "examples" / "throughput"

    def predict_rate():
        ts = []
        for _ in range(3):
            start = time.perf_counter()
            m.predict(x, batch_size=32)
            ts.append(time.perf_counter() - start)
        return a.events / (sum(ts) / len(ts))

    # Alternately with the Rust `throughput` example (the same network, batch 32, mean of 3
    # batches), when it is built: the machine's speed drifts by tens of per cent over minutes.
    for _ in range(a.rounds):
        line = f"NEWSnet predict 9x40x40 batch 32: {predict_rate():.1f} events/s (mean of 3 x {a.events})"
        if throughput.exists():
            out = subprocess.run([str(throughput), "--model", "newsnet", "--batch", "32"],
                                 capture_output=True, text=True, check=True).stdout
            line += "; throughput example: " + out.split("inference ")[1].split(" (")[0]
        print(line)


if __name__ == "__main__":
    main()
