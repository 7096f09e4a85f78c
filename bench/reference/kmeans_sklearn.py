#!/usr/bin/python3
"""scikit-learn peer for the k-means benchmark (bench/kmeans-vs-sklearn.ts).

Fits KMeans(n_clusters=k, n_init, algorithm="lloyd", init="k-means++") on a
float32 .npy file `--repeats` times (same seed, so the same work each time) and
prints ONE JSON line with the fit time of each repeat, the best time, and the
inertia (as sklearn reports it, and recomputed in float64) and iterations.
Loading the data is not timed. Describes the BLAS in use (OpenBLAS core) so the
numbers can be read correctly; see bench/reference/README.md.

Example:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    /usr/bin/python3 bench/reference/kmeans_sklearn.py --data x.npy --k 10
"""
import argparse
import json
import os
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="2-D float32 .npy file (N x d)")
    p.add_argument("--k", type=int, required=True, help="number of clusters")
    p.add_argument("--n-init", type=int, default=20)
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="timed fits, all with the same seed")
    return p.parse_args()


def blas_description():
    """OpenBLAS core and thread count as threadpoolctl reports them, if it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"blas": "threadpoolctl not installed"}
    out = {}
    for info in threadpool_info():
        if info.get("internal_api") == "openblas":
            out["openblas_core"] = info.get("architecture")
            out["openblas_version"] = info.get("version")
        elif info.get("user_api") == "openmp":
            out["openmp_threads"] = info.get("num_threads")
    return out


def main():
    args = parse_args()
    X = np.ascontiguousarray(np.load(args.data), dtype=np.float32)
    if X.ndim != 2:
        raise SystemExit(f"--data must be a 2-D array, got shape {X.shape}")
    times, km = [], None
    for _ in range(args.repeats):
        km = KMeans(n_clusters=args.k, n_init=args.n_init, max_iter=args.max_iter, tol=args.tol,
                    algorithm="lloyd", init="k-means++", random_state=args.seed)
        start = time.perf_counter()
        km.fit(X)
        times.append(time.perf_counter() - start)
    print(json.dumps({
        "engine": "scikit-learn",
        "sklearn": sklearn.__version__,
        "rows": int(X.shape[0]),
        "cols": int(X.shape[1]),
        "k": args.k,
        "n_init": args.n_init,
        "seconds": [round(t, 4) for t in times],
        "best_seconds": round(min(times), 4),
        "inertia": float(km.inertia_),
        # sklearn sums float32 data's inertia in float32; recomputed in float64 it compares
        # exactly with deepclust's (float64) inertia.
        "inertia_f64": float(((X.astype(np.float64) - km.cluster_centers_.astype(np.float64)[km.labels_]) ** 2).sum()),
        "n_iter": int(km.n_iter_),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        **blas_description(),
    }))


if __name__ == "__main__":
    main()
