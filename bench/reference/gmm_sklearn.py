#!/usr/bin/python3
"""scikit-learn peer for the Gaussian-mixture benchmark (bench/gmm-vs-sklearn.ts).

Fits GaussianMixture(n_components=k, covariance_type="full", n_init, reg_covar,
tol, max_iter, init_params="kmeans") on a float64 .npy file and prints ONE JSON
line with the fit time, the lower bound (mean log-likelihood per row), the EM
iterations of the winning restart, the labels' agreement with --labels (ARI,
when given) and the BLAS in use. Loading the data is not timed.

Example:
  /usr/bin/python3 bench/reference/gmm_sklearn.py --data layout.npy --k 40 --n-init 4
"""
import argparse
import json
import time

import numpy as np
import sklearn
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from kmeans_sklearn import blas_description  # the same BLAS description as the k-means peer


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="2-D float64 .npy file (N x d)")
    p.add_argument("--labels", help="int32 .npy file of N true labels, for the ARI")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--n-init", type=int, default=4)
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--reg-covar", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    X = np.ascontiguousarray(np.load(args.data), dtype=np.float64)
    t0 = time.perf_counter()
    gm = GaussianMixture(n_components=args.k, covariance_type="full", n_init=args.n_init,
                         max_iter=args.max_iter, tol=args.tol, reg_covar=args.reg_covar,
                         init_params="kmeans", random_state=args.seed).fit(X)
    seconds = time.perf_counter() - t0
    labels = gm.predict(X)
    out = {"seconds": seconds, "lower_bound": float(gm.lower_bound_), "n_iter": int(gm.n_iter_),
           "converged": bool(gm.converged_), "sklearn": sklearn.__version__, **blas_description()}
    if args.labels:
        out["ari"] = float(adjusted_rand_score(np.load(args.labels), labels))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
