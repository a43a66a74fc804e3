"""PyTorch's speed on the conv3d benchmark of `cargo bench -p rareml-kernels --bench kernels`, side by side.

OMP_NUM_THREADS=2 python3 benches/conv3d_torch.py [--iters 10]

The same layer as the criterion group "conv3d 3x3x3 32->64 (32,32,9,32,32)": input (32, 32, 9, 32, 32),
weight (64, 32, 3, 3, 3), zero padding 1, stride 1, f32, 2 threads; forward, and forward + backward
(input and weight gradients of `y.sum()`, counted as 3x the forward's FLOPs, as the criterion bench
does). Prints GFLOP/s from the median of the timed calls and the instruction set PyTorch used.

To time what PyTorch runs on an AVX2-only CPU on an AVX-512 machine, cap its three back ends:
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 (docs/performance.md).
"""
import argparse
import statistics
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--iters", type=int, default=10)
ap.add_argument("--warmup", type=int, default=3)
args = ap.parse_args()

torch.set_num_threads(2)
torch.manual_seed(0)
n, cin, cout, d, h, w = 32, 32, 64, 9, 32, 32
x = torch.randn(n, cin, d, h, w, requires_grad=True)
wt = (0.1 * torch.randn(cout, cin, 3, 3, 3)).requires_grad_()
flop = 2 * n * cout * cin * 27 * d * h * w


def forward():
    with torch.no_grad():
        torch.nn.functional.conv3d(x, wt, padding=1)


def forward_backward():
    y = torch.nn.functional.conv3d(x, wt, padding=1)
    y.sum().backward()
    x.grad = None
    wt.grad = None


def median_s(fn):
    for _ in range(args.warmup):
        fn()
    ts = []
    for _ in range(args.iters):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


print(f"torch {torch.__version__}, ATen capability {torch.backends.cpu.get_cpu_capability()}, threads {torch.get_num_threads()}")
for name, fn, f in [("forward", forward, flop), ("forward+backward", forward_backward, 3 * flop)]:
    s = median_s(fn)
    print(f"conv3d 3x3x3 32->64 (32,32,9,32,32) {name}: {s * 1e3:.1f} ms, {f / s / 1e9:.1f} GFLOP/s")
