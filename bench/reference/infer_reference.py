#!/usr/bin/python3
"""The reference's inference (spec section 1, stage 5) in PyTorch, on a deepclust model's weights.

Peer of bench/inference-vs-reference.ts. The model is the reference's DEC module (the same
classes as dec_reference.py: `encoder` = Linear layers with ReLU between them, linear last
layer; `assignment.cluster_centers`; q_ij = (1 + |z_i - mu_j|^2 / alpha)^(-(alpha+1)/2)
normalised over j), its state_dict read from a deepclust model directory's model.safetensors
(the reference's tensor names and layouts, so the two engines run the SAME weights). The
safetensors file is parsed here with NumPy (a JSON header and raw little-endian tensors), so the
`safetensors` package is not needed.

Two modes, each run in its own process:

  --mode loop   np.load the whole .npy, then time only the inference loop: the reference's
                infer_embeddings (torch.no_grad, batches of 1024, encoder -> q -> argmax), first
                and best of --passes passes, at every batch size of --batches (1024 is the
                reference's); then the latency of one call of infer_embeddings on 1 vector and
                on 256 vectors (--latency-calls timed calls after --warmup untimed ones, each on
                different rows): median and p99. --save-prefix P writes the batch-1024 pass's
                labels (P.labels.i32) and q (P.q.f32) as raw little-endian arrays, so the caller
                can check that both engines assign the same clusters.
  --mode file   file in -> file out, as a user of the reference would run it on new vectors:
                np.load + infer (batches of 1024, q -> max and argmax) + write a CSV of
                `cluster,confidence` (confidence = max q, 9 significant digits: float32 round
                trip). Timed from before np.load to after the CSV is closed (interpreter start
                and `import torch` are not included; the caller also measures the whole process).

Threads: torch.set_num_threads(--threads) and OpenBLAS's own pool (which ignores torch's
setting) set to --blas-threads (default: the same count; 0 leaves either at its default). The
caller chooses OMP_WAIT_POLICY and OPENBLAS_CORETYPE: bench/inference-vs-reference.ts sweeps them
(bench/torch-sweep.ts), so this script sets neither.

Prints one JSON object on stdout.

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/reference/infer_reference.py \
      --model model-dir --data x.npy --mode loop --threads 2
"""
import argparse
import os
import sys
import time

T_START = time.perf_counter()

import ctypes  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

T_IMPORTED = time.perf_counter()


def log(*a):
    print("infer_reference:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The reference's module (as in dec_reference.py)


def mlp(sizes):
    """Linear layers with ReLU between them; the last layer is linear."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ClusterAssignment(nn.Module):
    """Student-t soft assignment to trainable centres."""

    def __init__(self, k, dim, alpha):
        super().__init__()
        self.alpha = alpha
        self.cluster_centers = nn.Parameter(torch.zeros(k, dim))

    def forward(self, z):
        d2 = torch.sum((z.unsqueeze(1) - self.cluster_centers) ** 2, dim=2)
        q = (1.0 + d2 / self.alpha) ** (-(self.alpha + 1.0) / 2.0)
        return q / q.sum(dim=1, keepdim=True)


class DEC(nn.Module):
    def __init__(self, dims, k, alpha):
        super().__init__()
        self.encoder = mlp(dims)
        self.assignment = ClusterAssignment(k, dims[-1], alpha)

    def forward(self, x):
        return self.assignment(self.encoder(x))


@torch.no_grad()
def infer_embeddings(model, X, batch_size=1024):
    """The reference's inference: encoder -> q -> argmax, in batches of 1024: int labels (N,)."""
    model.eval()
    out = [model(X[i:i + batch_size]).argmax(dim=1) for i in range(0, X.shape[0], batch_size)]
    return torch.cat(out).numpy()


@torch.no_grad()
def infer_with_confidence(model, X, batch_size=1024):
    """As infer_embeddings, also returning max q (the confidence a predictions file carries)."""
    model.eval()
    conf, labels = [], []
    for i in range(0, X.shape[0], batch_size):
        c, lab = model(X[i:i + batch_size]).max(dim=1)
        conf.append(c)
        labels.append(lab)
    return torch.cat(labels).numpy(), torch.cat(conf).numpy()


@torch.no_grad()
def infer_q(model, X, batch_size=1024):
    model.eval()
    return torch.cat([model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]).numpy()


# ---------------------------------------------------------------------------------------------
# The weights: a deepclust model directory (config.json + model.safetensors)

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        dtype = np.dtype(SAFETENSORS_DTYPES[t["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(raw, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        out[name] = arr.reshape(t["shape"]).astype(np.float32)
    return out


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    tensors = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    model = DEC(config["dims"], config["k"], float(config["alpha"]))
    state = {n: torch.from_numpy(v.copy()) for n, v in tensors.items() if n.startswith(("encoder.", "assignment."))}
    model.load_state_dict(state, strict=True)  # every tensor of the module, nothing else
    model.eval()
    return model, config


# ---------------------------------------------------------------------------------------------


def setup_threads(threads, blas_threads):
    """torch's intra-op threads and OpenBLAS's own pool (0: leave each at its default)."""
    if threads > 0:
        torch.set_num_threads(threads)
    torch.ones(2, 2) @ torch.ones(2, 2)  # make sure the BLAS library is loaded
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if re.search(r"openblas", line.split()[-1], re.I)})
    core = None
    for lib in libs:
        try:
            ob = ctypes.CDLL(lib)
            if blas_threads > 0:
                ob.openblas_set_num_threads(blas_threads)
            ob.openblas_get_corename.restype = ctypes.c_char_p
            core = core or ob.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return {"torch_threads": torch.get_num_threads(), "openblas_threads": blas_threads or "default", "openblas_core": core,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}


def quantile(sorted_values, p):
    """Nearest-rank quantile of an ascending list."""
    i = min(len(sorted_values) - 1, max(0, int(np.ceil(p * len(sorted_values))) - 1))
    return sorted_values[i]


def latency(model, X, n, calls, warmup):
    rows = X.shape[0]
    for c in range(warmup):
        s = (c * n) % max(1, rows - n)
        infer_embeddings(model, X[s:s + n])
    times = []
    for c in range(calls):
        s = ((warmup + c) * n) % max(1, rows - n)
        t = time.perf_counter()
        infer_embeddings(model, X[s:s + n])
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"rows": n, "calls": calls, "warmup": warmup, "median_ms": float(np.median(times)),
            "p99_ms": quantile(times, 0.99), "min_ms": times[0], "max_ms": times[-1]}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a deepclust model directory")
    p.add_argument("--data", required=True, help="2-D float32 .npy")
    p.add_argument("--mode", choices=["loop", "file"], required=True)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OpenBLAS threads (default: --threads; 0: OpenBLAS's own default)")
    p.add_argument("--batches", default="1024", help="loop: batch sizes to time, comma-separated")
    p.add_argument("--passes", type=int, default=3, help="loop: timed passes per batch size")
    p.add_argument("--latency-calls", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--save-prefix", default=None)
    p.add_argument("--out", default=None, help="file: the predictions CSV")
    args = p.parse_args()

    threads = setup_threads(args.threads, args.threads if args.blas_threads is None else args.blas_threads)
    model, config = load_model(args.model)
    base = {"engine": "pytorch-reference", "torch": torch.__version__, "numpy": np.__version__,
            "dims": config["dims"], "k": config["k"], "threads": threads,
            "startup_s": T_IMPORTED - T_START}

    if args.mode == "file":
        if not args.out:
            sys.exit("--mode file needs --out")
        t0 = time.perf_counter()
        X = torch.from_numpy(np.load(args.data))
        t_load = time.perf_counter()
        labels, conf = infer_with_confidence(model, X, 1024)
        t_infer = time.perf_counter()
        with open(args.out, "w") as f:
            f.write("cluster,confidence\n")
            f.write("\n".join(f"{lab},{c:.9g}" for lab, c in zip(labels.tolist(), conf.tolist())))
            f.write("\n")
        t_end = time.perf_counter()
        n = X.shape[0]
        print(json.dumps({**base, "mode": "file", "rows": int(n), "seconds": t_end - t0,
                          "rows_per_s": n / (t_end - t0), "load_s": t_load - t0, "infer_s": t_infer - t_load,
                          "write_s": t_end - t_infer, "peak_rss_mb": peak_rss_mb()}))
        return

    t0 = time.perf_counter()
    X = torch.from_numpy(np.load(args.data))
    load_s = time.perf_counter() - t0
    n = X.shape[0]
    log(f"{n} x {X.shape[1]} loaded in {load_s:.1f} s; {threads}")
    throughput = []
    for b in [int(v) for v in args.batches.split(",")]:
        infer_embeddings(model, X[:min(n, 4 * b)], b)  # warm-up
        secs = []
        for _ in range(args.passes):
            t = time.perf_counter()
            infer_embeddings(model, X, b)
            secs.append(time.perf_counter() - t)
        throughput.append({"batch": b, "seconds": secs, "rows_per_s_first": n / secs[0], "rows_per_s_best": n / min(secs)})
        log(f"batch {b}: best {n / min(secs):,.0f} rows/s")
    if args.save_prefix:
        infer_embeddings(model, X, 1024).astype("<i4").tofile(args.save_prefix + ".labels.i32")
        infer_q(model, X, 1024).astype("<f4").tofile(args.save_prefix + ".q.f32")
    lat = [latency(model, X, m, args.latency_calls, args.warmup) for m in (1, 256)] if args.latency_calls > 0 else []
    print(json.dumps({**base, "mode": "loop", "rows": int(n), "load_s": load_s, "throughput": throughput,
                      "latency": lat, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
