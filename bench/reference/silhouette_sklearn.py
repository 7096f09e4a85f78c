#!/usr/bin/python3
"""scikit-learn peer for the silhouette benchmark (bench/silhouette-scale.ts).

Loads a float32 .npy of points and a .npy of integer labels (any dtype), takes the first --rows rows,
and times sklearn.metrics.silhouette_score (exact: no sample_size) once. Prints ONE
JSON line: seconds, the silhouette, and the BLAS threads in use. Loading is not timed.
Thread counts come from the environment (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS), which
the benchmark sets per run.

Example:
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/reference/silhouette_sklearn.py \
    --data x.npy --labels y.npy --rows 30000
"""
import argparse
import json
import os
import time

import numpy as np
import sklearn
from sklearn.metrics import silhouette_score


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return {i.get("internal_api"): i.get("num_threads") for i in threadpool_info()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--rows", type=int, required=True)
    a = p.parse_args()
    X = np.ascontiguousarray(np.load(a.data)[: a.rows], dtype=np.float32)
    y = np.load(a.labels).ravel()[: a.rows].astype(np.int64)
    t = time.perf_counter()
    s = silhouette_score(X, y)
    seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "seconds": seconds,
                "silhouette": float(s),
                "rows": int(X.shape[0]),
                "sklearn": sklearn.__version__,
                "threads": blas_threads(),
                "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
            }
        )
    )


if __name__ == "__main__":
    main()
