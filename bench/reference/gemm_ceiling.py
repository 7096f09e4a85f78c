#!/usr/bin/python3
"""PyTorch's float32 GEMM rate on this machine: the peer of bench/gemm-ceiling.ts.

Times (1) the encoder's two matrix products alone, x[batch, d] @ W1[d, h1] @ W2[h1, h2] (no bias,
ReLU or assignment: the floor of the reference's inference work), over --rows rows in batches of
--batch, and (2) one square --square^3 product (the BLAS's best case). Same threads as the
reference (torch and OpenBLAS's own pool). Prints one JSON object: the best of --rounds.

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/reference/gemm_ceiling.py --threads 2
"""
import argparse
import ctypes
import json
import os
import re
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--dims", default="768,256,32")
p.add_argument("--rows", type=int, default=262144)
p.add_argument("--batch", type=int, default=1024)
p.add_argument("--square", type=int, default=2048)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.ones(2, 2) @ torch.ones(2, 2)
with open("/proc/self/maps") as f:
    for lib in sorted({line.split()[-1] for line in f if re.search(r"openblas", line.split()[-1], re.I)}):
        try:
            ctypes.CDLL(lib).openblas_set_num_threads(a.threads)
            break
        except (OSError, AttributeError):
            continue

dims = [int(v) for v in a.dims.split(",")]
g = torch.Generator().manual_seed(0)
Ws = [torch.randn(dims[i], dims[i + 1], generator=g) / dims[i] ** 0.5 for i in range(len(dims) - 1)]
X = torch.randn(4096, dims[0], generator=g)
flops_per_row = sum(2 * dims[i] * dims[i + 1] for i in range(len(dims) - 1))


@torch.no_grad()
def encoder_pass(rows):
    for s in range(0, rows, a.batch):
        z = X[s % 4096:s % 4096 + a.batch] if (s % 4096) + a.batch <= 4096 else X[:a.batch]
        for W in Ws:
            z = z @ W


encoder_pass(4 * a.batch)
enc = []
for _ in range(a.rounds):
    t = time.perf_counter()
    encoder_pass(a.rows)
    enc.append(time.perf_counter() - t)

A = torch.randn(a.square, a.square, generator=g)
B = torch.randn(a.square, a.square, generator=g)
A @ B
sq = []
for _ in range(a.rounds):
    t = time.perf_counter()
    A @ B
    sq.append(time.perf_counter() - t)

best = min(enc)
print(json.dumps({
    "engine": "pytorch", "torch": torch.__version__, "threads": a.threads, "dims": dims, "batch": a.batch,
    "encoder_rows_per_s": a.rows / best, "encoder_gflops": a.rows * flops_per_row / best / 1e9,
    "square": a.square, "square_gflops": 2 * a.square ** 3 / min(sq) / 1e9,
}))
