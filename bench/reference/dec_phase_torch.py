#!/usr/bin/python3
"""PyTorch peer for the DEC/IDEC clustering-phase benchmark (bench/dec-phase-throughput.ts).

The paper's loop with the target over the full dataset: every --update-interval iterations
(and at the start and the end) the soft assignments q of every row are computed, the target
P = q^2 / f normalised, and the labels' change counted; in between, one SGD step (lr 0.01,
momentum 0.9) per batch of 256 rows of a reshuffled order on KL(P || Q) (IDEC: the decoder's
reconstruction MSE + gamma * KL). A final pass assigns every row. The encoder starts from random weights and the centres from random rows: the timing does
not depend on them. Prints ONE JSON line with iterations/s to stdout.

  /usr/bin/python3 bench/reference/dec_phase_torch.py --data x.npy --dims 500,500,2000,10 \
      --k 10 --iterations 280 --update-interval 140 --threads 1 --blas-threads 2
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pretrain_torch import mlp, setup_blas  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="2-D float32 .npy file (N x d)")
    p.add_argument("--dims", default="500,500,2000,10", help="layer sizes after the input")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--method", choices=["dec", "idec"], default="dec")
    p.add_argument("--gamma", type=float, default=0.1, help="IDEC: weight of the clustering loss")
    p.add_argument("--iterations", type=int, default=280)
    p.add_argument("--update-interval", type=int, default=140)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--predict-batch", type=int, default=4096, help="rows per forward pass when computing q over the data")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads; 0 leaves torch's default")
    p.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads; 0 leaves OpenBLAS's own")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    a.dims = [int(v) for v in a.dims.split(",") if v.strip()]
    if a.blas_threads is None:
        a.blas_threads = a.threads
    return a


def soft_assign(z, mu, alpha=1.0):
    """Student's t kernel between codes and centres, normalised per row (DEC's q)."""
    d2 = torch.cdist(z, mu).pow(2)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target(q):
    w = q.pow(2) / q.sum(dim=0)
    return w / w.sum(dim=1, keepdim=True)


def main():
    a = parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print(f"dec_phase_torch: torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s): {setup_blas(a.blas_threads)}", file=sys.stderr)
    x_all = torch.from_numpy(np.ascontiguousarray(np.load(a.data), dtype=np.float32))
    n, d = x_all.shape
    sizes = [d] + a.dims
    encoder = mlp(sizes)
    decoder = mlp(sizes[::-1]) if a.method == "idec" else None
    gen = torch.Generator().manual_seed(a.seed)
    centres = nn.Parameter(encoder(x_all[torch.randint(0, n, (a.k,), generator=gen)]).detach().clone())
    params = list(encoder.parameters()) + [centres] + (list(decoder.parameters()) if decoder else [])
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    kl = nn.KLDivLoss(reduction="batchmean")

    def assign_all():
        with torch.no_grad():
            return torch.cat([soft_assign(encoder(x_all[i:i + a.predict_batch]), centres) for i in range(0, n, a.predict_batch)])

    start = time.perf_counter()
    perm, pos, previous, p_all, changed = torch.randperm(n, generator=gen), 0, None, None, None
    it = 0
    current = None  # q of the latest update while no step has run since (as deepclust, the final pass reuses it)
    while True:
        if it % a.update_interval == 0:
            q = current = assign_all()
            p_all = target(q)
            labels = q.argmax(dim=1)
            if previous is not None:
                changed = float((labels != previous).float().mean())
            previous = labels
        if it >= a.iterations:
            break
        if pos + a.batch_size > n:  # the next batch starts a new pass
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos:pos + a.batch_size]
        pos += a.batch_size
        x = x_all[idx]
        current = None
        opt.zero_grad(set_to_none=True)
        z = encoder(x)
        loss = kl(soft_assign(z, centres).log(), p_all[idx])
        if decoder is not None:
            loss = nn.functional.mse_loss(decoder(z), x) + a.gamma * loss
        loss.backward()
        opt.step()
        it += 1
    final_labels = (current if current is not None else assign_all()).argmax(dim=1)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "engine": "pytorch", "method": a.method, "dims": sizes, "k": a.k, "rows": n,
        "iterations": a.iterations, "update_interval": a.update_interval, "batch_size": a.batch_size,
        "threads": torch.get_num_threads(), "blas_threads": a.blas_threads,
        "seconds": round(seconds, 4), "iterations_per_s": round(a.iterations / seconds, 2),
        "last_changed": changed, "clusters_found": int(final_labels.unique().numel()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
