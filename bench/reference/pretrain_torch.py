#!/usr/bin/python3
"""PyTorch peer for the autoencoder pretraining throughput benchmark.

Trains a denoising autoencoder (encoder Linear layers with ReLU between them and
a linear last layer, decoder mirrored) with Adam and an MSE loss against the
clean input, then prints ONE JSON line with the measured throughput to stdout.

Example:
  /usr/bin/python3 bench/reference/pretrain_torch.py --data x.npy \
      --dims 256,32 --threads 1 --seconds 10
"""
import argparse
import ctypes
import json
import os
import re
import resource
import sys
import time

# libgomp (torch's OpenMP) spin-waits unless OMP_WAIT_POLICY=PASSIVE, which can
# starve OpenBLAS's own pthreads once torch uses more than one thread. It reads
# the variable when it loads, so the caller sets it (bench/pretrain-throughput.ts
# sweeps it); this script no longer chooses it.

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="2-D float32 .npy file (N x d)")
    p.add_argument("--dims", default="256,32",
                   help="comma-separated layer sizes after the input (default 256,32)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (set_num_threads); 0 leaves torch's default")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OpenBLAS threads (openblas_set_num_threads); default: the same as --threads; "
                        "0 leaves OpenBLAS's own (OPENBLAS_NUM_THREADS, else one per core)")
    p.add_argument("--epochs", type=int, default=None,
                   help="whole shuffled epochs to train (default 1 when --seconds is not given)")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this many seconds of training (checked after each step)")
    p.add_argument("--noise", choices=["mask", "gaussian", "none"], default="mask")
    p.add_argument("--noise-factor", type=float, default=0.3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup-steps", type=int, default=5, help="untimed steps before timing")
    args = p.parse_args()
    args.dims = [int(v) for v in args.dims.split(",") if v.strip()]
    if not args.dims or min(args.dims) <= 0:
        p.error("--dims needs at least one positive layer size")
    if args.batch_size <= 0 or args.threads < 0:
        p.error("--batch-size must be positive and --threads at least 0")
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if args.epochs is None and args.seconds is None:
        args.epochs = 1
    return args


def mlp(sizes):
    """Linear layers with ReLU between them; the last layer is linear."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def corrupt(x, kind, factor):
    if kind == "mask":  # keep each value with probability 1 - factor
        return x * (torch.rand_like(x) >= factor)
    if kind == "gaussian":  # noise scaled by the per-feature std of the batch
        if x.shape[0] < 2:  # std of a single row is undefined
            return x
        return x + torch.randn_like(x) * factor * x.std(dim=0, keepdim=True)
    return x


def loaded_blas_libs():
    torch.ones(2, 2) @ torch.ones(2, 2)  # make sure the BLAS library is loaded
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f
                       if re.search(r"blas|mkl", line.split()[-1], re.I)})


def openblas(libs):
    """ctypes handle on the loaded OpenBLAS, or None."""
    for lib in libs:
        if "openblas" in os.path.basename(lib):
            try:
                ob = ctypes.CDLL(lib)
                ob.openblas_get_corename.restype = ctypes.c_char_p
                return ob
            except (OSError, AttributeError):
                return None
    return None


def setup_blas(threads):
    """Set OpenBLAS's thread count (0: leave it) and describe the BLAS in use.

    Debian's torch calls the system BLAS (OpenBLAS-pthread) whose own thread pool
    ignores torch.set_num_threads and defaults to one thread per core.
    """
    parts = re.findall(r"\b(?:BLAS_INFO|LAPACK_INFO)=[^,\s]*", torch.__config__.show())
    parts.append(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    libs = loaded_blas_libs()
    parts.append("loaded: " + (", ".join(os.path.basename(lib) for lib in libs) or "none found"))
    ob = openblas(libs)
    if ob is not None:
        if threads > 0:
            ob.openblas_set_num_threads(threads)
        parts.append(f"openblas core: {ob.openblas_get_corename().decode()}, "
                     f"threads: {ob.openblas_get_num_threads()}")
    return "; ".join(parts)


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"pretrain_torch: torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s): "
          f"{setup_blas(args.blas_threads)}", file=sys.stderr)

    data = np.load(args.data)
    if data.ndim != 2:
        sys.exit(f"--data must be a 2-D array, got shape {data.shape}")
    x_all = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    n, d = x_all.shape
    sizes = [d] + args.dims
    model = nn.Sequential(mlp(sizes), mlp(sizes[::-1]))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()
    gen = torch.Generator().manual_seed(args.seed)

    def step(x):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(corrupt(x, args.noise, args.noise_factor)), x)
        loss.backward()
        opt.step()
        return loss

    # Untimed warmup on random rows.
    for _ in range(args.warmup_steps):
        step(x_all[torch.randint(0, n, (min(args.batch_size, n),), generator=gen)])

    samples, loss, epoch, done = 0, None, 0, False
    start = time.perf_counter()
    while not done and (args.epochs is None or epoch < args.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, args.batch_size):
            x = x_all[perm[i:i + args.batch_size]]
            loss = step(x)
            samples += x.shape[0]
            if args.seconds is not None and time.perf_counter() - start >= args.seconds:
                done = True
                break
        epoch += 1
    seconds = time.perf_counter() - start

    print(json.dumps({
        "engine": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_threads": args.blas_threads,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "dims": sizes,
        "batch_size": args.batch_size,
        "samples": samples,
        "seconds": round(seconds, 4),
        "samples_per_s": round(samples / seconds, 1) if seconds > 0 else None,
        "final_loss": None if loss is None else float(loss.item()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
